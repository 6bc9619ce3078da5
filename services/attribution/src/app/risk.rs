//! Risk rules at attribution: a line newly attributed to a promoter is looked at by
//! the rules (one statement for the batch) and held, with the rule named and the
//! evidence audited, when one matches; a refund that takes a promoter's refund rate
//! past the threshold flags them, which holds their next lines. Finance releases or
//! voids holds and clears flags (`api::risk`).
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::{
    domain::risk::{self, Rule, Rules, State},
    store::{self, lines::LineRow, risk::Candidate},
};

/// The orders of a batch by (buyer, promoter): when each was paid, and its id.
type BatchOrders = HashMap<(String, String), Vec<(DateTime<Utc>, String)>>;

/// Who a rule's decision is recorded as.
pub const RULE_ACTOR: &str = "attribution";

/// Whether any rule that looks at new lines is on (a raised flag holds regardless).
fn looks_at_lines(rules: &Rules) -> bool {
    rules.burst_orders > 0 || rules.fast_click > chrono::TimeDelta::zero() || rules.refund_rate_bps > 0
}

/// Looks at each line that is attributed now but was not to this promoter before
/// (`before` → `after`), and holds those a rule matches.
pub async fn assess<'a>(
    conn: &mut PgConnection,
    rules: &Rules,
    now: DateTime<Utc>,
    lines: impl IntoIterator<Item = (Option<&'a LineRow>, &'a mut LineRow)>,
) -> Result<(), sqlx::Error> {
    let mut fresh: Vec<&mut LineRow> = lines
        .into_iter()
        .filter(|(before, after)| {
            after.attributed
                && after.risk_state.is_none()
                && !before.is_some_and(|b| b.attributed && b.promoter_id == after.promoter_id)
        })
        .map(|(_, after)| after)
        .collect();
    if fresh.is_empty() || !looks_at_lines(rules) {
        return Ok(());
    }
    // What the rules look at, read before the lines are touched.
    let (stored, batch_orders) = {
        let candidates: Vec<Candidate<'_>> = fresh
            .iter()
            .filter_map(|l| {
                Some(Candidate {
                    line_id: &l.line_id,
                    order_id: &l.order_id,
                    buyer_id: &l.buyer_id,
                    promoter_id: l.promoter_id.as_deref()?,
                    paid_at: l.paid_at,
                })
            })
            .collect();
        let stored = store::risk::facts(conn, &candidates, rules.burst_window).await?;
        // Orders of this batch count too: each distinct order of the same buyer to the
        // same promoter within the window up to the line's payment.
        let mut batch_orders: BatchOrders = HashMap::new();
        for c in &candidates {
            batch_orders
                .entry((c.buyer_id.to_owned(), c.promoter_id.to_owned()))
                .or_default()
                .push((c.paid_at, c.order_id.to_owned()));
        }
        (stored, batch_orders)
    };
    let mut held = Vec::new();
    for line in fresh.iter_mut() {
        let (Some(promoter), Some(mut facts)) = (line.promoter_id.clone(), stored.get(&line.line_id).cloned()) else {
            continue;
        };
        let own: HashSet<&str> = batch_orders
            .get(&(line.buyer_id.clone(), promoter.clone()))
            .into_iter()
            .flatten()
            .filter(|(at, _)| *at > line.paid_at - rules.burst_window && *at <= line.paid_at)
            .map(|(_, order)| order.as_str())
            .collect();
        facts.orders_in_window += own.len() as i64;
        let Some((rule, evidence)) = risk::assess(&facts, rules) else { continue };
        line.risk_rule = Some(rule);
        line.risk_state = Some(State::Held);
        line.summary.push_str(&format!("; held for review ({}): {evidence}", rule.as_str()));
        held.push(store::risk::Decision {
            line_id: Some(line.line_id.clone()),
            promoter_id: promoter,
            action: "held",
            rule,
            actor: RULE_ACTOR.into(),
            note: evidence,
            decided_at: now,
        });
    }
    if !held.is_empty() {
        tracing::info!(lines = held.len(), "lines held by risk rules");
    }
    store::risk::audit(conn, &held).await
}

/// Flags each of `promoters` whose last lines' refund rate passed the threshold (once
/// until finance clears it).
pub async fn flag_refund_rates(
    conn: &mut PgConnection,
    rules: &Rules,
    now: DateTime<Utc>,
    mut promoters: Vec<String>,
) -> Result<(), sqlx::Error> {
    promoters.sort_unstable();
    promoters.dedup();
    if promoters.is_empty() || rules.refund_rate_bps == 0 {
        return Ok(());
    }
    let mut flagged = Vec::new();
    for (promoter, lines, paid, refunded) in store::risk::refund_samples(conn, &promoters, rules.refund_sample).await? {
        if !risk::refund_rate_flags(lines, paid, refunded, rules) {
            continue;
        }
        let note =
            format!("{refunded} of {paid} refunded over the last {lines} lines, above {} bps", rules.refund_rate_bps);
        if store::risk::raise_flag(conn, &promoter, Rule::RefundRate, &note, now).await? {
            tracing::warn!(promoter = %promoter, %note, "promoter flagged for refunds");
            flagged.push(store::risk::Decision {
                line_id: None,
                promoter_id: promoter,
                action: "flagged",
                rule: Rule::RefundRate,
                actor: RULE_ACTOR.into(),
                note,
                decided_at: now,
            });
        }
    }
    store::risk::audit(conn, &flagged).await
}
