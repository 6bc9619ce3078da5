//! Clicks: stored once by event id; a click that arrives after the payment it led
//! to re-decides the buyer's lines it may change.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Batch, Outcome};
use crate::{
    app::engine::Engine,
    store::{
        inputs::{self, NewClick},
        lines,
    },
};

pub(super) async fn apply_clicks(
    engine: &Engine,
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), sqlx::Error> {
    if batch.clicks.is_empty() {
        return Ok(());
    }
    let clicks: Vec<NewClick> = batch.clicks.iter().map(|(_, c)| c.clone()).collect();
    let new: HashSet<String> = inputs::insert_clicks(conn, &clicks, now).await?.into_iter().collect();
    let mut visitors = Vec::new();
    let mut times = Vec::new();
    for (i, click) in &batch.clicks {
        if new.contains(&click.event_id) {
            visitors.push(click.visitor_id.clone());
            times.push(click.clicked_at);
            outcomes.insert(*i, Outcome::Applied);
        } else {
            outcomes.insert(*i, Outcome::Duplicate);
        }
    }
    // A click that arrives after the payment it led to: re-decide those lines.
    let late = lines::affected_by_clicks(conn, &visitors, &times).await?;
    if !late.is_empty() {
        let cause = format!("clicks:{}", batch.clicks.first().map(|(_, c)| c.event_id.as_str()).unwrap_or(""));
        engine.reevaluate(conn, late, &cause, now).await?;
    }
    Ok(())
}
