use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRecord {
    pub rate_id: Uuid,
    pub product_id: Uuid,
    pub rate_bps: i32,
    pub effective_from: DateTime<Utc>,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
    pub request_id: String,
}

/// Stores a rate; false when the supplier already used the request id. A second rate
/// at the same effective time is a unique violation (`commission_rate_effective_unique`).
pub async fn insert(db: impl PgExecutor<'_>, r: &RateRecord) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO commission_rate (rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT ON CONSTRAINT commission_rate_request_unique DO NOTHING",
        r.rate_id,
        r.product_id,
        r.rate_bps,
        r.effective_from,
        r.set_by,
        r.set_at,
        r.request_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_request(
    db: impl PgExecutor<'_>,
    set_by: &str,
    request_id: &str,
) -> Result<Option<RateRecord>, sqlx::Error> {
    sqlx::query_as!(
        RateRecord,
        "SELECT * FROM commission_rate WHERE set_by = $1 AND request_id = $2",
        set_by,
        request_id
    )
    .fetch_optional(db)
    .await
}

/// The rate in force for `product_id` at `at`: the latest effective at or before it.
pub async fn at(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<RateRecord>, sqlx::Error> {
    sqlx::query_as!(
        RateRecord,
        "SELECT * FROM commission_rate WHERE product_id = $1 AND effective_from <= $2
         ORDER BY effective_from DESC LIMIT 1",
        product_id,
        at
    )
    .fetch_optional(db)
    .await
}

/// A product's rates, latest effective time first.
pub async fn list(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<RateRecord>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    sqlx::query_as!(
        RateRecord,
        "SELECT * FROM commission_rate
         WHERE product_id = $1 AND ($2::timestamptz IS NULL OR (effective_from, rate_id) < ($2, $3))
         ORDER BY effective_from DESC, rate_id DESC
         LIMIT $4",
        product_id,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await
}
