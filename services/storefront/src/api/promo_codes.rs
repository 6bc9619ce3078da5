//! Promo codes (口令): share codes a promoter chooses, e.g. XIAOMEI88, for buyers to
//! type at checkout or on the web front's 输入口令 page. They live with the drawn
//! links (one code space, revoked the same way, the same feed event), so attribution
//! treats an order carrying one exactly as an order placed through a link.
use tonic::{Request, Response};
use xiaopu_api::storefront as pb;
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{FieldViolation, Violations, unique_violation},
    feed::publish,
    idempotency::{self, Claim},
    validate,
};

use super::{
    Error, StorefrontApi, convert, events,
    links::{link_message, listing_product},
    shops::shop_of,
};
use crate::{
    domain::share_code,
    store::{self, share_link::ShareLinkRecord},
};

/// The idempotency scope of `CreatePromoCode`'s request ids.
const SCOPE_CREATE_PROMO_CODE: &str = "storefront.CreatePromoCode";

#[tracing::instrument(skip_all, fields(shop_id = %request.get_ref().shop_id))]
pub async fn create_promo_code(
    api: &StorefrontApi,
    request: Request<pb::CreatePromoCodeRequest>,
) -> Result<Response<pb::CreatePromoCodeResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let r = request.into_inner();
    let fingerprint = idempotency::fingerprint(&r);
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let shop = v.check(validate::uuid("shop_id", &r.shop_id));
    let code = v.check(share_code::promo_code(&r.code).map_err(|rule| FieldViolation::new("code", rule)));
    let listing_id = v.check(validate::optional_uuid("listing_id", &r.listing_id));
    let channel = v.check(convert::channel_from(r.channel).ok_or_else(|| {
        FieldViolation::new("channel", "is required: wechat, moments, douyin, weibo, xiaohongshu, live or other")
    }));
    let (request_id, (shop_id, (code, (listing_id, channel)))) =
        v.finish_with(request_id.zip(shop.zip(code.zip(listing_id.zip(channel)))))?;
    let shop = shop_of(api, &caller, shop_id, &[]).await?;

    let mut tx = api.pool.begin().await?;
    let key =
        match idempotency::claim(&mut tx, SCOPE_CREATE_PROMO_CODE, &caller.subject, request_id, &fingerprint).await? {
            Claim::Replay(first) => return Ok(Response::new(first)),
            Claim::New(key) => key,
        };
    // The shop's row, locked: two codes created at once count against the cap in turn.
    store::shop::get_for_update(&mut *tx, shop_id).await?;
    let live = store::share_link::live_promo_codes(&mut *tx, shop_id).await?;
    if live >= api.settings.max_promo_codes_per_shop {
        return Err(Error::PromoCodeLimit(api.settings.max_promo_codes_per_shop));
    }
    let product_id = listing_product(&mut tx, shop_id, listing_id).await?;
    let link = ShareLinkRecord {
        code: code.clone(),
        shop_id,
        promoter_id: shop.promoter_id.clone(),
        listing_id,
        product_id,
        channel,
        created_at: api.clock.now(),
        revoked_at: None,
        // Its own space beside the links' request ids (the column keeps them unique).
        request_id: format!("promo:{request_id}"),
        promo_code: true,
    };
    match store::share_link::insert(&mut *tx, &link).await {
        Ok(true) => {}
        Ok(false) => return Err(Error::from(sqlx::Error::Protocol("a new request id already has a code".into()))),
        Err(err) if unique_violation(&err) == Some("share_link_pkey") => return Err(Error::CodeTaken(code)),
        Err(err) => return Err(Error::from(err)),
    }
    publish(&mut tx, &events::share_link_changed(&link)).await?;
    let answer = pb::CreatePromoCodeResponse { share_link: Some(link_message(api, &link)) };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(%shop_id, code = %link.code, "promo code created");
    Ok(Response::new(answer))
}
