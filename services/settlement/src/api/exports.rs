//! Streamed exports: a batch's payout and detail files, and a period's order lines.
//! Rows are read in keyset chunks, so a million-line file holds one chunk in memory.
use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};
use uuid::Uuid;
use xiaopu_api::settlement as pb;
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::Invalid,
    validate,
};

use super::{
    Error, SettlementApi, csv,
    files::{self, Language, PayeeShown},
    payees, period,
};
use crate::{
    domain::batch::BatchStatus,
    store::{self, batches::LineRow},
};

const CSV_CHUNK: i64 = 5000;

fn to_status(e: impl Into<Error>) -> Status {
    Status::from(e.into())
}

fn is_payable(l: &LineRow) -> bool {
    l.status.is_payable()
}

#[tracing::instrument(skip_all, fields(batch_id = %request.get_ref().batch_id))]
pub async fn export_batch(
    api: &SettlementApi,
    request: Request<pb::ExportBatchRequest>,
) -> Result<Response<csv::CsvStream<pb::ExportBatchResponse>>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(super::batches::FINANCE)?;
    let r = request.get_ref();
    let id = validate::uuid("batch_id", &r.batch_id).map_err(|v| Error::from(Invalid::from(v)))?;
    let file = files::batch_file(r.file)?;
    let language = Language::parse(&r.language)?;
    let mut tx = api.pool.begin().await.map_err(to_status)?;
    let store::batches::Locked { status, approved_by: approver, .. } =
        store::batches::lock(&mut tx, id).await.map_err(to_status)?.ok_or_else(|| Error::not_found("batch", id))?;
    if status == BatchStatus::Draft {
        let status = status.as_str().to_owned();
        return Err(Error::BatchState { batch_id: id.to_string(), status, action: "export", wanted: "approved" });
    }
    store::batches::mark_exported(&mut tx, id, api.clock.now()).await.map_err(to_status)?;
    tx.commit().await.map_err(to_status)?;
    let zone = api.settings.zone();
    tracing::info!(batch_id = %id, file = file.as_str_name(), by = %caller.subject, "batch exported");

    let stream = match file {
        pb::BatchFile::Detail => {
            let header = files::header(files::DETAIL_COLUMNS, language, zone.name());
            let pool = api.pool.clone();
            csv::stream(header, move |cursor: Option<DetailCursor>| {
                let pool = pool.clone();
                async move {
                    match cursor.unwrap_or(DetailCursor::Lines(None)) {
                        DetailCursor::Lines(after) => {
                            let rows = store::batches::lines(&pool, id, after, CSV_CHUNK).await.map_err(to_status)?;
                            let out =
                                rows.iter().filter(|l| is_payable(l)).map(|l| files::line_rows(l, language)).collect();
                            let next = match rows.last() {
                                Some(l) if rows.len() as i64 == CSV_CHUNK => {
                                    DetailCursor::Lines(Some((l.promoter_id.clone(), l.currency.clone())))
                                }
                                _ => DetailCursor::OrderLines(None),
                            };
                            Ok((out, Some(next)))
                        }
                        DetailCursor::OrderLines(after) => {
                            let rows =
                                store::positions::of_batch(&pool, id, after, CSV_CHUNK).await.map_err(to_status)?;
                            let batch = id.to_string();
                            let out = rows.iter().map(|p| files::order_line_row(&batch, p, language, &zone)).collect();
                            let next = rows.last().filter(|_| rows.len() as i64 == CSV_CHUNK).map(|p| {
                                DetailCursor::OrderLines(Some((
                                    p.batch_line_id.unwrap_or_default(),
                                    p.line_id.clone(),
                                    p.promoter_id.clone(),
                                )))
                            });
                            Ok((out, next))
                        }
                    }
                }
            })
        }
        _ => {
            let header = files::header(files::PAYOUT_COLUMNS, language, zone.name());
            // The account in full only for the batch's approver: the one who sends it.
            let full = approver.as_deref() == Some(caller.subject.as_str());
            let api = api.clone();
            csv::stream(header, move |after: Option<(String, String)>| {
                let api = api.clone();
                async move {
                    let rows = store::batches::lines(&api.pool, id, after, CSV_CHUNK).await.map_err(to_status)?;
                    let payable: Vec<&LineRow> = rows.iter().filter(|l| is_payable(l)).collect();
                    let promoters: Vec<String> = payable.iter().map(|l| l.promoter_id.clone()).collect();
                    let profiles = store::payees::of(&api.pool, &promoters).await.map_err(to_status)?;
                    let mut out = String::new();
                    for l in payable {
                        let profile = profiles.iter().find(|p| p.promoter_id == l.promoter_id);
                        let shown = match profile {
                            Some(p) if full => PayeeShown::Full(p, payees::open(&api, p).map_err(to_status)?),
                            Some(p) => PayeeShown::Masked(p),
                            None => PayeeShown::Missing,
                        };
                        out.push_str(&files::payout_row(l, shown, language));
                    }
                    let next = rows
                        .last()
                        .filter(|_| rows.len() as i64 == CSV_CHUNK)
                        .map(|l| (l.promoter_id.clone(), l.currency.clone()));
                    Ok((out, next))
                }
            })
        }
    };
    Ok(Response::new(stream))
}

/// Where a detail file is: its payout lines' own amounts, then its order lines.
enum DetailCursor {
    Lines(Option<(String, String)>),
    OrderLines(Option<(Uuid, String, String)>),
}

#[tracing::instrument(skip_all)]
pub async fn export_period_report(
    api: &SettlementApi,
    request: Request<pb::ExportPeriodReportRequest>,
) -> Result<Response<csv::CsvStream<pb::ExportPeriodReportResponse>>, Error> {
    request.caller()?.require_role(&[Role::Finance, Role::Admin])?;
    let r = request.get_ref();
    let (from, to) = period(r.from.as_ref(), r.to.as_ref())?;
    let language = Language::parse(&r.language)?;
    let zone = api.settings.zone();
    let header = files::header(files::PERIOD_COLUMNS, language, zone.name());
    let pool = api.pool.clone();
    let stream = csv::stream(header, move |after: Option<(DateTime<Utc>, String, String)>| {
        let pool = pool.clone();
        async move {
            let rows = store::positions::paid_between(&pool, from, to, after, CSV_CHUNK).await.map_err(to_status)?;
            let out = rows.iter().map(|p| files::period_row(p, &zone)).collect();
            let next = rows
                .last()
                .filter(|_| rows.len() as i64 == CSV_CHUNK)
                .map(|p| (p.paid_at, p.line_id.clone(), p.promoter_id.clone()));
            Ok((out, next))
        }
    });
    Ok(Response::new(stream))
}
