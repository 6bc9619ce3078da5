//! Refunds: one that arrives before its payment waits as pending; each is checked
//! against its line's order, currency and what is left to refund.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tonic::Code;
use xiaopu_api::attribution::CommissionCause;
use xiaopu_common::feed::publish_all;

use super::{Batch, Outcome};
use crate::{
    app::{
        budgets,
        engine::{Cause, Engine, events, recompute},
        risk,
    },
    domain::line,
    store::{
        inputs::{self, StoredRefund},
        lines::{self, LineRow},
    },
};

pub(super) async fn apply_refunds(
    engine: &Engine,
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), sqlx::Error> {
    if batch.refunds.is_empty() {
        return Ok(());
    }
    let line_ids: Vec<&str> = batch.refunds.iter().map(|(_, r)| r.line_id.as_str()).collect();
    let owner: HashMap<String, String> = inputs::existing_lines(conn, &line_ids).await?.into_iter().collect();
    let mut storable = Vec::new();
    for (i, r) in &batch.refunds {
        match owner.get(&r.line_id) {
            Some(order) if *order != r.order_id => {
                outcomes.insert(
                    *i,
                    Outcome::rejected(
                        Code::InvalidArgument,
                        "refund.order_id",
                        format!("line {} belongs to order {order}, not {}", r.line_id, r.order_id),
                    ),
                );
            }
            _ => storable.push((*i, r)),
        }
    }
    let rows: Vec<StoredRefund> = storable.iter().map(|(_, r)| (*r).clone()).collect();
    let new: HashSet<String> = inputs::insert_refunds(conn, &rows, now).await?.into_iter().collect();
    // Retries of earlier refunds answer as the first delivery did.
    let old_ids: Vec<&str> =
        storable.iter().filter(|(_, r)| !new.contains(&r.event_id)).map(|(_, r)| r.event_id.as_str()).collect();
    let earlier: HashMap<String, (String, Option<String>)> = inputs::refund_statuses(conn, &old_ids)
        .await?
        .into_iter()
        .map(|(id, status, why)| (id, (status, why)))
        .collect();
    let mut to_apply: Vec<(usize, &StoredRefund)> = Vec::new();
    let mut taken = HashSet::new();
    for (i, r) in storable {
        if new.contains(&r.event_id) && taken.insert(r.event_id.as_str()) {
            if owner.contains_key(&r.line_id) {
                to_apply.push((i, r));
            } else {
                outcomes.insert(i, Outcome::Pending);
            }
        } else {
            let outcome = match earlier.get(&r.event_id) {
                Some((status, Some(why))) if status == "rejected" => {
                    Outcome::rejected(Code::FailedPrecondition, "refund.refunded_amount.minor_units", why.clone())
                }
                _ => Outcome::Duplicate,
            };
            outcomes.insert(i, outcome);
        }
    }
    if to_apply.is_empty() {
        return Ok(());
    }
    to_apply.sort_by(|a, b| (a.1.refunded_at, &a.1.event_id).cmp(&(b.1.refunded_at, &b.1.event_id)));
    let ids: Vec<String> =
        to_apply.iter().map(|(_, r)| r.line_id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let mut current: HashMap<String, LineRow> =
        lines::lock(conn, &ids).await?.into_iter().map(|row| (row.line_id.clone(), row)).collect();
    let before: HashMap<String, LineRow> = current.clone();
    let mut settled = Vec::new();
    let mut outgoing = Vec::new();
    for (i, refund) in to_apply {
        let Some(row) = current.get_mut(&refund.line_id) else { continue };
        let previous = row.clone();
        match refund_onto(row, refund) {
            Ok(()) => {
                row.updated_at = now;
                recompute(row);
                let cause = Cause { kind: CommissionCause::Refund, id: &refund.event_id, at: refund.refunded_at };
                outgoing.extend(events(Some(&previous), row, cause)?);
                settled.push((refund.event_id.clone(), None));
                outcomes.insert(i, Outcome::Applied);
            }
            Err(why) => {
                outcomes.insert(
                    i,
                    Outcome::rejected(Code::FailedPrecondition, "refund.refunded_amount.minor_units", why.clone()),
                );
                settled.push((refund.event_id.clone(), Some(why)));
            }
        }
    }
    // A refund only lowers commission (charging never refuses it): what it gives
    // back returns to the budgets.
    budgets::charge(conn, engine.zone, now, current.values_mut().map(|row| (before.get(&row.line_id), row))).await?;
    let promoters: Vec<String> =
        current.values().filter(|row| row.attributed).filter_map(|row| row.promoter_id.clone()).collect();
    let changed: Vec<LineRow> = current.into_values().filter(|row| before.get(&row.line_id) != Some(row)).collect();
    lines::update(conn, &changed).await?;
    // With the refunds written, a promoter's refund rate may now flag them.
    risk::flag_refund_rates(conn, &engine.risk, now, promoters).await?;
    inputs::settle_refunds(conn, &settled).await?;
    publish_all(conn, &outgoing).await
}

/// Adds a refund to a line if it is the line's order and currency and stays within
/// what was paid; otherwise why not.
pub(super) fn refund_onto(row: &mut LineRow, refund: &StoredRefund) -> Result<(), String> {
    if refund.order_id != row.order_id {
        return Err(format!("line {} belongs to order {}, not {}", row.line_id, row.order_id, refund.order_id));
    }
    if refund.currency != row.currency {
        return Err(format!("refund currency {} differs from the line's {}", refund.currency, row.currency));
    }
    let total = line::refund(row.paid_minor, row.refunded_minor, refund.amount_minor)
        .map_err(|over| format!("line {}: {over}", row.line_id))?;
    row.refunded_minor = total;
    Ok(())
}
