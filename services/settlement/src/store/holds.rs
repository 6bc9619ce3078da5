//! Fraud-review holds and manual adjustments.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoldRow {
    pub hold_id: Uuid,
    pub promoter_id: String,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    pub release_reason: Option<String>,
}

pub async fn active(db: impl PgExecutor<'_>, promoter_id: &str) -> Result<Option<HoldRow>, sqlx::Error> {
    sqlx::query_as!(HoldRow, "SELECT * FROM hold WHERE promoter_id = $1 AND released_at IS NULL", promoter_id)
        .fetch_optional(db)
        .await
}

/// Promoters on hold now.
pub async fn held(db: impl PgExecutor<'_>) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT promoter_id FROM hold WHERE released_at IS NULL ORDER BY promoter_id")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.promoter_id).collect())
}

pub async fn list(
    db: impl PgExecutor<'_>,
    include_released: bool,
    promoter: Option<&str>,
) -> Result<Vec<HoldRow>, sqlx::Error> {
    sqlx::query_as!(
        HoldRow,
        "SELECT * FROM hold WHERE ($1 OR released_at IS NULL) AND ($2::text IS NULL OR promoter_id = $2)
         ORDER BY placed_at DESC, hold_id DESC",
        include_released,
        promoter
    )
    .fetch_all(db)
    .await
}

/// Places a hold; None when the promoter is already held.
pub async fn place(conn: &mut PgConnection, h: &HoldRow) -> Result<Option<HoldRow>, sqlx::Error> {
    sqlx::query_as!(
        HoldRow,
        "INSERT INTO hold (hold_id, promoter_id, reason, placed_by, placed_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (promoter_id) WHERE released_at IS NULL DO NOTHING
         RETURNING *",
        h.hold_id,
        h.promoter_id,
        h.reason,
        h.placed_by,
        h.placed_at
    )
    .fetch_optional(conn)
    .await
}

pub async fn release(
    conn: &mut PgConnection,
    promoter_id: &str,
    by: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Option<HoldRow>, sqlx::Error> {
    sqlx::query_as!(
        HoldRow,
        "UPDATE hold SET released_by = $2, released_at = $3, release_reason = $4
         WHERE promoter_id = $1 AND released_at IS NULL RETURNING *",
        promoter_id,
        by,
        at,
        reason
    )
    .fetch_optional(conn)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AdjustmentRow {
    pub adjustment_id: Uuid,
    pub promoter_id: String,
    pub currency: String,
    pub amount: i64,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub request_id: String,
    pub journal_id: Uuid,
}

pub async fn adjustment_by_request(
    db: impl PgExecutor<'_>,
    by: &str,
    request_id: &str,
) -> Result<Option<AdjustmentRow>, sqlx::Error> {
    sqlx::query_as!(AdjustmentRow, "SELECT * FROM adjustment WHERE created_by = $1 AND request_id = $2", by, request_id)
        .fetch_optional(db)
        .await
}

pub async fn insert_adjustment(conn: &mut PgConnection, a: &AdjustmentRow) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO adjustment (adjustment_id, promoter_id, currency, amount, reason, created_by, created_at, request_id, journal_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        a.adjustment_id,
        a.promoter_id,
        a.currency,
        a.amount,
        a.reason,
        a.created_by,
        a.created_at,
        a.request_id,
        a.journal_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether settlement has ever heard of the promoter: a line, an adjustment, a
/// payout line or a payout profile.
pub async fn is_known(db: impl PgExecutor<'_>, promoter_id: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT (EXISTS (SELECT 1 FROM position WHERE promoter_id = $1)
                OR EXISTS (SELECT 1 FROM adjustment WHERE promoter_id = $1)
                OR EXISTS (SELECT 1 FROM batch_line WHERE promoter_id = $1)
                OR EXISTS (SELECT 1 FROM payout_profile WHERE promoter_id = $1)) AS "known!""#,
        promoter_id
    )
    .fetch_one(db)
    .await?;
    Ok(row.known)
}
