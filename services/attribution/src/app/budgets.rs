//! Charging lines to suppliers' budgets, inside the transaction that moves them.
//! Every path that changes a line's commission (payment, refund, re-decision) passes
//! its lines through [`charge`] before writing them: a rise that a covering month has
//! no room for is refused (the line earns nothing, BUDGET_EXHAUSTED), a fall is given
//! back. Months are locked in a fixed order for the rest of the transaction, so
//! concurrent batches queue on a budget and none can spend past its cap.
use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;
use xiaopu_api::{
    attribution::{self as pb, BudgetAlert},
    topics,
    types::Money,
};
use xiaopu_common::{
    feed::{OutboxEvent, publish_all},
    time::{Zone, to_timestamp},
};
use xiaopu_money::Minor;

use crate::{
    domain::{
        Reason,
        budget::{self, Budget, Level},
    },
    store::{budgets as store, budgets::SpendRow, lines::LineRow},
};

/// Namespace of budget alert event ids (UUID v5 of budget, month and level).
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x3f9d_61b2_0c4e_4e8a_a5d7_92c1_6b3e_0f14);

/// A budget's month: (budget, `YYYY-MM`).
type MonthKey = (Uuid, String);

/// A line moving in commission, with the months covering it.
struct Move<'b, 'a> {
    before: Option<&'b LineRow>,
    after: &'a mut LineRow,
    months: Vec<MonthKey>,
}

/// What a line earned before this change, as budgets counted it.
fn counted(before: Option<&LineRow>) -> i64 {
    before.map_or(0, |b| b.commission_minor)
}

/// Whether a line refused for want of budget is decided the same way again (same
/// promoter and rate): it stays refused rather than trying the budget anew, so a
/// refusal does not come and go with every late fact.
fn still_refused(before: Option<&LineRow>, after: &LineRow) -> bool {
    before.is_some_and(|b| {
        b.reason == Reason::BudgetExhausted
            && after.attributed
            && b.promoter_id == after.promoter_id
            && b.rate_id == after.rate_id
            && b.rate_bps == after.rate_bps
    })
}

/// Turns the line's decision into a refusal: it names its promoter but earns nothing.
fn refuse(line: &mut LineRow, why: String, now: DateTime<Utc>) {
    line.attributed = false;
    line.reason = Reason::BudgetExhausted;
    line.summary = why;
    line.commission_minor = 0;
    line.decided_at = now;
}

/// Charges each line's move in commission (`before` → `after`) to the budgets that
/// cover it, refusing rises with no room, in payment order; then announces, once
/// each, a month's reaching 80 % and its being spent.
pub async fn charge<'a>(
    conn: &mut PgConnection,
    zone: Zone,
    now: DateTime<Utc>,
    lines: impl IntoIterator<Item = (Option<&'a LineRow>, &'a mut LineRow)>,
) -> Result<(), sqlx::Error> {
    let mut moving: Vec<(Option<&LineRow>, &mut LineRow)> = Vec::new();
    for (before, after) in lines {
        if still_refused(before, after) {
            if let Some(b) = before {
                refuse(after, b.summary.clone(), b.decided_at);
            }
        } else if after.commission_minor != counted(before) {
            moving.push((before, after));
        }
    }
    if moving.is_empty() {
        return Ok(());
    }
    store::announce_line_writes(conn).await?;
    let mut suppliers: Vec<String> = moving.iter().map(|(_, l)| l.supplier_id.clone()).collect();
    suppliers.sort_unstable();
    suppliers.dedup();
    let budgets = store::live_locked(conn, &suppliers).await?;
    if budgets.is_empty() {
        return Ok(());
    }
    // Each moving line with the months covering it.
    let covering = |line: &LineRow| -> Vec<MonthKey> {
        let month = zone.month_of(line.paid_at).label;
        budgets
            .iter()
            .filter(|b| b.covers(&line.supplier_id, line.product_id, &line.currency, &month))
            .map(|b| (b.budget_id, month.clone()))
            .collect()
    };
    let mut moves: Vec<Move<'_, '_>> = moving
        .into_iter()
        .filter_map(|(before, after)| {
            let months = covering(after);
            (!months.is_empty()).then_some(Move { before, after, months })
        })
        .collect();
    if moves.is_empty() {
        return Ok(());
    }
    moves.sort_by(|a, b| (a.after.paid_at, &a.after.line_id).cmp(&(b.after.paid_at, &b.after.line_id)));
    let keys: Vec<MonthKey> =
        moves.iter().flat_map(|m| m.months.iter().cloned()).collect::<HashSet<_>>().into_iter().collect();
    let mut months: BTreeMap<MonthKey, SpendRow> =
        store::spend_locked(conn, &keys).await?.into_iter().map(|r| ((r.budget_id, r.month.clone()), r)).collect();

    for Move { before, after, months: keys } in moves {
        let delta = Minor::new(after.commission_minor - counted(before));
        let mut spends: Vec<budget::Spend> = keys.iter().filter_map(|k| months.get(k).map(|r| r.spend)).collect();
        let mut refs: Vec<&mut budget::Spend> = spends.iter_mut().collect();
        if !budget::take(&mut refs, delta) {
            // No room: the line earns nothing and gives back what it counted.
            budget::take(&mut refs, Minor::new(-counted(before)));
            for s in refs {
                s.refused += 1;
            }
            let month = zone.month_of(after.paid_at).label;
            let why = format!(
                "{}; but the supplier's commission budget for {month} had less than its {} left, so it earns nothing",
                after.summary, after.commission_minor
            );
            refuse(after, why, now);
        }
        for (key, spend) in keys.iter().zip(spends) {
            if let Some(row) = months.get_mut(key) {
                row.spend = spend;
            }
        }
    }

    let by_id: BTreeMap<Uuid, &Budget> = budgets.iter().map(|b| (b.budget_id, b)).collect();
    let mut alerts = Vec::new();
    for row in months.values_mut() {
        let Some(budget) = by_id.get(&row.budget_id) else { continue };
        let is = row.spend.level();
        if is == Level::Exhausted && row.exhausted_at.is_none() {
            row.exhausted_at = Some(now);
            row.warned_at.get_or_insert(now);
            alerts.push(alert(budget, row, Level::Exhausted, now));
        } else if is == Level::Warning && row.warned_at.is_none() {
            row.warned_at = Some(now);
            alerts.push(alert(budget, row, Level::Warning, now));
        }
    }
    let rows: Vec<SpendRow> = months.into_values().collect();
    store::save_spend(conn, &rows).await?;
    if !alerts.is_empty() {
        tracing::info!(alerts = alerts.len(), "budget thresholds reached");
    }
    publish_all(conn, &alerts).await
}

pub fn level_message(level: Level) -> pb::BudgetStatus {
    match level {
        Level::Open => pb::BudgetStatus::Open,
        Level::Warning => pb::BudgetStatus::Warning,
        Level::Exhausted => pb::BudgetStatus::Exhausted,
    }
}

fn alert(budget: &Budget, row: &SpendRow, level: Level, now: DateTime<Utc>) -> OutboxEvent {
    let money = |m: Minor| Some(Money { minor_units: m.get(), currency: budget.currency.clone() });
    let event = BudgetAlert {
        budget_id: budget.budget_id.to_string(),
        supplier_id: budget.supplier_id.clone(),
        product_id: budget.product_id.map(|p| p.to_string()).unwrap_or_default(),
        month: row.month.clone(),
        level: level_message(level).into(),
        cap: money(row.spend.cap),
        spent: money(row.spend.spent),
        occurred_at: Some(to_timestamp(now)),
    };
    let id =
        Uuid::new_v5(&ALERT_NAMESPACE, format!("{}|{}|{}", budget.budget_id, row.month, level.as_str()).as_bytes());
    OutboxEvent::new(id, topics::BUDGET, budget.budget_id.to_string(), &event)
}
