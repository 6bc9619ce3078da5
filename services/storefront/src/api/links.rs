//! Share links: created by a shop's promoter, resolved by the link redirector and
//! the web front (service role) when a buyer opens one.
use chrono::{DateTime, Utc};
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::storefront as pb;
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{FieldViolation, Violations, unique_violation},
    feed::publish,
    idempotency::{self, Claim},
    paging::{Page, next_page},
    validate,
};

use super::{
    Error, StorefrontApi, convert, events, page,
    shops::{shop_id, shop_of},
};
use crate::{
    domain::{ProductStatus, ShopStatus, share_code},
    store::{self, share_link::ShareLinkRecord},
};

/// Fresh codes drawn before giving up on a (vanishingly unlikely) run of collisions.
const CODE_ATTEMPTS: usize = 5;
/// The idempotency scope of `CreateShareLink`'s request ids.
const SCOPE_CREATE_LINK: &str = "storefront.CreateShareLink";

/// A link as clients get it: with the full URL buyers open (and its QR code shows).
pub(super) fn link_message(api: &StorefrontApi, record: &ShareLinkRecord) -> pb::ShareLink {
    pb::ShareLink { url: api.settings.share_url(&record.code), ..convert::share_link(record) }
}

/// The link a promoter's request created before idempotency keys kept answers.
async fn stored_link(
    api: &StorefrontApi,
    conn: &mut sqlx::PgConnection,
    promoter_id: &str,
    request_id: &str,
) -> Result<Response<pb::CreateShareLinkResponse>, Error> {
    let stored = store::share_link::by_request(&mut *conn, promoter_id, request_id)
        .await?
        .ok_or_else(|| Error::from(sqlx::Error::Protocol("a claimed request id has no share link".into())))?;
    Ok(Response::new(pb::CreateShareLinkResponse { share_link: Some(link_message(api, &stored)) }))
}

/// The product of `listing_id`, which must be an active listing of `shop_id`; None
/// for a whole-shop link.
pub(super) async fn listing_product(
    conn: &mut sqlx::PgConnection,
    shop_id: Uuid,
    listing_id: Option<Uuid>,
) -> Result<Option<Uuid>, Error> {
    let Some(id) = listing_id else { return Ok(None) };
    match store::listing::get(&mut *conn, id).await? {
        Some(l) if l.shop_id == shop_id && l.removed_at.is_none() => Ok(Some(l.product_id)),
        _ => Err(Error::not_found("active listing of this shop", id)),
    }
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id))]
pub async fn create_share_link(
    api: &StorefrontApi,
    request: Request<pb::CreateShareLinkRequest>,
) -> Result<Response<pb::CreateShareLinkResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let r = request.into_inner();
    let fingerprint = idempotency::fingerprint(&r);
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let shop = v.check(validate::uuid("shop_id", &r.shop_id));
    let listing_id = v.check(validate::optional_uuid("listing_id", &r.listing_id));
    let channel = v.check(convert::channel_from(r.channel).ok_or_else(|| {
        FieldViolation::new("channel", "is required: wechat, moments, douyin, weibo, xiaohongshu, live or other")
    }));
    let (request_id, (shop_id, (listing_id, channel))) =
        v.finish_with(request_id.zip(shop.zip(listing_id.zip(channel))))?;
    let shop = shop_of(api, &caller, shop_id, &[]).await?;

    let mut tx = api.pool.begin().await?;
    let key = match idempotency::claim(&mut tx, SCOPE_CREATE_LINK, &caller.subject, request_id, &fingerprint).await? {
        Claim::Replay(first) => return Ok(Response::new(first)),
        Claim::New(key) => key,
    };
    let product_id = listing_product(&mut tx, shop_id, listing_id).await?;
    for _ in 0..CODE_ATTEMPTS {
        let link = ShareLinkRecord {
            code: share_code::generate(),
            shop_id,
            promoter_id: shop.promoter_id.clone(),
            listing_id,
            product_id,
            channel,
            created_at: api.clock.now(),
            revoked_at: None,
            request_id: request_id.to_owned(),
            promo_code: false,
        };
        // A savepoint per code drawn: a taken code undoes only its own attempt.
        let mut attempt = sqlx::Connection::begin(&mut *tx).await?;
        match store::share_link::insert(&mut *attempt, &link).await {
            Ok(true) => {
                attempt.commit().await?;
                publish(&mut tx, &events::share_link_changed(&link)).await?;
                let answer = pb::CreateShareLinkResponse { share_link: Some(link_message(api, &link)) };
                key.remember(&mut tx, &answer).await?;
                tx.commit().await?;
                return Ok(Response::new(answer));
            }
            // Created before idempotency keys were kept: the first answer stands.
            Ok(false) => {
                attempt.commit().await?;
                return stored_link(api, &mut tx, &caller.subject, request_id).await;
            }
            Err(err) if unique_violation(&err) == Some("share_link_pkey") => {
                attempt.rollback().await?;
            }
            Err(err) => return Err(Error::from(err)),
        }
    }
    Err(Error::from(sqlx::Error::Protocol("could not draw an unused share code".into())))
}

#[tracing::instrument(skip_all, fields(code = %request.get_ref().code))]
pub async fn revoke_share_link(
    api: &StorefrontApi,
    request: Request<pb::RevokeShareLinkRequest>,
) -> Result<Response<pb::RevokeShareLinkResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let typed = request.into_inner().code;
    let not_found = || Error::not_found("share code", &typed);
    let link = store::share_link::get(&api.pool, &share_code::lookup_forms(&typed)).await?.ok_or_else(not_found)?;
    caller.require_owner(Role::Promoter, &link.promoter_id, &[])?;
    let code = link.code.clone();
    let mut tx = api.pool.begin().await?;
    let Some(revoked) = store::share_link::revoke(&mut *tx, &code, api.clock.now()).await? else {
        // Already revoked: nothing changes.
        return Ok(Response::new(pb::RevokeShareLinkResponse { share_link: Some(link_message(api, &link)) }));
    };
    publish(&mut tx, &events::share_link_changed(&revoked)).await?;
    tx.commit().await?;
    Ok(Response::new(pb::RevokeShareLinkResponse { share_link: Some(link_message(api, &revoked)) }))
}

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id))]
pub async fn list_share_links(
    api: &StorefrontApi,
    request: Request<pb::ListShareLinksRequest>,
) -> Result<Response<pb::ListShareLinksResponse>, Error> {
    request.caller()?.require_role(&[Role::Promoter, Role::Admin])?;
    let r = request.get_ref();
    let shop_id = shop_id(&r.shop_id)?;
    let page: Page<(DateTime<Utc>, String)> = page(r.page_size, &r.page_token)?;
    shop_of(api, request.caller()?, shop_id, &[Role::Admin]).await?;
    let mut rows = store::share_link::list(&api.pool, shop_id, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |l| (l.created_at, l.code.clone()));
    Ok(Response::new(pb::ListShareLinksResponse {
        share_links: rows.iter().map(|l| link_message(api, l)).collect(),
        next_page_token,
    }))
}

#[tracing::instrument(skip_all, fields(code = %request.get_ref().code))]
pub async fn resolve_share_code(
    api: &StorefrontApi,
    request: Request<pb::ResolveShareCodeRequest>,
) -> Result<Response<pb::ResolveShareCodeResponse>, Error> {
    request.caller()?.require_role(&[Role::Service, Role::Admin])?;
    let r = request.get_ref();
    let typed = &r.code;
    let not_found = || Error::not_found("share code", typed);
    // Promo codes can be guessed: a visitor who missed too often is refused every
    // code until the window ends, a live one included (else a hit would tell).
    let visitor = r.visitor_key.trim();
    let limit = api.settings.guess_limit();
    let now = api.clock.now();
    if !visitor.is_empty() && limit.refuses(store::share_link::guesses(&api.pool, visitor).await?, now) {
        return Err(Error::TooManyGuesses);
    }
    // A malformed code is simply unknown: no lookup, and nothing to learn from it.
    let found = store::share_link::resolve(&api.pool, &share_code::lookup_forms(typed)).await?;
    let Some(found) = found.filter(|f| f.link.revoked_at.is_none()) else {
        if !visitor.is_empty() {
            store::share_link::record_miss(&api.pool, visitor, now, now - limit.window).await?;
        }
        return Err(not_found());
    };
    let code = &found.link.code;
    if found.shop_status == ShopStatus::Suspended {
        return Err(Error::ShopSuspended(found.link.shop_id.to_string()));
    }
    if found.product_status == Some(ProductStatus::Withdrawn) {
        let product: Uuid = found.link.product_id.unwrap_or_default();
        return Err(Error::ProductWithdrawn(product.to_string()));
    }
    if found.listing_active == Some(false) {
        return Err(Error::ListingRemoved(code.clone()));
    }
    let listing = match found.link.listing_id {
        Some(listing_id) => store::listing::public_listing(&api.pool, listing_id).await?,
        None => None,
    };
    Ok(Response::new(pb::ResolveShareCodeResponse {
        share_link: Some(link_message(api, &found.link)),
        shop_status: convert::shop_status(found.shop_status).into(),
        shop_name: found.shop_name,
        listing: listing.as_ref().map(convert::public),
    }))
}
