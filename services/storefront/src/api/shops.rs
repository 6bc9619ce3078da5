//! Promoters' shops: opening (gated by eligibility), details, and the public page.
use std::sync::Arc;

use tonic::{Code, Request, Response};
use uuid::Uuid;
use xiaopu_api::{eligibility::CheckEligibilityRequest, storefront as pb};
use xiaopu_common::{
    auth::{Caller, CallerExt, Role},
    error::{Invalid, Violations},
    feed::publish,
    paging::{Page, next_page},
    validate,
};

use super::{Error, StorefrontApi, convert, events, page_cache::PageKey};
use crate::{
    domain::{ShopStatus, shop_status_for},
    store::{self, shop::ShopRecord},
};

const MAX_SHOP_NAME_CHARS: usize = 60;
const MAX_SHOP_DESCRIPTION_CHARS: usize = 500;
const SHOP_PAGE_DEFAULT: u32 = 50;
const SHOP_PAGE_MAX: u32 = 100;

pub(super) fn shop_id(value: &str) -> Result<Uuid, Error> {
    validate::uuid("shop_id", value).map_err(|v| Error::from(Invalid::from(v)))
}

/// The shop, if the caller is its promoter or has one of `privileged`.
pub(super) async fn shop_of(
    api: &StorefrontApi,
    caller: &Caller,
    shop_id: Uuid,
    privileged: &[Role],
) -> Result<ShopRecord, Error> {
    let shop = store::shop::get(&api.pool, shop_id).await?.ok_or_else(|| Error::not_found("shop", shop_id))?;
    caller.require_owner(Role::Promoter, &shop.promoter_id, privileged)?;
    Ok(shop)
}

/// Asks eligibility whether the promoter may open a shop now. Eligibility being down
/// or slow (the channel's deadline) answers Unavailable, never a hang.
async fn check_eligible(api: &StorefrontApi, promoter_id: &str) -> Result<(), Error> {
    let request = CheckEligibilityRequest { person_id: promoter_id.to_owned() };
    let answer = api.eligibility.clone().check_eligibility(request).await.map_err(|status| match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown | Code::ResourceExhausted => {
            Error::EligibilityUnavailable(status.message().to_owned())
        }
        _ => Error::Upstream(status),
    })?;
    let answer = answer.into_inner();
    if answer.eligible { Ok(()) } else { Err(Error::NotEligible { explanation: answer.explanation }) }
}

#[tracing::instrument(skip_all)]
pub async fn open_shop(
    api: &StorefrontApi,
    request: Request<pb::OpenShopRequest>,
) -> Result<Response<pb::OpenShopResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let name = v.check(validate::text("name", &r.name, MAX_SHOP_NAME_CHARS, false));
    let description = v.check(validate::optional_text("description", &r.description, MAX_SHOP_DESCRIPTION_CHARS, true));
    let (name, description) = v.finish_with(name.zip(description))?;

    // One shop per promoter: opening again returns it, without asking eligibility.
    if let Some(shop) = store::shop::by_promoter(&api.pool, &caller.subject).await? {
        return Ok(Response::new(pb::OpenShopResponse { shop: Some(convert::shop(&shop)), created: false }));
    }
    check_eligible(api, &caller.subject).await?;

    let mut tx = api.pool.begin().await?;
    store::shop::lock_promoter(&mut tx, &caller.subject).await?;
    if let Some(shop) = store::shop::by_promoter(&mut *tx, &caller.subject).await? {
        return Ok(Response::new(pb::OpenShopResponse { shop: Some(convert::shop(&shop)), created: false }));
    }
    // A suspension the feed delivered after eligibility answered still counts.
    let suspended = store::shop::promoter_suspended(&mut *tx, &caller.subject).await?.unwrap_or(false);
    let now = api.clock.now();
    let shop = ShopRecord {
        shop_id: Uuid::now_v7(),
        promoter_id: caller.subject.clone(),
        name: name.to_owned(),
        description: description.to_owned(),
        status: shop_status_for(suspended),
        listing_count: 0,
        opened_at: now,
        status_since: now,
        updated_at: now,
        page_version: 0,
    };
    store::shop::insert(&mut *tx, &shop).await?;
    publish(&mut tx, &events::shop_status_changed(&shop)).await?;
    tx.commit().await?;
    tracing::info!(shop_id = %shop.shop_id, promoter_id = %shop.promoter_id, "shop opened");
    Ok(Response::new(pb::OpenShopResponse { shop: Some(convert::shop(&shop)), created: true }))
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id))]
pub async fn get_shop(
    api: &StorefrontApi,
    request: Request<pb::GetShopRequest>,
) -> Result<Response<pb::GetShopResponse>, Error> {
    request.caller()?.require_role(&[Role::Promoter, Role::Service, Role::Admin])?;
    let shop_id = shop_id(&request.get_ref().shop_id)?;
    let shop = shop_of(api, request.caller()?, shop_id, &[Role::Service, Role::Admin]).await?;
    Ok(Response::new(pb::GetShopResponse { shop: Some(convert::shop(&shop)) }))
}

#[tracing::instrument(skip_all)]
pub async fn get_my_shop(
    api: &StorefrontApi,
    request: Request<pb::GetMyShopRequest>,
) -> Result<Response<pb::GetMyShopResponse>, Error> {
    let caller = request.caller()?;
    caller.require_role(&[Role::Promoter])?;
    let shop = store::shop::by_promoter(&api.pool, &caller.subject)
        .await?
        .ok_or_else(|| Error::not_found("shop of promoter", &caller.subject))?;
    Ok(Response::new(pb::GetMyShopResponse { shop: Some(convert::shop(&shop)) }))
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id))]
pub async fn update_shop(
    api: &StorefrontApi,
    request: Request<pb::UpdateShopRequest>,
) -> Result<Response<pb::UpdateShopResponse>, Error> {
    request.caller()?.require_role(&[Role::Promoter])?;
    let r = request.get_ref();
    let mut v = Violations::new();
    let id = v.check(validate::uuid("shop_id", &r.shop_id));
    let name = v.check(validate::text("name", &r.name, MAX_SHOP_NAME_CHARS, false));
    let description = v.check(validate::optional_text("description", &r.description, MAX_SHOP_DESCRIPTION_CHARS, true));
    let (id, (name, description)) = v.finish_with(id.zip(name.zip(description)))?;
    let mut shop = shop_of(api, request.caller()?, id, &[]).await?;
    let now = api.clock.now();
    store::shop::update_details(&api.pool, id, name, description, now).await?;
    shop.name = name.to_owned();
    shop.description = description.to_owned();
    shop.updated_at = now;
    Ok(Response::new(pb::UpdateShopResponse { shop: Some(convert::shop(&shop)) }))
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id))]
pub async fn get_shop_page(
    api: &StorefrontApi,
    request: Request<pb::GetShopPageRequest>,
) -> Result<Response<pb::GetShopPageResponse>, Error> {
    request.caller()?.require_role(&[Role::Promoter, Role::Service, Role::Admin])?;
    let r = request.get_ref();
    let shop_id = shop_id(&r.shop_id)?;
    let page: Page<(i32, Uuid)> = Page::from_request(r.page_size, &r.page_token, SHOP_PAGE_DEFAULT, SHOP_PAGE_MAX)?;
    let shop = shop_of(api, request.caller()?, shop_id, &[Role::Service, Role::Admin]).await?;
    let mut answer = pb::GetShopPageResponse {
        shop_id: shop.shop_id.to_string(),
        promoter_id: shop.promoter_id.clone(),
        name: shop.name.clone(),
        description: shop.description.clone(),
        status: convert::shop_status(shop.status).into(),
        listing_count: shop.listing_count,
        ..Default::default()
    };
    if shop.status == ShopStatus::Suspended {
        answer.notice = "This shop is temporarily unavailable.".into();
        return Ok(Response::new(answer));
    }
    let key = PageKey { shop_id, page_token: r.page_token.clone(), page_size: page.limit };
    let (listings, next_page_token) = match api.pages.get(&key, shop.page_version) {
        Some(cached) => cached,
        None => {
            let mut rows = store::listing::public_page(&api.pool, shop_id, page.after, page.limit + 1).await?;
            let next = next_page(&mut rows, page.limit, |l| (l.position, l.listing_id));
            let listings: Arc<[pb::PublicListing]> = rows.iter().map(convert::public).collect();
            api.pages.put(key, shop.page_version, listings.clone(), next.clone());
            (listings, next)
        }
    };
    answer.listings = listings.to_vec();
    answer.next_page_token = next_page_token;
    Ok(Response::new(answer))
}
