//! A promoter's listings: add (at most 1000 per shop), edit the reason, reorder,
//! remove, and their history.
use std::collections::HashSet;

use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::storefront as pb;
use xiaopu_common::{
    auth::{Caller, CallerExt, Role},
    error::{Invalid, Violations},
    feed::publish,
    paging::{Page, next_page},
    validate,
};

use super::{
    Error, StorefrontApi, convert, events,
    listing_adds::ListingAdd,
    page,
    shops::{shop_id, shop_of},
};
use crate::{
    domain::{MAX_REASON_CHARS, RemovalReason, reorder},
    store::{self, listing::ListingRecord, shop::ShopRecord},
};

/// Locks the shop (serialising every change to its listings) and checks the caller
/// is its promoter.
async fn lock_own_shop(conn: &mut sqlx::PgConnection, caller: &Caller, shop_id: Uuid) -> Result<ShopRecord, Error> {
    let shop =
        store::shop::get_for_update(&mut *conn, shop_id).await?.ok_or_else(|| Error::not_found("shop", shop_id))?;
    caller.require_owner(Role::Promoter, &shop.promoter_id, &[])?;
    Ok(shop)
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id, product_id = %request.get_ref().product_id))]
pub async fn add_listing(
    api: &StorefrontApi,
    request: Request<pb::AddListingRequest>,
) -> Result<Response<pb::AddListingResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let shop_id = v.check(validate::uuid("shop_id", &r.shop_id));
    let product_id = v.check(validate::uuid("product_id", &r.product_id));
    let reason =
        v.check(validate::optional_text("recommendation_reason", &r.recommendation_reason, MAX_REASON_CHARS, true));
    if r.position < 0 {
        v.add("position", "must not be negative (0 appends at the end)");
    }
    let (shop_id, (product_id, reason)) = v.finish_with(shop_id.zip(product_id.zip(reason)))?;

    // Adds waiting for the same shop are checked and written together, in one
    // transaction under the shop's lock (see `listing_adds`).
    let add = ListingAdd { caller, product_id, recommendation_reason: reason.to_owned(), position: r.position };
    let listing = api.listing_adds.submit(shop_id, add).await??;
    Ok(Response::new(pb::AddListingResponse { listing: Some(convert::listing(&listing)) }))
}

/// The active listing and its shop (locked), if the caller is the shop's promoter.
async fn own_active_listing(
    conn: &mut sqlx::PgConnection,
    caller: &Caller,
    listing_id: Uuid,
) -> Result<(ListingRecord, ShopRecord), Error> {
    let listing =
        store::listing::get(&mut *conn, listing_id).await?.ok_or_else(|| Error::not_found("listing", listing_id))?;
    let shop = lock_own_shop(conn, caller, listing.shop_id).await?;
    Ok((listing, shop))
}

#[tracing::instrument(skip_all, fields(listing_id = %request.get_ref().listing_id))]
pub async fn update_listing(
    api: &StorefrontApi,
    request: Request<pb::UpdateListingRequest>,
) -> Result<Response<pb::UpdateListingResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let listing_id = v.check(validate::uuid("listing_id", &r.listing_id));
    let reason =
        v.check(validate::optional_text("recommendation_reason", &r.recommendation_reason, MAX_REASON_CHARS, true));
    let (listing_id, reason) = v.finish_with(listing_id.zip(reason))?;
    let mut tx = api.pool.begin().await?;
    let (mut listing, _) = own_active_listing(&mut tx, &caller, listing_id).await?;
    if listing.removed_at.is_some() {
        return Err(Error::not_found("active listing", listing_id));
    }
    store::listing::set_reason(&mut *tx, listing_id, reason).await?;
    store::shop::touch_page(&mut *tx, listing.shop_id).await?;
    tx.commit().await?;
    listing.recommendation_reason = reason.to_owned();
    Ok(Response::new(pb::UpdateListingResponse { listing: Some(convert::listing(&listing)) }))
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id))]
pub async fn reorder_listings(
    api: &StorefrontApi,
    request: Request<pb::ReorderListingsRequest>,
) -> Result<Response<pb::ReorderListingsResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let r = request.into_inner();
    let shop_id = shop_id(&r.shop_id)?;
    let mut tx = api.pool.begin().await?;
    lock_own_shop(&mut tx, &caller, shop_id).await?;
    let current = store::listing::active_positions(&mut *tx, shop_id).await?;
    let active: HashSet<Uuid> = current.iter().map(|(id, _)| *id).collect();
    let mut v = Violations::new();
    let mut seen = HashSet::new();
    let mut first = Vec::with_capacity(r.listing_ids.len());
    for (i, raw) in r.listing_ids.iter().enumerate() {
        let field = format!("listing_ids[{i}]");
        match validate::uuid(&field, raw) {
            Ok(id) if !active.contains(&id) => v.add(field, "is not an active listing of this shop"),
            Ok(id) if !seen.insert(id) => v.add(field, "appears more than once"),
            Ok(id) => first.push(id),
            Err(violation) => v.add(violation.field, violation.rule),
        }
    }
    v.finish()?;
    let positions = reorder(&current, &first);
    store::listing::set_positions(&mut *tx, &positions).await?;
    store::shop::touch_page(&mut *tx, shop_id).await?;
    tx.commit().await?;
    Ok(Response::new(pb::ReorderListingsResponse { reordered: i32::try_from(first.len()).unwrap_or(i32::MAX) }))
}

#[tracing::instrument(skip_all, fields(listing_id = %request.get_ref().listing_id))]
pub async fn remove_listing(
    api: &StorefrontApi,
    request: Request<pb::RemoveListingRequest>,
) -> Result<Response<pb::RemoveListingResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let listing_id =
        validate::uuid("listing_id", &request.get_ref().listing_id).map_err(|v| Error::from(Invalid::from(v)))?;
    let mut tx = api.pool.begin().await?;
    let (listing, shop) = own_active_listing(&mut tx, &caller, listing_id).await?;
    let now = api.clock.now();
    let Some(ended) = store::listing::end(&mut *tx, listing_id, now, RemovalReason::ByPromoter).await? else {
        // Already removed: removing again changes nothing.
        return Ok(Response::new(pb::RemoveListingResponse { listing: Some(convert::listing(&listing)) }));
    };
    store::shop::adjust_listing_count(&mut *tx, shop.shop_id, -1).await?;
    publish(&mut tx, &events::listing_changed(&ended, &shop.promoter_id)).await?;
    tx.commit().await?;
    Ok(Response::new(pb::RemoveListingResponse { listing: Some(convert::listing(&ended)) }))
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id))]
pub async fn list_shop_listings(
    api: &StorefrontApi,
    request: Request<pb::ListShopListingsRequest>,
) -> Result<Response<pb::ListShopListingsResponse>, Error> {
    request.caller()?.require_role(&[Role::Promoter, Role::Admin])?;
    let r = request.get_ref();
    let shop_id = shop_id(&r.shop_id)?;
    let page: Page<(i32, Uuid)> = page(r.page_size, &r.page_token)?;
    shop_of(api, request.caller()?, shop_id, &[Role::Admin]).await?;
    let mut rows = store::listing::page(&api.pool, shop_id, api.clock.now(), page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |l| (l.listing.position, l.listing.listing_id));
    Ok(Response::new(pb::ListShopListingsResponse {
        listings: rows.iter().map(convert::managed).collect(),
        next_page_token,
    }))
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id, product_id = %request.get_ref().product_id))]
pub async fn check_listing(
    api: &StorefrontApi,
    request: Request<pb::CheckListingRequest>,
) -> Result<Response<pb::CheckListingResponse>, Error> {
    request.caller()?.require_role(&[Role::Service, Role::Admin])?;
    let r = request.get_ref();
    let mut v = Violations::new();
    let shop_id = v.check(validate::uuid("shop_id", &r.shop_id));
    let product_id = v.check(validate::uuid("product_id", &r.product_id));
    let at = v.check(validate::required_timestamp("at", r.at.as_ref()));
    let (shop_id, (product_id, at)) = v.finish_with(shop_id.zip(product_id.zip(at)))?;
    let listing = store::listing::covering(&api.pool, shop_id, product_id, at).await?;
    Ok(Response::new(pb::CheckListingResponse {
        listed: listing.is_some(),
        listing: listing.as_ref().map(convert::listing),
    }))
}
