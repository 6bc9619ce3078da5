//! Payments: each order paid once, its lines decided from the facts of the whole
//! batch in one query, with any confirmation and refunds that came first applied.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tonic::Code;
use xiaopu_api::attribution::CommissionCause;
use xiaopu_common::feed::publish_all;

use super::{Batch, Outcome, PaidOrder, refunds::refund_onto};
use crate::{
    app::{
        budgets,
        engine::{Cause, Engine, events, recompute},
        risk,
    },
    domain::{Reason, line::State},
    store::{
        inputs,
        lines::{self, LineRow},
    },
};

pub(super) async fn apply_orders(
    engine: &Engine,
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), sqlx::Error> {
    if batch.orders.is_empty() {
        return Ok(());
    }
    // A line id may belong to one order only, across batches and within this one.
    let line_ids: Vec<&str> =
        batch.orders.iter().flat_map(|(_, o)| o.lines.iter().map(|l| l.line_id.as_str())).collect();
    let mut owner: HashMap<String, String> = inputs::existing_lines(conn, &line_ids).await?.into_iter().collect();
    let mut accepted: Vec<&(usize, PaidOrder)> = Vec::new();
    for entry in &batch.orders {
        let (i, order) = entry;
        let clash = order.lines.iter().enumerate().find_map(|(j, l)| {
            owner.get(&l.line_id).filter(|o| **o != order.order.order_id).map(|o| (j, l, o.clone()))
        });
        if let Some((j, line, other)) = clash {
            outcomes.insert(
                *i,
                Outcome::rejected(
                    Code::InvalidArgument,
                    format!("order_paid.lines[{j}].line_id"),
                    format!("line {} already belongs to order {other}", line.line_id),
                ),
            );
            continue;
        }
        for line in &order.lines {
            owner.insert(line.line_id.clone(), order.order.order_id.clone());
        }
        accepted.push(entry);
    }
    let new_orders: Vec<inputs::NewOrder> = accepted.iter().map(|(_, o)| o.order.clone()).collect();
    let new: HashSet<String> = inputs::insert_orders(conn, &new_orders, now).await?.into_iter().collect();
    let mut fresh = Vec::new();
    for (i, order) in accepted {
        // Within one batch the same order twice: the first one is the payment.
        if new.contains(&order.order.order_id)
            && !fresh.iter().any(|o: &&PaidOrder| o.order.order_id == order.order.order_id)
        {
            outcomes.insert(*i, Outcome::Applied);
            fresh.push(order);
        } else {
            outcomes.insert(*i, Outcome::Duplicate);
        }
    }
    create_lines(engine, conn, &fresh, now).await
}

/// The lines of newly paid orders: decided, with any confirmation and refunds that
/// arrived before the payment applied, stored, and announced.
async fn create_lines(
    engine: &Engine,
    conn: &mut PgConnection,
    orders: &[&PaidOrder],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if orders.is_empty() {
        return Ok(());
    }
    let order_ids: Vec<&str> = orders.iter().map(|o| o.order.order_id.as_str()).collect();
    let confirmed: HashMap<String, DateTime<Utc>> =
        inputs::confirmations(conn, &order_ids).await?.into_iter().collect();
    let mut rows: Vec<LineRow> = orders
        .iter()
        .flat_map(|o| {
            let confirmed_at = confirmed.get(&o.order.order_id).copied();
            o.lines.iter().map(move |l| LineRow {
                line_id: l.line_id.clone(),
                order_id: o.order.order_id.clone(),
                buyer_id: o.order.buyer_id.clone(),
                paid_at: o.order.paid_at,
                order_code: o.order.share_code.clone(),
                product_id: l.product_id,
                supplier_id: l.supplier_id.clone(),
                quantity: l.quantity,
                currency: l.currency.clone(),
                paid_minor: l.paid_minor,
                refunded_minor: 0,
                confirmed_at,
                // Both set below, from the facts and the amounts, before the line is stored.
                state: State::Paid,
                attributed: false,
                reason: Reason::NoClick,
                summary: String::new(),
                promoter_id: None,
                shop_id: None,
                share_code: None,
                click_event_id: None,
                clicked_at: None,
                rate_id: None,
                rate_bps: None,
                base_rate_bps: None,
                group_id: None,
                group_rule_id: None,
                risk_rule: None,
                risk_state: None,
                commission_minor: 0,
                decided_at: now,
                updated_at: now,
            })
        })
        .collect();
    let facts = lines::facts(conn, &rows, &engine.rules).await?;
    for row in &mut rows {
        if let Some(f) = facts.get(&row.line_id) {
            engine.decide(row, f, now);
        }
    }
    // Refunds that came first wait as pending: apply them now, in time order.
    let ids: Vec<&str> = rows.iter().map(|r| r.line_id.as_str()).collect();
    let pending = inputs::pending_refunds(conn, &ids).await?;
    let mut index: HashMap<String, usize> = rows.iter().enumerate().map(|(i, r)| (r.line_id.clone(), i)).collect();
    let mut settled = Vec::new();
    for refund in pending {
        let Some(&i) = index.get(&refund.line_id) else { continue };
        settled.push((refund.event_id.clone(), refund_onto(&mut rows[i], &refund).err()));
    }
    index.clear();
    for row in &mut rows {
        recompute(row);
    }
    risk::assess(conn, &engine.risk, now, rows.iter_mut().map(|row| (None, row))).await?;
    budgets::charge(conn, engine.zone, now, rows.iter_mut().map(|row| (None, row))).await?;
    lines::insert(conn, &rows).await?;
    inputs::settle_refunds(conn, &settled).await?;
    let by_order: HashMap<&str, &PaidOrder> = orders.iter().map(|o| (o.order.order_id.as_str(), *o)).collect();
    let mut outgoing = Vec::new();
    for row in &rows {
        let event_id = by_order.get(row.order_id.as_str()).map_or("", |o| o.order.event_id.as_str());
        outgoing.extend(events(None, row, Cause { kind: CommissionCause::Payment, id: event_id, at: row.paid_at })?);
    }
    publish_all(conn, &outgoing).await
}
