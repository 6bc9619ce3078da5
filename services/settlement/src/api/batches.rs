//! Periods and payout batches: close (idempotent per period), four-eyes approval,
//! export, and each line's payment or failure.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::settlement as pb;
use xiaopu_common::{
    auth::{Caller, CallerExt, Role},
    error::{Invalid, Violations},
    idempotency::{self, Claim},
    ids::PromoterId,
    paging::{Page, next_page},
    time::to_timestamp,
    validate,
};
use xiaopu_money::Minor;

use super::{Error, SettlementApi, convert, period};
use crate::{
    app,
    domain::{
        batch::{BatchStatus, may_close},
        ledger::{self, JournalKind},
        payout::{LineStatus, Owed, payout_line},
    },
    store::{
        self, Journal, Posted,
        batches::{BatchFilter, LineRow},
    },
};

pub const FINANCE: &[Role] = &[Role::Finance];
/// The idempotency scope of `ClosePeriod`'s request ids.
const SCOPE_CLOSE: &str = "settlement.ClosePeriod";

/// A close request's idempotency key and the fingerprint of the request.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    pub request_id: &'a str,
    pub fingerprint: &'a [u8],
}

fn batch_id(value: &str) -> Result<Uuid, Error> {
    validate::uuid("batch_id", value).map_err(|v| Error::from(Invalid::from(v)))
}

pub async fn batch_message(api: &SettlementApi, batch_id: Uuid) -> Result<pb::Batch, Error> {
    batch_message_in(&api.pool, api, batch_id).await
}

/// The batch as `db` (a transaction that wrote it, or the pool) sees it.
async fn batch_message_in(db: impl PgExecutor<'_>, api: &SettlementApi, batch_id: Uuid) -> Result<pb::Batch, Error> {
    let row = store::batches::get(db, batch_id).await?.ok_or_else(|| Error::not_found("batch", batch_id))?;
    Ok(convert::batch(&row, &api.settings.currency))
}

#[tracing::instrument(skip_all)]
pub async fn close_period(
    api: &SettlementApi,
    request: Request<pb::ClosePeriodRequest>,
) -> Result<Response<pb::ClosePeriodResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(FINANCE)?;
    let r = request.into_inner();
    let fingerprint = idempotency::fingerprint(&r);
    let mut v = Violations::new();
    v.check(validate::id("request_id", &r.request_id));
    v.finish()?;
    let (from, to) = period(r.from.as_ref(), r.to.as_ref())?;
    let key = RequestKey { request_id: &r.request_id, fingerprint: &fingerprint };
    Ok(Response::new(close(api, &caller, from, to, key).await?))
}

/// What one promoter is due at a close, in one currency.
#[derive(Default)]
struct Due {
    owed: Owed,
    /// The service fee on the settled share.
    fee: i64,
    /// Order lines settled.
    lines: i64,
    /// Failed payout lines re-issued here.
    failed: Vec<Uuid>,
}

/// Closes [from, to) into a draft batch: each promoter not on hold gets one line of
/// the share that became settleable inside the period, plus failed payouts to
/// re-issue, less their netting balance; lines under the minimum carry forward with
/// nothing moved. Only a period that has ended and shares no time with a closed one
/// closes.
pub async fn close(
    api: &SettlementApi,
    caller: &Caller,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    request: RequestKey<'_>,
) -> Result<pb::ClosePeriodResponse, Error> {
    let mut tx = api.pool.begin().await?;
    store::lock(&mut tx, store::CLOSE_LOCK).await?;
    let key = match idempotency::claim(&mut tx, SCOPE_CLOSE, &caller.subject, request.request_id, request.fingerprint)
        .await?
    {
        Claim::Replay(first) => return Ok(first),
        Claim::New(key) => key,
    };
    if let Some(existing) = store::periods::of_period(&mut *tx, from, to).await? {
        return answer_close(api, tx, key, existing, false).await;
    }
    let now = api.clock.now();
    may_close((from, to), now, store::periods::overlapping_period(&mut *tx, from, to).await?)?;
    let held = store::holds::held(&mut *tx).await?;
    let mut owed: BTreeMap<(String, String), Due> = BTreeMap::new();
    for s in store::positions::settleable_within(&mut tx, from, to, &held).await? {
        let due = owed.entry((s.promoter_id, s.currency)).or_default();
        due.owed.settled_share = s.share;
        due.fee = s.fee;
        due.lines = s.lines;
    }
    for (promoter, currency, amount, failed) in store::batches::to_reissue(&mut tx, &held).await? {
        let due = owed.entry((promoter, currency)).or_default();
        due.owed.reissued = amount;
        due.failed = failed;
    }
    for n in store::reports::netting(&mut tx, &held).await? {
        owed.entry((n.party, n.currency)).or_default().owed.netting = n.amount;
    }

    let promoters: Vec<String> = owed.keys().map(|(p, _)| p.clone()).collect();
    let payees: BTreeSet<String> = store::payees::having_profile(&mut tx, &promoters).await?.into_iter().collect();
    let rules = api.settings.close_rules();

    let batch_id = Uuid::now_v7();
    store::batches::insert(&mut tx, batch_id, from, to, &caller.subject, &held, now).await?;
    let mut lines = Vec::with_capacity(owed.len());
    let mut settle = Vec::new();
    let mut reissued = (Vec::new(), Vec::new());
    let mut journals = Vec::new();
    for ((promoter, currency), Due { owed: o, fee, lines: count, failed }) in owed {
        let line = payout_line(o, &currency, payees.contains(&promoter), rules);
        let id = Uuid::now_v7();
        if line.status == LineStatus::Pending {
            settle.push((promoter.clone(), currency.clone(), id));
            for f in failed {
                reissued.0.push(f);
                reissued.1.push(id);
            }
            let posted = Posted { at: now, by: &caller.subject, currency: &currency };
            let payee = PromoterId::new(&promoter);
            let netted = Minor::new(line.netted);
            let postings = ledger::close(&payee, Minor::new(o.settled_share), Minor::new(fee), netted)?;
            journals.push(Journal::of_payout_line(
                JournalKind::Close,
                &promoter,
                id,
                posted,
                format!("period {from} – {to}"),
                postings,
            ));
            if line.withheld > 0 {
                let memo = format!("income tax withheld ({})", api.settings.withholding);
                let postings = ledger::withholding(&payee, Minor::new(line.withheld))?;
                journals.push(Journal::of_payout_line(JournalKind::Withholding, &promoter, id, posted, memo, postings));
            }
        }
        let paid_now = line.status == LineStatus::Pending;
        lines.push(LineRow {
            batch_line_id: id,
            batch_id,
            promoter_id: promoter,
            currency,
            status: line.status,
            settled_share: if paid_now { o.settled_share } else { 0 },
            service_fee: if paid_now { fee } else { 0 },
            reissued: if paid_now { o.reissued } else { 0 },
            clawback_netted: line.netted,
            amount: line.amount,
            order_lines: if paid_now { i32::try_from(count).unwrap_or(i32::MAX) } else { 0 },
            payment_reference: None,
            failure_reason: None,
            recorded_by: None,
            recorded_at: None,
            reissued_in: None,
            withheld: line.withheld,
            hold_reason: line.hold_reason.map(str::to_owned),
        });
    }
    store::batches::insert_lines(&mut tx, &lines).await?;
    let settled = store::positions::settle(&mut tx, (from, to), &settle, now).await?;
    store::batches::mark_reissued(&mut tx, &reissued.0, &reissued.1).await?;
    store::post(&mut tx, &journals, now).await?;
    tracing::info!(%batch_id, %from, %to, lines = lines.len(), order_lines = settled, held = held.len(), "period closed");
    answer_close(api, tx, key, batch_id, true).await
}

/// Commits a close with its answer kept for retries.
async fn answer_close(
    api: &SettlementApi,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    key: idempotency::Key,
    batch_id: Uuid,
    created: bool,
) -> Result<pb::ClosePeriodResponse, Error> {
    let answer = pb::ClosePeriodResponse { batch: Some(batch_message_in(&mut *tx, api, batch_id).await?), created };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    Ok(answer)
}

#[tracing::instrument(skip_all)]
pub async fn list_periods(
    api: &SettlementApi,
    request: Request<pb::ListPeriodsRequest>,
) -> Result<Response<pb::ListPeriodsResponse>, Error> {
    request.caller()?.require_role(FINANCE)?;
    let r = request.get_ref();
    let page: Page<(DateTime<Utc>, Uuid)> = Page::from_request(r.page_size, &r.page_token, 24, 200)?;
    let mut rows = store::periods::periods(&api.pool, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |p| (p.starts_at, p.batch_id));
    let next_from = store::periods::next_period_from(&api.pool).await?;
    Ok(Response::new(pb::ListPeriodsResponse {
        periods: rows.iter().map(convert::period).collect(),
        next_page_token,
        next_from: next_from.map(to_timestamp),
    }))
}

#[tracing::instrument(skip_all)]
pub async fn list_batches(
    api: &SettlementApi,
    request: Request<pb::ListBatchesRequest>,
) -> Result<Response<pb::ListBatchesResponse>, Error> {
    request.caller()?.require_role(FINANCE)?;
    let r = request.get_ref();
    let page: Page<(DateTime<Utc>, Uuid)> = Page::from_request(r.page_size, &r.page_token, 20, 200)?;
    let mut v = Violations::new();
    let status = match pb::BatchStatus::try_from(r.status) {
        Ok(pb::BatchStatus::Unspecified) => None,
        Ok(status) => BatchStatus::ALL.iter().copied().find(|s| convert::batch_status(*s) == status),
        Err(_) => {
            v.add("status", "must be a BatchStatus");
            None
        }
    };
    let period_from = v.check(validate::timestamp("period_from", r.period_from.as_ref())).flatten();
    let period_to = v.check(validate::timestamp("period_to", r.period_to.as_ref())).flatten();
    v.finish()?;
    let filter = BatchFilter { status: status.map(|s| s.as_str().to_owned()), period_from, period_to, batch_id: None };
    let mut rows = store::batches::list(&api.pool, &filter, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |b| (b.created_at, b.batch_id));
    let currency = &api.settings.currency;
    Ok(Response::new(pb::ListBatchesResponse {
        batches: rows.iter().map(|b| convert::batch(b, currency)).collect(),
        next_page_token,
    }))
}

#[tracing::instrument(skip_all, fields(batch_id = %request.get_ref().batch_id))]
pub async fn get_batch(
    api: &SettlementApi,
    request: Request<pb::GetBatchRequest>,
) -> Result<Response<pb::GetBatchResponse>, Error> {
    request.caller()?.require_role(FINANCE)?;
    let id = batch_id(&request.get_ref().batch_id)?;
    Ok(Response::new(pb::GetBatchResponse { batch: Some(batch_message(api, id).await?) }))
}

#[tracing::instrument(skip_all, fields(batch_id = %request.get_ref().batch_id))]
pub async fn list_batch_lines(
    api: &SettlementApi,
    request: Request<pb::ListBatchLinesRequest>,
) -> Result<Response<pb::ListBatchLinesResponse>, Error> {
    request.caller()?.require_role(FINANCE)?;
    let r = request.get_ref();
    let id = batch_id(&r.batch_id)?;
    let page: Page<(String, String)> = Page::from_request(r.page_size, &r.page_token, 100, 1000)?;
    let mut rows = store::batches::lines(&api.pool, id, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |l| (l.promoter_id.clone(), l.currency.clone()));
    Ok(Response::new(pb::ListBatchLinesResponse {
        lines: rows.iter().map(convert::batch_line).collect(),
        next_page_token,
    }))
}

#[tracing::instrument(skip_all, fields(batch_id = %request.get_ref().batch_id))]
pub async fn approve_batch(
    api: &SettlementApi,
    request: Request<pb::ApproveBatchRequest>,
) -> Result<Response<pb::ApproveBatchResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(FINANCE)?;
    let id = batch_id(&request.get_ref().batch_id)?;
    let mut tx = api.pool.begin().await?;
    let store::batches::Locked { status, created_by: creator, .. } =
        store::batches::lock(&mut tx, id).await?.ok_or_else(|| Error::not_found("batch", id))?;
    if status != BatchStatus::Draft {
        let status = status.as_str().to_owned();
        return Err(Error::BatchState { batch_id: id.to_string(), status, action: "approval", wanted: "draft" });
    }
    if creator == caller.subject {
        return Err(Error::FourEyes { batch_id: id.to_string(), creator });
    }
    let now = api.clock.now();
    store::batches::approve(&mut tx, id, &caller.subject, now).await?;
    app::webhooks::batch_approved(&mut tx, id, now).await?;
    tx.commit().await?;
    tracing::info!(batch_id = %id, approver = %caller.subject, "batch approved");
    Ok(Response::new(pb::ApproveBatchResponse { batch: Some(batch_message(api, id).await?) }))
}
