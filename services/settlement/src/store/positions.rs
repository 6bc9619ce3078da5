//! Each attributed line's commission per promoter and its stage.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{LineState, Stage};

xiaopu_common::text_enum_column!(Stage, "position.stage");
xiaopu_common::text_enum_column!(LineState, "position.line_state");

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Position {
    pub line_id: String,
    pub promoter_id: String,
    pub order_id: String,
    pub supplier_id: String,
    pub shop_id: String,
    pub product_id: String,
    pub currency: String,
    pub paid_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub line_state: LineState,
    pub commission: i64,
    pub fee_bps: i32,
    pub fee: i64,
    pub share: i64,
    pub stage: Stage,
    pub settleable_at: Option<DateTime<Utc>>,
    pub batch_line_id: Option<Uuid>,
    pub settled_share: Option<i64>,
    pub settled_fee: Option<i64>,
    pub updated_at: DateTime<Utc>,
    /// Held by a risk rule at attribution: not settleable until released.
    pub on_hold: bool,
}

/// A promoter's positions newest first, after the keyset (paid_at, line).
pub async fn of_promoter(
    db: impl PgExecutor<'_>,
    promoter_id: &str,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<Position>, sqlx::Error> {
    let (after_at, after_line) = after.unzip();
    sqlx::query_as!(
        Position,
        r#"SELECT line_id, promoter_id, order_id, supplier_id, shop_id, product_id, currency, paid_at, confirmed_at,
                  line_state AS "line_state: _",
                  commission, fee_bps, fee, share, stage AS "stage: _", settleable_at, batch_line_id, settled_share,
                  settled_fee, updated_at, on_hold
           FROM position WHERE promoter_id = $1
             AND ($2::timestamptz IS NULL OR (paid_at, line_id) < ($2, $3))
           ORDER BY paid_at DESC, line_id DESC LIMIT $4"#,
        promoter_id,
        after_at,
        after_line,
        limit
    )
    .fetch_all(db)
    .await
}

/// Every promoter's position on one order line.
pub async fn of_line(db: impl PgExecutor<'_>, line_id: &str) -> Result<Vec<Position>, sqlx::Error> {
    sqlx::query_as!(
        Position,
        r#"SELECT line_id, promoter_id, order_id, supplier_id, shop_id, product_id, currency, paid_at, confirmed_at,
                  line_state AS "line_state: _",
                  commission, fee_bps, fee, share, stage AS "stage: _", settleable_at, batch_line_id, settled_share,
                  settled_fee, updated_at, on_hold
           FROM position WHERE line_id = $1 ORDER BY promoter_id"#,
        line_id
    )
    .fetch_all(db)
    .await
}

pub async fn get_for_update(
    conn: &mut PgConnection,
    line_id: &str,
    promoter_id: &str,
) -> Result<Option<Position>, sqlx::Error> {
    sqlx::query_as!(
        Position,
        r#"SELECT line_id, promoter_id, order_id, supplier_id, shop_id, product_id, currency, paid_at, confirmed_at,
                  line_state AS "line_state: _",
                  commission, fee_bps, fee, share, stage AS "stage: _", settleable_at, batch_line_id, settled_share,
                  settled_fee, updated_at, on_hold
           FROM position WHERE line_id = $1 AND promoter_id = $2 FOR UPDATE"#,
        line_id,
        promoter_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn upsert(conn: &mut PgConnection, p: &Position) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO position (line_id, promoter_id, order_id, supplier_id, shop_id, product_id, currency, paid_at,
                               confirmed_at, line_state, commission, fee_bps, fee, share, stage, settleable_at,
                               batch_line_id, settled_share, settled_fee, updated_at, on_hold)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT (line_id, promoter_id) DO UPDATE SET
             confirmed_at = EXCLUDED.confirmed_at, line_state = EXCLUDED.line_state,
             commission = EXCLUDED.commission, fee = EXCLUDED.fee, share = EXCLUDED.share,
             updated_at = EXCLUDED.updated_at, on_hold = EXCLUDED.on_hold",
        p.line_id,
        p.promoter_id,
        p.order_id,
        p.supplier_id,
        p.shop_id,
        p.product_id,
        p.currency,
        p.paid_at,
        p.confirmed_at,
        p.line_state.as_str(),
        p.commission,
        p.fee_bps,
        p.fee,
        p.share,
        p.stage.as_str(),
        p.settleable_at,
        p.batch_line_id,
        p.settled_share,
        p.settled_fee,
        p.updated_at,
        p.on_hold
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One promoter's lines that became settleable in a sweep.
#[derive(Debug, Clone)]
pub struct Moved {
    pub promoter_id: String,
    pub currency: String,
    pub share: i64,
    pub fee: i64,
    pub lines: i64,
}

/// Moves confirmed lines past the hold to settleable (settleable from confirmation +
/// hold, the business time), leaving out lines a risk rule holds, returning the sums
/// moved per promoter. Row locks make concurrent sweeps move each line once.
pub async fn sweep(conn: &mut PgConnection, now: DateTime<Utc>, hold_seconds: f64) -> Result<Vec<Moved>, sqlx::Error> {
    sqlx::query_as!(
        Moved,
        r#"WITH moved AS (
               UPDATE position SET stage = 'settleable',
                                   settleable_at = confirmed_at + make_interval(secs => $2),
                                   updated_at = $1
               WHERE stage = 'estimated' AND confirmed_at IS NOT NULL
                 AND confirmed_at + make_interval(secs => $2) <= $1 AND commission > 0 AND NOT on_hold
               RETURNING promoter_id, currency, share, fee
           )
           SELECT promoter_id AS "promoter_id!", currency AS "currency!", sum(share)::bigint AS "share!",
                  sum(fee)::bigint AS "fee!", count(*) AS "lines!"
           FROM moved GROUP BY promoter_id, currency ORDER BY promoter_id, currency"#,
        now,
        hold_seconds
    )
    .fetch_all(conn)
    .await
}

/// Sums of settleable lines up to `to`, per promoter and currency, leaving out `held`.
#[derive(Debug, Clone)]
pub struct Settleable {
    pub promoter_id: String,
    pub currency: String,
    pub share: i64,
    pub fee: i64,
    pub lines: i64,
}

/// What each promoter (not held) has to settle in the period [from, to): the lines
/// that became settleable inside it, and those of earlier closed periods still
/// settleable (carried forward under the minimum, or held then). Lines in time no
/// period has closed yet wait for theirs.
pub async fn settleable_within(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    held: &[String],
) -> Result<Vec<Settleable>, sqlx::Error> {
    sqlx::query_as!(
        Settleable,
        r#"SELECT promoter_id AS "promoter_id!", currency AS "currency!", sum(share)::bigint AS "share!",
                  sum(fee)::bigint AS "fee!", count(*) AS "lines!"
           FROM position
           WHERE stage = 'settleable' AND settleable_at < $2 AND promoter_id <> ALL($3::text[])
             AND (settleable_at >= $1 OR EXISTS (
                   SELECT 1 FROM period p WHERE p.starts_at <= position.settleable_at AND position.settleable_at < p.ends_at))
           GROUP BY promoter_id, currency"#,
        from,
        to,
        held
    )
    .fetch_all(conn)
    .await
}

/// Settles the lines [`settleable_within`] counted, of each (promoter, currency),
/// into its batch line.
pub async fn settle(
    conn: &mut PgConnection,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    lines: &[(String, String, Uuid)],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let promoters: Vec<&str> = lines.iter().map(|(p, _, _)| p.as_str()).collect();
    let currencies: Vec<&str> = lines.iter().map(|(_, c, _)| c.as_str()).collect();
    let ids: Vec<Uuid> = lines.iter().map(|(_, _, id)| *id).collect();
    let done = sqlx::query!(
        "UPDATE position SET stage = 'settled', batch_line_id = m.line, settled_share = share, settled_fee = fee,
                             updated_at = $5
         FROM UNNEST($1::text[], $2::text[], $3::uuid[]) AS m(promoter, currency, line)
         WHERE position.promoter_id = m.promoter AND position.currency = m.currency
           AND position.stage = 'settleable' AND position.settleable_at < $4
           AND (position.settleable_at >= $6 OR EXISTS (
                 SELECT 1 FROM period p WHERE p.starts_at <= position.settleable_at AND position.settleable_at < p.ends_at))",
        &promoters as &[&str],
        &currencies as &[&str],
        &ids,
        to,
        now,
        from
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// One chunk of a batch's settled lines, in (batch line, line) order.
pub async fn of_batch(
    db: impl PgExecutor<'_>,
    batch_id: Uuid,
    after: Option<(Uuid, String, String)>,
    limit: i64,
) -> Result<Vec<Position>, sqlx::Error> {
    let (after_line, after_id, after_promoter) = match after {
        Some((l, i, p)) => (Some(l), Some(i), Some(p)),
        None => (None, None, None),
    };
    sqlx::query_as!(
        Position,
        r#"SELECT p.line_id, p.promoter_id, p.order_id, p.supplier_id, p.shop_id, p.product_id, p.currency, p.paid_at,
                  p.confirmed_at, p.line_state AS "line_state: _", p.commission, p.fee_bps, p.fee, p.share, p.stage AS "stage: _",
                  p.settleable_at, p.batch_line_id, p.settled_share, p.settled_fee, p.updated_at, p.on_hold
           FROM position p JOIN batch_line b ON b.batch_line_id = p.batch_line_id
           WHERE b.batch_id = $1
             AND ($2::uuid IS NULL OR (p.batch_line_id, p.line_id, p.promoter_id) > ($2, $3, $4))
           ORDER BY p.batch_line_id, p.line_id, p.promoter_id
           LIMIT $5"#,
        batch_id,
        after_line,
        after_id,
        after_promoter,
        limit
    )
    .fetch_all(db)
    .await
}

/// One chunk of the lines paid in [from, to), in (paid_at, line, promoter) order.
pub async fn paid_between(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<(DateTime<Utc>, String, String)>,
    limit: i64,
) -> Result<Vec<Position>, sqlx::Error> {
    let (after_time, after_id, after_promoter) = match after {
        Some((t, i, p)) => (Some(t), Some(i), Some(p)),
        None => (None, None, None),
    };
    sqlx::query_as!(
        Position,
        r#"SELECT line_id, promoter_id, order_id, supplier_id, shop_id, product_id, currency, paid_at, confirmed_at,
                  line_state AS "line_state: _",
                  commission, fee_bps, fee, share, stage AS "stage: _", settleable_at, batch_line_id, settled_share,
                  settled_fee, updated_at, on_hold
           FROM position
           WHERE paid_at >= $1 AND paid_at < $2
             AND ($3::timestamptz IS NULL OR (paid_at, line_id, promoter_id) > ($3, $4, $5))
           ORDER BY paid_at, line_id, promoter_id
           LIMIT $6"#,
        from,
        to,
        after_time,
        after_id,
        after_promoter,
        limit
    )
    .fetch_all(db)
    .await
}
