//! A consumer's backlog: the events after its cursor, by key. A reader comparing the
//! producer's state with the consumer's (reconciliation) uses it to tell a change
//! still in flight from a real difference: a key with no event after the cursor has
//! nothing in flight.
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::position::Position;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub events: i64,
    pub keys: Vec<String>,
    /// More keys than asked for: `keys` is not all of them.
    pub truncated: bool,
    pub oldest: Option<DateTime<Utc>>,
}

/// Every event after `after` (of `topics`, or all), committed or not yet served:
/// served rows stop below the oldest running transaction, but a row above it is
/// just as much still to apply.
pub async fn read(pool: &PgPool, after: Position, topics: &[String], max_keys: i64) -> Result<Backlog, sqlx::Error> {
    let (events, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(occurred_at) FROM outbox
         WHERE (xid, seq) > ($1::text::xid8, $2) AND (cardinality($3::text[]) = 0 OR topic = ANY($3))",
    )
    .bind(after.xid.to_string())
    .bind(after.seq)
    .bind(topics)
    .fetch_one(pool)
    .await?;
    let mut keys: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT key FROM outbox
         WHERE (xid, seq) > ($1::text::xid8, $2) AND (cardinality($3::text[]) = 0 OR topic = ANY($3))
         LIMIT $4",
    )
    .bind(after.xid.to_string())
    .bind(after.seq)
    .bind(topics)
    .bind(max_keys + 1)
    .fetch_all(pool)
    .await?;
    let truncated = keys.len() as i64 > max_keys;
    keys.truncate(usize::try_from(max_keys).unwrap_or(usize::MAX));
    Ok(Backlog { events, keys, truncated, oldest })
}
