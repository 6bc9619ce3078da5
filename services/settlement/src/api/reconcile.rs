//! DOMAIN.md rule 8: for a period, attribution's lines against the ledger against
//! the batches, line by line — a zero net difference proves nothing. Both sides are
//! read in (paid_at, line) order and merged chunk by chunk, so a period of any size
//! is checked in constant memory. A line that differs only because attribution
//! changed it after the last event settlement applied is in flight, not a
//! discrepancy: it is told apart by the feed's backlog after settlement's cursor,
//! read once the comparison is done, so a change made during it is caught too.
use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tonic::{Request, Response, Streaming};
use xiaopu_api::{
    attribution::{OrderLine, StreamPeriodLinesRequest, StreamPeriodLinesResponse},
    feed::GetBacklogRequest,
    settlement as pb, topics,
};
use xiaopu_common::{
    auth::{CallerExt, Role},
    time::{from_timestamp, to_timestamp},
};

use super::{Error, SettlementApi, convert, period};
use crate::{
    domain::{
        payout::Statement,
        reconcile::{Finding, compare},
    },
    store::{self, positions::Position},
};

const CHUNK: i64 = 5000;
/// Discrepancies listed in full; beyond that they are only counted.
const MAX_LISTED: usize = 1000;
/// Line findings kept until the backlog says which are in flight; beyond that they
/// count as discrepancies (a lag that large is itself worth finance's attention).
const MAX_UNSETTLED: usize = 100_000;
/// The feed settlement follows attribution's commissions through.
const FEED: &str = "attribution";

/// Attribution's attributed lines of the period, one at a time.
struct AttributionLines {
    stream: Streaming<StreamPeriodLinesResponse>,
    buffer: VecDeque<OrderLine>,
}

impl AttributionLines {
    async fn next(&mut self) -> Result<Option<OrderLine>, Error> {
        while self.buffer.is_empty() {
            match self.stream.next().await {
                Some(chunk) => self.buffer.extend(chunk.map_err(Error::Upstream)?.lines),
                None => return Ok(None),
            }
        }
        Ok(self.buffer.pop_front())
    }
}

/// The ledger's positions of the period, one at a time.
struct LedgerLines<'a> {
    api: &'a SettlementApi,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    buffer: VecDeque<Position>,
    after: Option<(DateTime<Utc>, String, String)>,
    done: bool,
}

impl LedgerLines<'_> {
    async fn peek(&mut self) -> Result<Option<&Position>, Error> {
        if self.buffer.is_empty() && !self.done {
            let rows =
                store::positions::paid_between(&self.api.pool, self.from, self.to, self.after.take(), CHUNK).await?;
            self.done = (rows.len() as i64) < CHUNK;
            self.after = rows.last().map(|p| (p.paid_at, p.line_id.clone(), p.promoter_id.clone()));
            self.buffer.extend(rows);
        }
        Ok(self.buffer.front())
    }
}

struct Findings {
    listed: Vec<pb::Discrepancy>,
    total: usize,
    currency: String,
    /// Line findings not yet known to be real or in flight.
    unsettled: Vec<pb::Discrepancy>,
    in_flight: Vec<pb::Discrepancy>,
}

impl Findings {
    fn new(currency: String) -> Self {
        Self { listed: Vec::new(), total: 0, currency, unsettled: Vec::new(), in_flight: Vec::new() }
    }

    fn push(&mut self, d: pb::Discrepancy) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(d);
        }
    }

    /// Line findings of lines with events still to apply are in flight; the rest
    /// are discrepancies.
    fn separate(&mut self, in_flight: &BTreeSet<String>) {
        for d in std::mem::take(&mut self.unsettled) {
            if in_flight.contains(&d.line_id) {
                if self.in_flight.len() < MAX_LISTED {
                    self.in_flight.push(d);
                }
            } else {
                self.push(d);
            }
        }
    }

    fn line(&mut self, line_id: &str, finding: Finding) {
        let m = |v| convert::money(v, &self.currency);
        let d = match finding {
            Finding::MissingInLedger { promoter, expected } => pb::Discrepancy {
                kind: pb::DiscrepancyKind::MissingInLedger.into(),
                line_id: line_id.into(),
                description: format!(
                    "attribution credits {promoter} with {expected} on line {line_id}; the ledger has nothing"
                ),
                promoter_id: promoter,
                expected: m(expected),
                actual: m(0),
                ..Default::default()
            },
            Finding::MissingInAttribution { promoter, actual } => pb::Discrepancy {
                kind: pb::DiscrepancyKind::MissingInAttribution.into(),
                line_id: line_id.into(),
                description: format!(
                    "the ledger credits {promoter} with {actual} on line {line_id}; attribution does not"
                ),
                promoter_id: promoter,
                expected: m(0),
                actual: m(actual),
                ..Default::default()
            },
            Finding::Mismatch { promoter, expected, actual } => pb::Discrepancy {
                kind: pb::DiscrepancyKind::CommissionMismatch.into(),
                line_id: line_id.into(),
                description: format!(
                    "line {line_id} earns {promoter} {expected} in attribution but {actual} in the ledger"
                ),
                promoter_id: promoter,
                expected: m(expected),
                actual: m(actual),
                ..Default::default()
            },
        };
        if self.unsettled.len() < MAX_UNSETTLED { self.unsettled.push(d) } else { self.push(d) }
    }
}

#[tracing::instrument(skip_all)]
pub async fn reconcile(
    api: &SettlementApi,
    request: Request<pb::ReconcileRequest>,
) -> Result<Response<pb::ReconcileResponse>, Error> {
    request.caller()?.require_role(&[Role::Finance, Role::Admin])?;
    let r = request.get_ref();
    let (from, to) = period(r.from.as_ref(), r.to.as_ref())?;
    let currency = api.settings.currency.clone();
    let mut findings = Findings::new(currency.clone());
    // Every event up to this cursor is applied; anything after it may be in flight.
    let cursor = store::reports::feed_cursor(&api.pool, FEED).await?;

    let (total, _, _) = store::reports::ledger_totals(&api.pool).await?;
    if total != 0 {
        findings.push(pb::Discrepancy {
            kind: pb::DiscrepancyKind::LedgerUnbalanced.into(),
            actual: convert::money(total, &currency),
            expected: convert::money(0, &currency),
            description: format!("the ledger sums to {total}, not zero"),
            ..Default::default()
        });
    }
    let checked = compare_lines(api, from, to, &mut findings).await?;
    let backlog = GetBacklogRequest { after: cursor, topics: vec![topics::COMMISSION.into()], max_keys: 0 };
    let backlog = api.attribution_feed.clone().get_backlog(backlog).await.map_err(Error::Upstream)?.into_inner();
    findings.separate(&backlog.keys.into_iter().collect());
    let backlog_seconds = backlog
        .oldest_occurred_at
        .as_ref()
        .and_then(from_timestamp)
        .map_or(0, |oldest| (api.clock.now() - oldest).num_seconds().max(0));
    for (line, promoter, stored, actual) in store::reports::batch_mismatches(&api.pool, from, to).await? {
        findings.push(pb::Discrepancy {
            kind: pb::DiscrepancyKind::BatchMismatch.into(),
            batch_line_id: line.clone(),
            promoter_id: promoter,
            expected: convert::money(actual, &currency),
            actual: convert::money(stored, &currency),
            description: format!("payout line {line} does not equal the order lines it settled"),
            ..Default::default()
        });
    }

    let promoter_accounts = ["promoter_estimated", "promoter_settleable", "promoter_payable", "promoter_netting"];
    let promoters = store::reports::movements(&api.pool, &promoter_accounts, from, to).await?;
    let suppliers = store::reports::movements(&api.pool, &["supplier_charges"], from, to).await?;
    let statement = |party: &str, currency: &str, s: Statement| pb::StatementLine {
        party_id: party.to_owned(),
        opening: convert::money(s.opening, currency),
        earned: convert::money(s.earned, currency),
        reversed: convert::money(s.reversed, currency),
        paid: convert::money(s.paid, currency),
        closing: convert::money(s.closing, currency),
        balanced: s.balances(),
    };
    // A promoter's accounts hold what is owed to them (credits): their balance is the
    // negative sum. A supplier's account holds what they owe (debits).
    let promoters: Vec<pb::StatementLine> = promoters
        .iter()
        .map(|m| {
            let s = Statement {
                opening: -m.opening,
                earned: -m.credits,
                reversed: m.debits,
                paid: m.payouts,
                closing: -m.closing,
            };
            statement(&m.party, &m.currency, s)
        })
        .collect();
    let suppliers: Vec<pb::StatementLine> = suppliers
        .iter()
        .map(|m| {
            let s =
                Statement { opening: m.opening, earned: m.debits, reversed: -m.credits, paid: 0, closing: m.closing };
            statement(&m.party, &m.currency, s)
        })
        .collect();
    let clean = findings.total == 0 && promoters.iter().chain(&suppliers).all(|s| s.balanced);
    tracing::info!(%from, %to, lines = checked, discrepancies = findings.total, in_flight = findings.in_flight.len(),
                   backlog = backlog.events, clean, "reconciled");
    Ok(Response::new(pb::ReconcileResponse {
        promoters,
        suppliers,
        discrepancies: findings.listed,
        lines_checked: checked,
        clean,
        in_flight: findings.in_flight,
        backlog_events: backlog.events,
        backlog_seconds,
    }))
}

/// Merges attribution's lines with the ledger's positions, both in (paid_at, line)
/// order, and checks each line's postings; returns the number of lines compared.
async fn compare_lines(
    api: &SettlementApi,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    findings: &mut Findings,
) -> Result<i64, Error> {
    let request =
        StreamPeriodLinesRequest { from: Some(to_timestamp(from)), to: Some(to_timestamp(to)), attributed_only: true };
    let stream = api.attribution.clone().stream_period_lines(request).await.map_err(Error::Upstream)?.into_inner();
    let mut attribution = AttributionLines { stream, buffer: VecDeque::new() };
    let mut ledger = LedgerLines { api, from, to, buffer: VecDeque::new(), after: None, done: false };
    let mut next_attr = attribution.next().await?;
    let mut checked = 0;
    let mut pending_lines: Vec<(String, i64)> = Vec::new();
    loop {
        let attr_key = next_attr.as_ref().map(|l| (l.paid_at.as_ref().and_then(from_timestamp), l.line_id.clone()));
        let ledger_key = ledger.peek().await?.map(|p| (Some(p.paid_at), p.line_id.clone()));
        let key = match (attr_key, ledger_key) {
            (None, None) => break,
            (Some(a), None) => a,
            (None, Some(l)) => l,
            (Some(a), Some(l)) => a.min(l),
        };
        let mut positions: Vec<(String, i64)> = Vec::new();
        while let Some(p) = ledger.peek().await? {
            if (Some(p.paid_at), p.line_id.clone()) != key {
                break;
            }
            positions.push((p.promoter_id.clone(), p.commission));
            ledger.buffer.pop_front();
        }
        let attributed = match &next_attr {
            Some(l) if (l.paid_at.as_ref().and_then(from_timestamp), l.line_id.clone()) == key => {
                let found = (l.promoter_id.clone(), l.commission.as_ref().map_or(0, |c| c.minor_units));
                next_attr = attribution.next().await?;
                Some(found)
            }
            _ => None,
        };
        let ledger_view: Vec<(&str, i64)> = positions.iter().map(|(p, c)| (p.as_str(), *c)).collect();
        for finding in compare(attributed.as_ref().map(|(p, c)| (p.as_str(), *c)), &ledger_view) {
            findings.line(&key.1, finding);
        }
        if !positions.is_empty() {
            pending_lines.push((key.1.clone(), positions.iter().map(|(_, c)| c).sum()));
        }
        checked += 1;
        if pending_lines.len() as i64 >= CHUNK {
            check_postings(api, &mut pending_lines, findings).await?;
        }
    }
    check_postings(api, &mut pending_lines, findings).await?;
    Ok(checked)
}

/// Each line's commission journals must sum to zero, and charge the supplier exactly
/// the line's commission across its promoters.
async fn check_postings(
    api: &SettlementApi,
    lines: &mut Vec<(String, i64)>,
    findings: &mut Findings,
) -> Result<(), Error> {
    if lines.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = lines.iter().map(|(l, _)| l.clone()).collect();
    let postings = store::reports::line_postings(&api.pool, &ids).await?;
    for (line, commission) in lines.drain(..) {
        let (charged, total) = postings.iter().find(|(l, _, _)| *l == line).map_or((0, 0), |(_, c, t)| (*c, *t));
        if total != 0 || charged != commission {
            let currency = findings.currency.clone();
            findings.push(pb::Discrepancy {
                kind: pb::DiscrepancyKind::LineUnbalanced.into(),
                line_id: line.clone(),
                expected: convert::money(commission, &currency),
                actual: convert::money(charged, &currency),
                description: format!(
                    "line {line}: the supplier is charged {charged} for a commission of {commission}; its postings sum to {total}"
                ),
                ..Default::default()
            });
        }
    }
    Ok(())
}
