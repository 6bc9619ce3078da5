//! Closed periods: which exist, which one a new period would overlap, and where the
//! next one begins.
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::batch::BatchStatus;

/// The batch of the period [from, to), if that period was closed.
pub async fn of_period(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT b.batch_id FROM batch b JOIN period p ON p.period_id = b.period_id WHERE p.starts_at = $1 AND p.ends_at = $2",
        from,
        to
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.batch_id))
}

/// A closed period sharing time with [from, to), if any (the earliest).
pub async fn overlapping_period(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT starts_at, ends_at FROM period WHERE starts_at < $2 AND ends_at > $1 ORDER BY starts_at LIMIT 1",
        from,
        to
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.starts_at, r.ends_at)))
}

/// A closed period with its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodRow {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub closed_by: String,
    pub closed_at: DateTime<Utc>,
    pub batch_id: Uuid,
    pub status: BatchStatus,
}

/// Closed periods, latest first, after the keyset `after` (start, batch).
pub async fn periods(
    db: impl PgExecutor<'_>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<PeriodRow>, sqlx::Error> {
    let (after_start, after_batch) = after.unzip();
    sqlx::query_as!(
        PeriodRow,
        r#"SELECT p.starts_at, p.ends_at, p.closed_by, p.closed_at, b.batch_id, b.status AS "status: _"
         FROM period p JOIN batch b ON b.period_id = p.period_id
         WHERE $1::timestamptz IS NULL OR (p.starts_at, b.batch_id) < ($1, $2)
         ORDER BY p.starts_at DESC, b.batch_id DESC
         LIMIT $3"#,
        after_start,
        after_batch,
        limit
    )
    .fetch_all(db)
    .await
}

/// Where the next period begins: the end of the latest closed one.
pub async fn next_period_from(db: impl PgExecutor<'_>) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(sqlx::query!("SELECT max(ends_at) AS next_from FROM period").fetch_one(db).await?.next_from)
}
