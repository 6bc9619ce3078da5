//! Fraud-review holds and manual adjustments (each with its reason, who and when).
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::settlement as pb;
use xiaopu_common::{
    auth::CallerExt,
    error::Violations,
    idempotency::{self, Claim},
    ids::PromoterId,
    validate,
};
use xiaopu_money::Minor;

use super::{Error, SettlementApi, batches::FINANCE, convert};
use crate::{
    domain::ledger::{self, JournalKind},
    store::{
        self, Journal,
        holds::{AdjustmentRow, HoldRow},
    },
};

const MAX_REASON_CHARS: usize = 500;

/// A hold's promoter and the reason for placing or releasing it (both required).
fn promoter_and_reason<'a>(promoter_id: &'a str, reason: &'a str) -> Result<(&'a str, &'a str), Error> {
    let mut v = Violations::new();
    let promoter = v.check(validate::id("promoter_id", promoter_id));
    let reason = v.check(validate::text("reason", reason, MAX_REASON_CHARS, true));
    Ok(v.finish_with(promoter.zip(reason))?)
}

#[tracing::instrument(skip_all, fields(promoter_id = %request.get_ref().promoter_id))]
pub async fn place_hold(
    api: &SettlementApi,
    request: Request<pb::PlaceHoldRequest>,
) -> Result<Response<pb::PlaceHoldResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(FINANCE)?;
    let r = request.into_inner();
    let (promoter, reason) = promoter_and_reason(&r.promoter_id, &r.reason)?;
    let hold = HoldRow {
        hold_id: Uuid::now_v7(),
        promoter_id: promoter.to_owned(),
        reason: reason.to_owned(),
        placed_by: caller.subject.clone(),
        placed_at: api.clock.now(),
        released_by: None,
        released_at: None,
        release_reason: None,
    };
    let mut tx = api.pool.begin().await?;
    // A hold on a mistyped id would hold nothing while looking like it does.
    if !store::holds::is_known(&mut *tx, promoter).await? {
        return Err(Error::UnknownPromoter(promoter.to_owned()));
    }
    let placed = store::holds::place(&mut tx, &hold).await?.ok_or_else(|| Error::AlreadyHeld(promoter.to_owned()))?;
    tx.commit().await?;
    tracing::info!(promoter_id = %promoter, by = %caller.subject, "hold placed");
    Ok(Response::new(pb::PlaceHoldResponse { hold: Some(convert::hold(&placed)) }))
}

#[tracing::instrument(skip_all, fields(promoter_id = %request.get_ref().promoter_id))]
pub async fn release_hold(
    api: &SettlementApi,
    request: Request<pb::ReleaseHoldRequest>,
) -> Result<Response<pb::ReleaseHoldResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(FINANCE)?;
    let r = request.into_inner();
    let (promoter, reason) = promoter_and_reason(&r.promoter_id, &r.reason)?;
    let mut tx = api.pool.begin().await?;
    let released = store::holds::release(&mut tx, promoter, &caller.subject, reason, api.clock.now())
        .await?
        .ok_or_else(|| Error::NotHeld(promoter.to_owned()))?;
    tx.commit().await?;
    Ok(Response::new(pb::ReleaseHoldResponse { hold: Some(convert::hold(&released)) }))
}

#[tracing::instrument(skip_all)]
pub async fn list_holds(
    api: &SettlementApi,
    request: Request<pb::ListHoldsRequest>,
) -> Result<Response<pb::ListHoldsResponse>, Error> {
    request.caller()?.require_role(FINANCE)?;
    let r = request.get_ref();
    let promoter = match r.promoter_id.as_str() {
        "" => None,
        id => Some(validate::id("promoter_id", id).map_err(|v| Error::from(xiaopu_common::error::Invalid::from(v)))?),
    };
    let rows = store::holds::list(&api.pool, r.include_released, promoter).await?;
    Ok(Response::new(pb::ListHoldsResponse { holds: rows.iter().map(convert::hold).collect() }))
}

/// The idempotency scope of `CreateAdjustment`'s request ids.
const SCOPE_ADJUST: &str = "settlement.CreateAdjustment";

#[tracing::instrument(skip_all, fields(promoter_id = %request.get_ref().promoter_id))]
pub async fn create_adjustment(
    api: &SettlementApi,
    request: Request<pb::CreateAdjustmentRequest>,
) -> Result<Response<pb::CreateAdjustmentResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(FINANCE)?;
    let r = request.into_inner();
    let fingerprint = idempotency::fingerprint(&r);
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let promoter = v.check(validate::id("promoter_id", &r.promoter_id));
    let reason = v.check(validate::text("reason", &r.reason, MAX_REASON_CHARS, true));
    let amount = match &r.amount {
        Some(m) if m.minor_units == 0 => {
            v.add("amount.minor_units", "must not be zero");
            None
        }
        Some(m) if m.minor_units.unsigned_abs() > 100_000_000_000 => {
            v.add("amount.minor_units", "must be within ±100000000000");
            None
        }
        Some(m) if m.currency != api.settings.currency => {
            v.add("amount.currency", format!("must be {}", api.settings.currency));
            None
        }
        Some(m) => Some(m.minor_units),
        None => {
            v.add("amount", "is required");
            None
        }
    };
    let (request_id, (promoter, (reason, amount))) = v.finish_with(request_id.zip(promoter.zip(reason.zip(amount))))?;
    let now = api.clock.now();
    let mut tx = api.pool.begin().await?;
    let key = match idempotency::claim(&mut tx, SCOPE_ADJUST, &caller.subject, request_id, &fingerprint).await? {
        Claim::Replay(first) => return Ok(Response::new(first)),
        Claim::New(key) => key,
    };
    // Made before idempotency keys kept answers: answer from the adjustment.
    if let Some(existing) = store::holds::adjustment_by_request(&mut *tx, &caller.subject, request_id).await? {
        return Ok(Response::new(pb::CreateAdjustmentResponse { adjustment: Some(convert::adjustment(&existing)) }));
    }
    let journal = Journal {
        kind: JournalKind::Adjustment,
        line_id: None,
        promoter_id: Some(promoter.to_owned()),
        supplier_id: None,
        batch_line_id: None,
        source_event_id: None,
        occurred_at: now,
        created_by: caller.subject.clone(),
        memo: reason.to_owned(),
        currency: api.settings.currency.clone(),
        postings: ledger::adjustment(&PromoterId::new(promoter), Minor::new(amount))?,
    };
    let ids = store::post(&mut tx, &[journal], now).await?;
    let adjustment = AdjustmentRow {
        adjustment_id: Uuid::now_v7(),
        promoter_id: promoter.to_owned(),
        currency: api.settings.currency.clone(),
        amount,
        reason: reason.to_owned(),
        created_by: caller.subject.clone(),
        created_at: now,
        request_id: request_id.to_owned(),
        journal_id: ids.first().copied().unwrap_or_default(),
    };
    store::holds::insert_adjustment(&mut tx, &adjustment).await?;
    let answer = pb::CreateAdjustmentResponse { adjustment: Some(convert::adjustment(&adjustment)) };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(promoter_id = %promoter, amount, by = %caller.subject, "manual adjustment");
    Ok(Response::new(answer))
}
