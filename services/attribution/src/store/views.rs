//! What people read: a promoter's lines, one line, and a period's totals and lines.
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::lines::{LineRow, StoredLine, checked};

pub async fn line(db: impl PgExecutor<'_>, line_id: &str) -> Result<Option<LineRow>, sqlx::Error> {
    let row =
        sqlx::query_as!(StoredLine, "SELECT * FROM order_line WHERE line_id = $1", line_id).fetch_optional(db).await?;
    row.map(LineRow::try_from).transpose()
}

/// A promoter's attributed lines, newest payment first.
pub async fn promoter_lines(
    db: impl PgExecutor<'_>,
    promoter_id: &str,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<LineRow>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    let rows = sqlx::query_as!(
        StoredLine,
        "SELECT * FROM order_line
         WHERE attributed AND promoter_id = $1 AND ($2::timestamptz IS NULL OR (paid_at, line_id) < ($2, $3))
         ORDER BY paid_at DESC, line_id DESC
         LIMIT $4",
        promoter_id,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?;
    checked(rows)
}

/// Sums of one party's lines in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub party_id: String,
    pub state: String,
    pub currency: String,
    pub lines: i64,
    pub paid: i64,
    pub refunded: i64,
    pub commission: i64,
}

/// Attributed lines paid in [from, to), summed per promoter, state and currency.
pub async fn promoter_totals(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Totals>, sqlx::Error> {
    sqlx::query_as!(
        Totals,
        r#"SELECT promoter_id AS "party_id!", state, currency, count(*) AS "lines!",
                  sum(paid_minor)::bigint AS "paid!", sum(refunded_minor)::bigint AS "refunded!",
                  sum(commission_minor)::bigint AS "commission!"
           FROM order_line WHERE attributed AND paid_at >= $1 AND paid_at < $2
           GROUP BY promoter_id, state, currency ORDER BY 1, 2, 3"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// Attributed lines paid in [from, to), summed per supplier, state and currency.
pub async fn supplier_totals(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Totals>, sqlx::Error> {
    sqlx::query_as!(
        Totals,
        r#"SELECT supplier_id AS "party_id!", state, currency, count(*) AS "lines!",
                  sum(paid_minor)::bigint AS "paid!", sum(refunded_minor)::bigint AS "refunded!",
                  sum(commission_minor)::bigint AS "commission!"
           FROM order_line WHERE attributed AND paid_at >= $1 AND paid_at < $2
           GROUP BY supplier_id, state, currency ORDER BY 1, 2, 3"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

pub async fn unattributed_count(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "n!" FROM order_line WHERE NOT attributed AND paid_at >= $1 AND paid_at < $2"#,
        from,
        to
    )
    .fetch_one(db)
    .await?;
    Ok(row.n)
}

/// One chunk of the lines paid in [from, to), in (paid_at, line_id) order after `after`.
pub async fn period_lines(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    attributed_only: bool,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<LineRow>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    let rows = sqlx::query_as!(
        StoredLine,
        "SELECT * FROM order_line
         WHERE paid_at >= $1 AND paid_at < $2 AND (NOT $3 OR attributed)
           AND ($4::timestamptz IS NULL OR (paid_at, line_id) > ($4, $5))
         ORDER BY paid_at, line_id
         LIMIT $6",
        from,
        to,
        attributed_only,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?;
    checked(rows)
}

/// A supplier's attributed lines paid in [from, to), newest payment first (through
/// the supplier's products, so no index on every line is needed for it).
pub async fn supplier_lines(
    db: impl PgExecutor<'_>,
    supplier_id: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<LineRow>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    let rows = sqlx::query_as!(
        StoredLine,
        "SELECT * FROM order_line
         WHERE product_id IN (SELECT product_id FROM rm_product WHERE supplier_id = $1)
           AND supplier_id = $1 AND attributed AND paid_at >= $2 AND paid_at < $3
           AND ($4::timestamptz IS NULL OR (paid_at, line_id) < ($4, $5))
         ORDER BY paid_at DESC, line_id DESC
         LIMIT $6",
        supplier_id,
        from,
        to,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?;
    checked(rows)
}

/// One share link's figures in a period, in one currency (a link without sales has
/// one row with no currency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFigures {
    pub code: String,
    pub channel: String,
    pub product_id: Option<uuid::Uuid>,
    pub clicks: i64,
    pub currency: Option<String>,
    pub orders: i64,
    pub lines: i64,
    pub commission: i64,
}

/// Every link of a promoter's with its clicks, orders and commission in [from, to).
pub async fn link_figures(
    db: impl PgExecutor<'_>,
    promoter_id: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<LinkFigures>, sqlx::Error> {
    sqlx::query_as!(
        LinkFigures,
        r#"WITH links AS (SELECT code, channel, product_id FROM rm_share_link WHERE promoter_id = $1),
                clicks AS (
                    SELECT c.share_code, count(*) AS clicks FROM links
                    JOIN click c ON c.share_code = links.code AND c.clicked_at >= $2 AND c.clicked_at < $3
                    GROUP BY c.share_code),
                sales AS (
                    SELECT share_code, currency, count(DISTINCT order_id) AS orders, count(*) AS lines,
                           sum(commission_minor)::bigint AS commission
                    FROM order_line
                    WHERE attributed AND promoter_id = $1 AND paid_at >= $2 AND paid_at < $3
                    GROUP BY share_code, currency)
           SELECT l.code AS "code!", l.channel AS "channel!", l.product_id,
                  coalesce(c.clicks, 0) AS "clicks!", s.currency AS "currency?",
                  coalesce(s.orders, 0) AS "orders!", coalesce(s.lines, 0) AS "lines!",
                  coalesce(s.commission, 0)::bigint AS "commission!"
           FROM links l
           LEFT JOIN clicks c ON c.share_code = l.code
           LEFT JOIN sales s ON s.share_code = l.code
           ORDER BY l.code, s.currency"#,
        promoter_id,
        from,
        to
    )
    .fetch_all(db)
    .await
}
