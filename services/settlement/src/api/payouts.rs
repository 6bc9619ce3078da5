//! Each batch line's outcome: paid with the bank's reference, or failed with its
//! reason (re-issued at a later close) — one line by hand, or a whole result file
//! from the bank or Alipay, row by row. Recording the same outcome again changes
//! nothing; a different outcome for a recorded line is refused.
use serde_json::json;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use xiaopu_api::settlement as pb;
use xiaopu_common::{
    auth::{Caller, CallerExt},
    error::{Invalid, Violations, status_details},
    ids::PromoterId,
    validate,
};
use xiaopu_money::Minor;

use super::{Error, SettlementApi, batches::FINANCE, convert};
use crate::{
    app,
    domain::{
        batch::BatchStatus,
        ledger::{self, JournalKind},
        payout::LineStatus,
        webhooks::WebhookEvent,
    },
    store::{self, Journal, Posted, batches::LineRow},
};

/// Rows one import may hold: a batch is paid in files of at most this many lines.
const MAX_IMPORT_ROWS: usize = 10_000;
const MAX_REFERENCE_CHARS: usize = 200;

#[tracing::instrument(skip_all, fields(batch_line_id = %request.get_ref().batch_line_id))]
pub async fn record_payout(
    api: &SettlementApi,
    request: Request<pb::RecordPayoutRequest>,
) -> Result<Response<pb::RecordPayoutResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(FINANCE)?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let line_id = v.check(validate::uuid("batch_line_id", &r.batch_line_id));
    let outcome = match pb::PayoutOutcome::try_from(r.outcome) {
        Ok(pb::PayoutOutcome::Paid) => Some(LineStatus::Paid),
        Ok(pb::PayoutOutcome::Failed) => Some(LineStatus::Failed),
        _ => {
            v.add("outcome", "must be PAID or FAILED");
            None
        }
    };
    let reference = v.check(validate::text("reference", &r.reference, MAX_REFERENCE_CHARS, false));
    let (line_id, (outcome, reference)) = v.finish_with(line_id.zip(outcome.zip(reference)))?;
    let (line, _) = record(api, &caller, line_id, outcome, reference, None).await?;
    Ok(Response::new(pb::RecordPayoutResponse { line: Some(convert::batch_line(&line)) }))
}

/// Records `outcome` on a line (of `batch`, when named): the line as it now is, and
/// whether this call changed it.
async fn record(
    api: &SettlementApi,
    caller: &Caller,
    line_id: Uuid,
    outcome: LineStatus,
    reference: &str,
    batch: Option<Uuid>,
) -> Result<(LineRow, bool), Error> {
    let mut tx = api.pool.begin().await?;
    let (line, batch_status) = store::batches::line_for_update(&mut tx, line_id)
        .await?
        .ok_or_else(|| Error::not_found("payout line", line_id))?;
    if let Some(batch) = batch.filter(|b| *b != line.batch_id) {
        return Err(Error::WrongBatch { line_id: line_id.to_string(), batch_id: batch.to_string() });
    }
    takes_payouts(line.batch_id, batch_status, "recording payouts")?;
    let same =
        |status: LineStatus, stored: &Option<String>| line.status == status && stored.as_deref() == Some(reference);
    if same(LineStatus::Paid, &line.payment_reference) || same(LineStatus::Failed, &line.failure_reason) {
        return Ok((line, false));
    }
    if line.status != LineStatus::Pending {
        return Err(Error::AlreadyRecorded { line_id: line_id.to_string(), status: line.status.as_str().to_owned() });
    }
    let now = api.clock.now();
    let (paid_ref, failure) =
        if outcome == LineStatus::Paid { (Some(reference), None) } else { (None, Some(reference)) };
    store::batches::record_outcome(&mut tx, line_id, outcome.as_str(), paid_ref, failure, &caller.subject, now).await?;
    if outcome == LineStatus::Paid {
        let posted = Posted { at: now, by: &caller.subject, currency: &line.currency };
        let postings = ledger::payout(&PromoterId::new(&line.promoter_id), Minor::new(line.amount))?;
        let memo = format!("paid, reference {reference}");
        let journal = Journal::of_payout_line(JournalKind::Payout, &line.promoter_id, line_id, posted, memo, postings);
        store::post(&mut tx, &[journal], now).await?;
    }
    let news = if outcome == LineStatus::Paid { WebhookEvent::PayoutPaid } else { WebhookEvent::PayoutFailed };
    let data = json!({
        "batch_id": line.batch_id,
        "batch_line_id": line_id,
        "promoter_id": line.promoter_id,
        "amount": { "minor_units": line.amount, "currency": line.currency },
        "reference": reference,
    });
    app::webhooks::tell(&mut tx, news, &[line.promoter_id.as_str()], &line_id.to_string(), data, now).await?;
    // The batch follows its lines: paid, or partially paid, once none is pending.
    let (pending, failed) = store::batches::payable_outcomes(&mut tx, line.batch_id).await?;
    store::batches::set_status(&mut tx, line.batch_id, BatchStatus::after_payouts(pending, failed).as_str()).await?;
    tx.commit().await?;
    let line = LineRow {
        status: outcome,
        payment_reference: paid_ref.map(str::to_owned),
        failure_reason: failure.map(str::to_owned),
        recorded_by: Some(caller.subject.clone()),
        recorded_at: Some(now),
        ..line
    };
    Ok((line, true))
}

/// Refuses `action` on a batch whose payout file has not been exported.
fn takes_payouts(batch_id: Uuid, status: BatchStatus, action: &'static str) -> Result<(), Error> {
    if status.records_payouts() {
        return Ok(());
    }
    Err(Error::BatchState {
        batch_id: batch_id.to_string(),
        status: status.as_str().to_owned(),
        action,
        wanted: "exported",
    })
}

/// Where each column of a result file is, found by its header.
struct Columns {
    line: usize,
    status: usize,
    reference: Option<usize>,
    reason: Option<usize>,
}

impl Columns {
    fn find(header: &csv::StringRecord) -> Result<Self, Error> {
        let position = |names: &[&str]| {
            header
                .iter()
                .position(|h| names.iter().any(|n| h.trim().trim_start_matches('\u{FEFF}').eq_ignore_ascii_case(n)))
        };
        let missing = |name: &str| Invalid::field("file", format!("has no {name} column in its header row"));
        Ok(Self {
            line: position(&["付款明细号", "batch_line_id"]).ok_or_else(|| missing("付款明细号 (batch_line_id)"))?,
            status: position(&["结果", "状态", "status"]).ok_or_else(|| missing("结果 (status)"))?,
            reference: position(&["银行流水号", "流水号", "reference", "payment_reference"]),
            reason: position(&["失败原因", "failure_reason", "reason"]),
        })
    }
}

/// A row's outcome word: 成功/paid or 失败/failed, in either language.
fn outcome_of(word: &str) -> Option<LineStatus> {
    match word.trim().to_ascii_lowercase().as_str() {
        "成功" | "已付款" | "付款成功" | "paid" | "success" | "succeeded" => Some(LineStatus::Paid),
        "失败" | "付款失败" | "failed" | "fail" | "failure" => Some(LineStatus::Failed),
        _ => None,
    }
}

#[tracing::instrument(skip_all, fields(batch_id = %request.get_ref().batch_id))]
pub async fn import_payment_results(
    api: &SettlementApi,
    request: Request<pb::ImportPaymentResultsRequest>,
) -> Result<Response<pb::ImportPaymentResultsResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(FINANCE)?;
    let r = request.into_inner();
    let batch_id = validate::uuid("batch_id", &r.batch_id).map_err(|v| Error::from(Invalid::from(v)))?;
    let batch = store::batches::get(&api.pool, batch_id).await?.ok_or_else(|| Error::not_found("batch", batch_id))?;
    takes_payouts(batch_id, batch.status, "importing payment results")?;
    let text = std::str::from_utf8(&r.file).map_err(|_| Error::from(Invalid::field("file", "must be UTF-8 CSV")))?;
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_reader(text.trim_start_matches('\u{FEFF}').as_bytes());
    let header =
        reader.headers().map_err(|e| Error::from(Invalid::field("file", format!("unreadable header: {e}"))))?;
    let columns = Columns::find(header)?;

    let mut response = pb::ImportPaymentResultsResponse::default();
    for (index, record) in reader.records().enumerate() {
        if index >= MAX_IMPORT_ROWS {
            let rule = format!("has more than {MAX_IMPORT_ROWS} rows; split it into files of at most that many");
            return Err(Error::from(Invalid::field("file", rule)));
        }
        // Row 1 is the header.
        let row_number = i32::try_from(index + 2).unwrap_or(i32::MAX);
        let result = match record {
            Ok(record) => import_row(api, &caller, batch_id, &columns, &record).await,
            Err(e) => (String::new(), Err(Error::from(Invalid::field("row", format!("unreadable: {e}"))))),
        };
        let (line_id, outcome) = result;
        let (outcome, reason, message) = match outcome {
            Ok(true) => (pb::ImportRowOutcome::Recorded, String::new(), String::new()),
            Ok(false) => (pb::ImportRowOutcome::Unchanged, String::new(), String::new()),
            Err(err) => {
                let status = Status::from(err);
                let reason = match status.code() {
                    tonic::Code::InvalidArgument => xiaopu_api::reasons::INVALID_ROW.to_owned(),
                    _ => status_details(&status).0.unwrap_or_default(),
                };
                (pb::ImportRowOutcome::Refused, reason, status.message().to_owned())
            }
        };
        match outcome {
            pb::ImportRowOutcome::Recorded => response.recorded += 1,
            pb::ImportRowOutcome::Unchanged => response.unchanged += 1,
            _ => response.refused += 1,
        }
        response.rows.push(pb::ImportRowResult {
            row: row_number,
            batch_line_id: line_id,
            outcome: outcome.into(),
            reason,
            message,
        });
    }
    tracing::info!(%batch_id, recorded = response.recorded, unchanged = response.unchanged,
                   refused = response.refused, "payment results imported");
    response.batch = Some(super::batches::batch_message(api, batch_id).await?);
    Ok(Response::new(response))
}

/// One row: its line id, and whether it was recorded now.
async fn import_row(
    api: &SettlementApi,
    caller: &Caller,
    batch_id: Uuid,
    columns: &Columns,
    row: &csv::StringRecord,
) -> (String, Result<bool, Error>) {
    let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).unwrap_or_default().trim();
    let line = cell(Some(columns.line)).to_owned();
    let mut v = Violations::new();
    let line_id = v.check(validate::uuid("付款明细号 (batch_line_id)", &line));
    let outcome = outcome_of(cell(Some(columns.status)));
    if outcome.is_none() {
        v.add("结果 (status)", "must be 成功 or 失败 (paid or failed)");
    }
    let reference = match outcome {
        Some(LineStatus::Failed) => {
            v.check(validate::text("失败原因 (failure_reason)", cell(columns.reason), MAX_REFERENCE_CHARS, false))
        }
        _ => v.check(validate::text("银行流水号 (reference)", cell(columns.reference), MAX_REFERENCE_CHARS, false)),
    };
    let checked = v.finish_with(line_id.zip(outcome.zip(reference)));
    let result = match checked {
        Ok((line_id, (outcome, reference))) => {
            record(api, caller, line_id, outcome, reference, Some(batch_id)).await.map(|(_, changed)| changed)
        }
        Err(invalid) => Err(Error::from(invalid)),
    };
    (line, result)
}
