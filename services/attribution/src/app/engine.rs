//! Deciding lines and telling settlement: from facts to a line's decision, money and
//! state, and from the change between two versions of a line to the commission events
//! on the feed. Ingest, the storefront's feed and late clicks all go through here.
use chrono::{DateTime, Utc};
use uuid::Uuid;
use xiaopu_api::{
    attribution::{self as pb, CommissionCause, CommissionChanged},
    topics,
    types::Money,
};
use xiaopu_common::{
    feed::OutboxEvent,
    ids::PromoterId,
    time::{Zone, to_timestamp},
};
use xiaopu_money::{Bps, Minor};

use crate::{
    app::budgets,
    domain::{
        self, Facts, Rules,
        line::{self, Earning, State},
        risk,
    },
    store::lines::LineRow,
};

/// Namespace of the stable commission event ids (UUID v5).
const EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x8c1e_7d0a_4f6b_4a55_9d2c_3b4a_5e6f_7a8b);

#[derive(Debug, Clone, Copy)]
pub struct Engine {
    pub rules: Rules,
    /// Where a budget's month begins.
    pub zone: Zone,
    pub risk: risk::Rules,
}

impl Engine {
    /// Fills the line's decision from its facts, then its money and state.
    pub fn decide(&self, line: &mut LineRow, facts: &Facts, now: DateTime<Utc>) {
        let d = domain::decide(facts, &self.rules);
        let candidate = d.candidate.as_ref();
        // A risk hold is on the line for its promoter: another promoter starts afresh,
        // and a voided line stays voided for the same one.
        let same_promoter = line.promoter_id.as_deref() == candidate.map(|c| c.promoter_id.as_str());
        if !same_promoter {
            line.risk_rule = None;
            line.risk_state = None;
        } else if line.risk_state == Some(risk::State::Voided) && d.attributed() {
            return;
        }
        let changed = line.reason != d.reason
            || line.promoter_id.as_deref() != candidate.map(|c| c.promoter_id.as_str())
            || line.rate_id != d.rate.map(|r| r.rate_id)
            || line.group_rule_id != d.group.as_ref().map(|g| g.rule.rule_id)
            || line.click_event_id.as_deref() != d.click.as_ref().map(|c| c.event_id.as_str());
        if changed {
            line.decided_at = now;
        }
        line.attributed = d.attributed();
        line.reason = d.reason;
        line.summary = d.summary;
        line.promoter_id = candidate.map(|c| c.promoter_id.to_string());
        line.shop_id = candidate.map(|c| c.shop_id);
        line.share_code = d.code;
        line.click_event_id = d.click.as_ref().map(|c| c.event_id.clone());
        line.clicked_at = d.click.as_ref().map(|c| c.clicked_at);
        line.rate_id = d.rate.map(|r| r.rate_id);
        line.rate_bps = d.rate.map(|r| r.bps);
        line.base_rate_bps = d.group.as_ref().map(|g| g.base);
        line.group_id = d.group.as_ref().map(|g| g.group_id);
        line.group_rule_id = d.group.as_ref().map(|g| g.rule.rule_id);
        recompute(line);
    }
}

/// The line's state and commission from its amounts, receipt and decision.
pub fn recompute(line: &mut LineRow) {
    line.state = line::state(line.paid_minor, line.refunded_minor, line.confirmed_at.is_some());
    line.commission_minor = match (line.attributed, line.rate_bps) {
        (true, Some(rate)) => {
            line::commission(Minor::new(line.paid_minor), Minor::new(line.refunded_minor), rate).get()
        }
        _ => 0,
    };
}

/// What the line earns its promoter, if anyone.
pub fn earning(line: &LineRow) -> Result<Option<Earning>, sqlx::Error> {
    Ok(match (line.attributed, &line.promoter_id, line.shop_id) {
        (true, Some(promoter_id), Some(shop_id)) => Some(Earning {
            promoter_id: PromoterId::new(promoter_id),
            shop_id,
            commission: Minor::new(line.commission_minor),
            state: line.state,
            held: line.risk_state == Some(risk::State::Held),
        }),
        _ => None,
    })
}

/// Why a line changed, for the events it causes.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    pub kind: CommissionCause,
    /// The input event (or feed event) behind it: part of each event's stable id.
    pub id: &'a str,
    pub at: DateTime<Utc>,
}

/// The commission events between two versions of a line (none if nobody's
/// commission or state moved).
pub fn events(before: Option<&LineRow>, after: &LineRow, cause: Cause<'_>) -> Result<Vec<OutboxEvent>, sqlx::Error> {
    let money = |minor: Minor| Some(Money { minor_units: minor.get(), currency: after.currency.clone() });
    let earned_before = before.map(earning).transpose()?.flatten();
    Ok(line::changes(earned_before.as_ref(), earning(after)?.as_ref())
        .into_iter()
        .map(|change| {
            let event = CommissionChanged {
                line_id: after.line_id.clone(),
                order_id: after.order_id.clone(),
                promoter_id: change.promoter_id.to_string(),
                shop_id: change.shop_id.to_string(),
                supplier_id: after.supplier_id.clone(),
                product_id: after.product_id.to_string(),
                commission: money(change.current),
                previous_commission: money(change.previous),
                state: line_state(change.state).into(),
                rate_bps: after.rate_bps.map_or(0, Bps::get),
                paid_amount: money(Minor::new(after.paid_minor)),
                refunded_amount: money(Minor::new(after.refunded_minor)),
                paid_at: Some(to_timestamp(after.paid_at)),
                confirmed_at: after.confirmed_at.map(to_timestamp),
                cause: cause.kind.into(),
                occurred_at: Some(to_timestamp(cause.at)),
                on_hold: change.held,
                hold_rule: if change.held {
                    after.risk_rule.map(|r| r.as_str().to_owned()).unwrap_or_default()
                } else {
                    String::new()
                },
            };
            let id = Uuid::new_v5(
                &EVENT_NAMESPACE,
                format!("{}|{}|{}", after.line_id, change.promoter_id, cause.id).as_bytes(),
            );
            OutboxEvent::new(id, topics::COMMISSION, after.line_id.clone(), &event)
        })
        .collect())
}

pub fn line_state(state: State) -> pb::LineState {
    match state {
        State::Paid => pb::LineState::Paid,
        State::Received => pb::LineState::Received,
        State::Void => pb::LineState::Void,
    }
}

impl Engine {
    /// Re-decides `line_ids` from fresh facts (a late click, a read-model change):
    /// locks them, writes those that changed and publishes their commission events.
    pub async fn reevaluate(
        &self,
        conn: &mut sqlx::PgConnection,
        mut line_ids: Vec<String>,
        cause_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, sqlx::Error> {
        line_ids.sort();
        line_ids.dedup();
        if line_ids.is_empty() {
            return Ok(0);
        }
        let before = crate::store::lines::lock(&mut *conn, &line_ids).await?;
        let facts = crate::store::lines::facts(&mut *conn, &before, &self.rules).await?;
        let cause = Cause { kind: CommissionCause::Reattribution, id: cause_id, at: now };
        let mut decided: Vec<LineRow> = before.clone();
        for new in &mut decided {
            if let Some(f) = facts.get(&new.line_id) {
                self.decide(new, f, now);
            }
        }
        super::risk::assess(&mut *conn, &self.risk, now, before.iter().map(Some).zip(decided.iter_mut())).await?;
        budgets::charge(&mut *conn, self.zone, now, before.iter().map(Some).zip(decided.iter_mut())).await?;
        let mut changed = Vec::new();
        let mut outgoing = Vec::new();
        for (old, mut new) in before.iter().zip(decided) {
            if new != *old {
                new.updated_at = now;
                outgoing.extend(events(Some(old), &new, cause)?);
                changed.push(new);
            }
        }
        crate::store::lines::update(&mut *conn, &changed).await?;
        xiaopu_common::feed::publish_all(conn, &outgoing).await?;
        if !changed.is_empty() {
            tracing::info!(lines = changed.len(), cause = cause_id, "lines re-decided");
        }
        Ok(changed.len())
    }
}
