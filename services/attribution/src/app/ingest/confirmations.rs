//! Confirmations of receipt: kept even before their order is paid, applied to the
//! order's lines once it is.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use xiaopu_api::attribution::CommissionCause;
use xiaopu_common::feed::publish_all;

use super::{Batch, Outcome};
use crate::{
    app::engine::{Cause, events, recompute},
    store::{
        inputs::{self, NewConfirmation},
        lines,
    },
};

pub(super) async fn apply_confirmations(
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), sqlx::Error> {
    if batch.confirmations.is_empty() {
        return Ok(());
    }
    let confirmations: Vec<NewConfirmation> = batch.confirmations.iter().map(|(_, c)| c.clone()).collect();
    let new: HashSet<String> = inputs::insert_confirmations(conn, &confirmations, now).await?.into_iter().collect();
    let new_orders: Vec<&str> = new.iter().map(String::as_str).collect();
    let paid: HashSet<String> = inputs::paid_orders(conn, &new_orders).await?.into_iter().collect();
    let mut applied: HashMap<&str, &NewConfirmation> = HashMap::new();
    for (i, c) in &batch.confirmations {
        let outcome = if !new.contains(&c.order_id) || applied.contains_key(c.order_id.as_str()) {
            Outcome::Duplicate
        } else if paid.contains(&c.order_id) {
            applied.insert(&c.order_id, c);
            Outcome::Applied
        } else {
            Outcome::Pending
        };
        outcomes.insert(*i, outcome);
    }
    if applied.is_empty() {
        return Ok(());
    }
    let orders: Vec<&str> = applied.keys().copied().collect();
    let ids = lines::of_orders(conn, &orders).await?;
    let before = lines::lock(conn, &ids).await?;
    let mut after = Vec::with_capacity(before.len());
    let mut outgoing = Vec::new();
    for old in &before {
        let Some(c) = applied.get(old.order_id.as_str()) else { continue };
        let mut row = old.clone();
        row.confirmed_at = Some(c.confirmed_at);
        row.updated_at = now;
        recompute(&mut row);
        outgoing.extend(events(
            Some(old),
            &row,
            Cause { kind: CommissionCause::Confirmation, id: &c.event_id, at: c.confirmed_at },
        )?);
        after.push(row);
    }
    lines::update(conn, &after).await?;
    publish_all(conn, &outgoing).await
}
