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
    /// Set on a scheduled rate its supplier cancelled (kept in `cancelled_rate`).
    pub cancelled_at: Option<DateTime<Utc>>,
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
        r#"SELECT rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id,
                  NULL::timestamptz AS "cancelled_at?"
           FROM commission_rate WHERE set_by = $1 AND request_id = $2"#,
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
        r#"SELECT rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id,
                  NULL::timestamptz AS "cancelled_at?"
           FROM commission_rate WHERE product_id = $1 AND effective_from <= $2
           ORDER BY effective_from DESC LIMIT 1"#,
        product_id,
        at
    )
    .fetch_optional(db)
    .await
}

/// A product's rates, cancelled ones included, latest effective time first.
pub async fn list(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<RateRecord>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    sqlx::query_as!(
        RateRecord,
        r#"SELECT rate_id AS "rate_id!", product_id AS "product_id!", rate_bps AS "rate_bps!",
                  effective_from AS "effective_from!", set_by AS "set_by!", set_at AS "set_at!",
                  request_id AS "request_id!", cancelled_at
           FROM (
               SELECT rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id,
                      NULL::timestamptz AS cancelled_at
               FROM commission_rate WHERE product_id = $1
               UNION ALL
               SELECT rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id, cancelled_at
               FROM cancelled_rate WHERE product_id = $1
           ) history
           WHERE $2::timestamptz IS NULL OR (effective_from, rate_id) < ($2, $3)
           ORDER BY effective_from DESC, rate_id DESC
           LIMIT $4"#,
        product_id,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// A live (not cancelled) rate by id, locked for a change.
pub async fn lock(db: impl PgExecutor<'_>, rate_id: Uuid) -> Result<Option<RateRecord>, sqlx::Error> {
    sqlx::query_as!(
        RateRecord,
        r#"SELECT rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id,
                  NULL::timestamptz AS "cancelled_at?"
           FROM commission_rate WHERE rate_id = $1 FOR UPDATE"#,
        rate_id
    )
    .fetch_optional(db)
    .await
}

/// A cancelled rate by id.
pub async fn cancelled(db: impl PgExecutor<'_>, rate_id: Uuid) -> Result<Option<RateRecord>, sqlx::Error> {
    sqlx::query_as!(
        RateRecord,
        r#"SELECT rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id,
                  cancelled_at AS "cancelled_at?"
           FROM cancelled_rate WHERE rate_id = $1"#,
        rate_id
    )
    .fetch_optional(db)
    .await
}

/// Moves a scheduled rate into the cancelled history: from now on no lookup sees it.
pub async fn cancel(
    db: impl PgExecutor<'_>,
    rate_id: Uuid,
    cancelled_by: &str,
    at: DateTime<Utc>,
) -> Result<Option<RateRecord>, sqlx::Error> {
    sqlx::query_as!(
        RateRecord,
        r#"WITH gone AS (DELETE FROM commission_rate WHERE rate_id = $1 RETURNING *)
           INSERT INTO cancelled_rate
               (rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id, cancelled_by, cancelled_at)
           SELECT rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id, $2, $3 FROM gone
           RETURNING rate_id, product_id, rate_bps, effective_from, set_by, set_at, request_id,
                     cancelled_at AS "cancelled_at?""#,
        rate_id,
        cancelled_by,
        at
    )
    .fetch_optional(db)
    .await
}

/// The rate in force at `at` for each product (products without one are absent).
pub async fn current_of(
    db: impl PgExecutor<'_>,
    product_ids: &[Uuid],
    at: DateTime<Utc>,
) -> Result<Vec<(Uuid, i32)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT ids.product_id AS "product_id!", cr.rate_bps
           FROM UNNEST($1::uuid[]) AS ids(product_id)
           CROSS JOIN LATERAL (
               SELECT r.rate_bps FROM commission_rate r
               WHERE r.product_id = ids.product_id AND r.effective_from <= $2
               ORDER BY r.effective_from DESC LIMIT 1
           ) cr"#,
        product_ids,
        at
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.product_id, r.rate_bps)).collect())
}
