//! Suppliers' commission rates: history, never overwritten. A rate is set from now
//! or a later time; a scheduled one may be cancelled until it comes into force.
use chrono::{DateTime, TimeDelta, Utc};
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::storefront as pb;
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{Invalid, Violations, unique_violation},
    feed::publish,
    idempotency::{self, Claim},
    paging::{Page, next_page},
    time::to_timestamp,
    validate,
};

use super::{Error, StorefrontApi, catalog::owned_product, convert, events, page};
use crate::{
    domain::ProductStatus,
    store::{self, rate::RateRecord},
};

/// Clock skew tolerated on a rate's effective time ("now or later").
const PAST_TOLERANCE: TimeDelta = TimeDelta::seconds(60);
/// The idempotency scope of setting a rate's request ids.
const SCOPE_SET_RATE: &str = "storefront.SetCommissionRate";

/// The rate a supplier's request set before idempotency keys kept answers.
async fn stored_rate(
    conn: &mut sqlx::PgConnection,
    supplier_id: &str,
    request_id: &str,
) -> Result<Response<pb::SetCommissionRateResponse>, Error> {
    let stored = store::rate::by_request(&mut *conn, supplier_id, request_id)
        .await?
        .ok_or_else(|| Error::from(sqlx::Error::Protocol("a claimed request id has no rate".into())))?;
    Ok(Response::new(pb::SetCommissionRateResponse { rate: Some(convert::rate(&stored)) }))
}

#[tracing::instrument(skip_all, fields(product_id = %request.get_ref().product_id, rate_bps = request.get_ref().rate_bps))]
pub async fn set_commission_rate(
    api: &StorefrontApi,
    request: Request<pb::SetCommissionRateRequest>,
) -> Result<Response<pb::SetCommissionRateResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier])?;
    let r = request.into_inner();
    let fingerprint = idempotency::fingerprint(&r);
    let now = api.clock.now();
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let product_id = v.check(validate::uuid("product_id", &r.product_id));
    if let Err(rule) = api.rate_bounds().check(r.rate_bps) {
        v.add("rate_bps", rule);
    }
    let effective_from =
        v.check(validate::timestamp("effective_from", r.effective_from.as_ref())).map(|t| t.unwrap_or(now));
    if effective_from.is_some_and(|t| t < now - PAST_TOLERANCE) {
        v.add("effective_from", "must not be in the past: rates apply from now or later");
    }
    let (request_id, (product_id, effective_from)) = v.finish_with(request_id.zip(product_id.zip(effective_from)))?;

    let mut tx = api.pool.begin().await?;
    let key = match idempotency::claim(&mut tx, SCOPE_SET_RATE, &caller.subject, request_id, &fingerprint).await? {
        Claim::Replay(first) => return Ok(Response::new(first)),
        Claim::New(key) => key,
    };
    let product = owned_product(&mut tx, &caller, product_id).await?;
    if product.status == ProductStatus::Withdrawn {
        return Err(Error::ProductWithdrawn(product_id.to_string()));
    }
    let rate = RateRecord {
        rate_id: Uuid::now_v7(),
        product_id,
        rate_bps: r.rate_bps,
        effective_from,
        set_by: caller.subject.clone(),
        set_at: now,
        request_id: request_id.to_owned(),
        cancelled_at: None,
    };
    match store::rate::insert(&mut *tx, &rate).await {
        Ok(true) => {}
        // Set before idempotency keys were kept: the first answer stands.
        Ok(false) => return stored_rate(&mut tx, &caller.subject, request_id).await,
        Err(err) if unique_violation(&err) == Some("commission_rate_effective_unique") => {
            return Err(Error::RateAlreadyScheduled {
                product_id: product_id.to_string(),
                effective_from: effective_from.to_rfc3339(),
            });
        }
        Err(err) => return Err(Error::from(err)),
    }
    publish(&mut tx, &events::rate_set(&rate, &product.supplier_id)).await?;
    let answer = pb::SetCommissionRateResponse { rate: Some(convert::rate(&rate)) };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(%product_id, rate_bps = rate.rate_bps, effective_from = %rate.effective_from, "commission rate set");
    Ok(Response::new(answer))
}

#[tracing::instrument(skip_all, fields(product_id = %request.get_ref().product_id))]
pub async fn get_commission_rate(
    api: &StorefrontApi,
    request: Request<pb::GetCommissionRateRequest>,
) -> Result<Response<pb::GetCommissionRateResponse>, Error> {
    request.caller()?;
    let r = request.get_ref();
    let mut v = Violations::new();
    let product_id = v.check(validate::uuid("product_id", &r.product_id));
    let at = v.check(validate::timestamp("at", r.at.as_ref()));
    let (product_id, at) = v.finish_with(product_id.zip(at))?;
    let at = at.unwrap_or_else(|| api.clock.now());
    let rate = store::rate::at(&api.pool, product_id, at)
        .await?
        .ok_or_else(|| Error::not_found("commission rate in force", format!("{product_id} at {}", to_timestamp(at))))?;
    Ok(Response::new(pb::GetCommissionRateResponse { rate: Some(convert::rate(&rate)) }))
}

#[tracing::instrument(skip_all, fields(product_id = %request.get_ref().product_id))]
pub async fn list_commission_rates(
    api: &StorefrontApi,
    request: Request<pb::ListCommissionRatesRequest>,
) -> Result<Response<pb::ListCommissionRatesResponse>, Error> {
    request.caller()?;
    let r = request.get_ref();
    let product_id = validate::uuid("product_id", &r.product_id).map_err(|v| Error::from(Invalid::from(v)))?;
    let page: Page<(DateTime<Utc>, Uuid)> = page(r.page_size, &r.page_token)?;
    let mut rows = store::rate::list(&api.pool, product_id, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |r| (r.effective_from, r.rate_id));
    Ok(Response::new(pb::ListCommissionRatesResponse {
        rates: rows.iter().map(convert::rate).collect(),
        next_page_token,
    }))
}

/// Cancels a scheduled rate: it leaves the rates in force (and attribution's copy,
/// through the feed) and stays in the history as cancelled. Cancelling it again
/// answers the same; a rate already in force cannot be cancelled.
#[tracing::instrument(skip_all, fields(rate_id = %request.get_ref().rate_id))]
pub async fn cancel_scheduled_rate(
    api: &StorefrontApi,
    request: Request<pb::CancelScheduledRateRequest>,
) -> Result<Response<pb::CancelScheduledRateResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier])?;
    let rate_id = validate::uuid("rate_id", &request.get_ref().rate_id).map_err(|v| Error::from(Invalid::from(v)))?;
    let now = api.clock.now();
    let mut tx = api.pool.begin().await?;
    let Some(scheduled) = store::rate::lock(&mut *tx, rate_id).await? else {
        let cancelled = store::rate::cancelled(&mut *tx, rate_id)
            .await?
            .ok_or_else(|| Error::not_found("commission rate", rate_id))?;
        owned_product(&mut tx, &caller, cancelled.product_id).await?;
        return Ok(Response::new(pb::CancelScheduledRateResponse { rate: Some(convert::rate(&cancelled)) }));
    };
    let product = owned_product(&mut tx, &caller, scheduled.product_id).await?;
    if scheduled.effective_from <= now {
        return Err(Error::RateInForce { rate_id: rate_id.to_string(), since: scheduled.effective_from.to_rfc3339() });
    }
    let cancelled = store::rate::cancel(&mut *tx, rate_id, &caller.subject, now)
        .await?
        .ok_or_else(|| Error::not_found("commission rate", rate_id))?;
    publish(&mut tx, &events::rate_cancelled(&cancelled, &product.supplier_id)).await?;
    tx.commit().await?;
    tracing::info!(%rate_id, product_id = %cancelled.product_id, "scheduled commission rate cancelled");
    Ok(Response::new(pb::CancelScheduledRateResponse { rate: Some(convert::rate(&cancelled)) }))
}
