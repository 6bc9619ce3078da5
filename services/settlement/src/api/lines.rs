//! Order lines as the ledger holds them: a promoter's lines with where each one's
//! money is, and one line's whole money history — so a voided line paid last month
//! says it was paid and what is now owed back.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::settlement as pb;
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::Invalid,
    paging::{Page, next_page},
    time::to_timestamp,
    validate,
};

use super::{Error, SettlementApi, convert};
use crate::{
    domain::payout::LineStatus,
    store::{self, positions::Position, reports::JournalPosting},
};

const READERS: &[Role] = &[Role::Finance, Role::Admin];

/// Positions as messages, each with its payout line's batch and status.
async fn placed(api: &SettlementApi, positions: &[Position]) -> Result<Vec<pb::LinePosition>, Error> {
    let ids: Vec<Uuid> = positions.iter().filter_map(|p| p.batch_line_id).collect();
    let lines: BTreeMap<Uuid, (Uuid, LineStatus)> = store::batches::line_statuses(&api.pool, &ids)
        .await?
        .into_iter()
        .map(|(line, batch, status)| (line, (batch, status)))
        .collect();
    Ok(positions
        .iter()
        .map(|p| {
            let m = |v| convert::money(v, &p.currency);
            let batch = p.batch_line_id.and_then(|id| lines.get(&id));
            // As settled, less what it earns now: a refund after settlement is owed back.
            let owed_back = p.settled_share.map_or(0, |settled| (settled - p.share).max(0));
            pb::LinePosition {
                line_id: p.line_id.clone(),
                order_id: p.order_id.clone(),
                promoter_id: p.promoter_id.clone(),
                supplier_id: p.supplier_id.clone(),
                paid_at: Some(to_timestamp(p.paid_at)),
                stage: p.stage.as_str().to_owned(),
                commission: m(p.commission),
                service_fee: m(p.fee),
                share: m(p.share),
                settled_share: p.settled_share.and_then(m),
                batch_id: batch.map(|(b, _)| b.to_string()).unwrap_or_default(),
                batch_line_id: p.batch_line_id.map(|id| id.to_string()).unwrap_or_default(),
                batch_line_status: batch
                    .map_or(pb::BatchLineStatus::Unspecified, |(_, s)| convert::line_status(*s))
                    .into(),
                owed_back: m(owed_back),
            }
        })
        .collect())
}

#[tracing::instrument(skip_all, fields(promoter_id = %request.get_ref().promoter_id))]
pub async fn list_promoter_lines(
    api: &SettlementApi,
    request: Request<pb::ListPromoterLinesRequest>,
) -> Result<Response<pb::ListPromoterLinesResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter, Role::Finance, Role::Admin])?;
    let r = request.get_ref();
    let promoter = validate::id("promoter_id", &r.promoter_id).map_err(|v| Error::from(Invalid::from(v)))?;
    caller.require_owner(Role::Promoter, promoter, READERS)?;
    let page: Page<(DateTime<Utc>, String)> = Page::from_request(r.page_size, &r.page_token, 50, 500)?;
    let mut rows = store::positions::of_promoter(&api.pool, promoter, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |p| (p.paid_at, p.line_id.clone()));
    Ok(Response::new(pb::ListPromoterLinesResponse { lines: placed(api, &rows).await?, next_page_token }))
}

#[tracing::instrument(skip_all, fields(line_id = %request.get_ref().line_id))]
pub async fn get_line_ledger(
    api: &SettlementApi,
    request: Request<pb::GetLineLedgerRequest>,
) -> Result<Response<pb::GetLineLedgerResponse>, Error> {
    request.caller()?.require_role(READERS)?;
    let line_id = validate::id("line_id", &request.get_ref().line_id).map_err(|v| Error::from(Invalid::from(v)))?;
    let positions = store::positions::of_line(&api.pool, line_id).await?;
    let postings = store::reports::line_journals(&api.pool, line_id).await?;
    if positions.is_empty() && postings.is_empty() {
        return Err(Error::not_found("order line in the ledger", line_id));
    }
    Ok(Response::new(pb::GetLineLedgerResponse {
        positions: placed(api, &positions).await?,
        journals: journals(&postings),
    }))
}

/// Postings grouped into their journals, in order.
fn journals(postings: &[JournalPosting]) -> Vec<pb::Journal> {
    let mut out: Vec<pb::Journal> = Vec::new();
    for p in postings {
        if out.last().is_none_or(|j| j.journal_id != p.journal_id.to_string()) {
            out.push(pb::Journal {
                journal_id: p.journal_id.to_string(),
                kind: p.kind.as_str().to_owned(),
                occurred_at: Some(to_timestamp(p.occurred_at)),
                created_by: p.created_by.clone(),
                memo: p.memo.clone(),
                postings: Vec::new(),
            });
        }
        if let Some(journal) = out.last_mut() {
            journal.postings.push(pb::Posting {
                account: p.account.clone(),
                party: p.party.clone(),
                amount: convert::money(p.amount, &p.currency),
            });
        }
    }
    out
}
