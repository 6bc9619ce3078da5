//! Payout batches and their lines (the periods they pay are in `periods`).
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{batch::BatchStatus, payout::LineStatus};

xiaopu_common::text_enum_column!(BatchStatus, "batch.status");
xiaopu_common::text_enum_column!(LineStatus, "batch_line.status");

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchRow {
    pub batch_id: Uuid,
    pub period_from: DateTime<Utc>,
    pub period_to: DateTime<Utc>,
    pub status: BatchStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub exported_at: Option<DateTime<Utc>>,
    pub held_promoters: Vec<String>,
    pub payable_lines: i64,
    pub payable_total: i64,
    pub carried_forward_lines: i64,
    pub paid_lines: i64,
    pub failed_lines: i64,
    pub held_lines: i64,
    pub withheld_total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LineRow {
    pub batch_line_id: Uuid,
    pub batch_id: Uuid,
    pub promoter_id: String,
    pub currency: String,
    pub status: LineStatus,
    pub settled_share: i64,
    pub service_fee: i64,
    pub reissued: i64,
    pub clawback_netted: i64,
    pub amount: i64,
    pub order_lines: i32,
    pub payment_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub recorded_by: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub reissued_in: Option<Uuid>,
    pub withheld: i64,
    pub hold_reason: Option<String>,
}

pub async fn get(db: impl PgExecutor<'_>, batch_id: Uuid) -> Result<Option<BatchRow>, sqlx::Error> {
    let only = BatchFilter { batch_id: Some(batch_id), ..BatchFilter::default() };
    Ok(list(db, &only, None, 1).await?.pop())
}

/// Which batches a list shows.
#[derive(Debug, Clone, Default)]
pub struct BatchFilter {
    pub status: Option<String>,
    /// The period starts at or after this…
    pub period_from: Option<DateTime<Utc>>,
    /// …and before this.
    pub period_to: Option<DateTime<Utc>>,
    /// Only this batch.
    pub batch_id: Option<Uuid>,
}

/// Batches newest first, with their lines counted and summed: the page is chosen
/// first, so only its batches' lines are read.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &BatchFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<BatchRow>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    sqlx::query_as!(
        BatchRow,
        r#"WITH page AS MATERIALIZED (
               SELECT b.batch_id FROM batch b JOIN period p ON p.period_id = b.period_id
               WHERE ($1::timestamptz IS NULL OR (b.created_at, b.batch_id) < ($1, $2))
                 AND ($4::text IS NULL OR b.status = $4)
                 AND ($5::timestamptz IS NULL OR p.starts_at >= $5)
                 AND ($6::timestamptz IS NULL OR p.starts_at < $6)
                 AND ($7::uuid IS NULL OR b.batch_id = $7)
               ORDER BY b.created_at DESC, b.batch_id DESC LIMIT $3
           )
           SELECT b.batch_id, p.starts_at AS period_from, p.ends_at AS period_to, b.status AS "status: _", b.created_by,
                  b.created_at,
                  b.approved_by, b.approved_at, b.exported_at, b.held_promoters,
                  count(l.*) FILTER (WHERE l.status IN ('pending', 'paid', 'failed')) AS "payable_lines!",
                  COALESCE(sum(l.amount) FILTER (WHERE l.status IN ('pending', 'paid', 'failed')), 0)::bigint AS "payable_total!",
                  count(l.*) FILTER (WHERE l.status = 'carried_forward') AS "carried_forward_lines!",
                  count(l.*) FILTER (WHERE l.status = 'paid') AS "paid_lines!",
                  count(l.*) FILTER (WHERE l.status = 'failed') AS "failed_lines!",
                  count(l.*) FILTER (WHERE l.status = 'held') AS "held_lines!",
                  COALESCE(sum(l.withheld), 0)::bigint AS "withheld_total!"
           FROM page JOIN batch b ON b.batch_id = page.batch_id JOIN period p ON p.period_id = b.period_id
           LEFT JOIN batch_line l ON l.batch_id = b.batch_id
           GROUP BY b.batch_id, p.starts_at, p.ends_at
           ORDER BY b.created_at DESC, b.batch_id DESC"#,
        after_time,
        after_id,
        limit,
        filter.status,
        filter.period_from,
        filter.period_to,
        filter.batch_id
    )
    .fetch_all(db)
    .await
}

/// How many of a batch's payable lines are still pending, and how many failed.
pub async fn payable_outcomes(conn: &mut PgConnection, batch_id: Uuid) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status = 'pending') AS "pending!",
                  count(*) FILTER (WHERE status = 'failed') AS "failed!"
           FROM batch_line WHERE batch_id = $1"#,
        batch_id
    )
    .fetch_one(conn)
    .await?;
    Ok((row.pending, row.failed))
}

pub async fn set_status(conn: &mut PgConnection, batch_id: Uuid, status: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE batch SET status = $2 WHERE batch_id = $1", batch_id, status).execute(conn).await?;
    Ok(())
}

pub async fn insert(
    conn: &mut PgConnection,
    batch_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by: &str,
    held: &[String],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let period_id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO period (period_id, starts_at, ends_at, closed_by, closed_at) VALUES ($1, $2, $3, $4, $5)",
        period_id,
        from,
        to,
        by,
        now
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO batch (batch_id, period_id, status, created_by, created_at, held_promoters)
         VALUES ($1, $2, 'draft', $3, $4, $5)",
        batch_id,
        period_id,
        by,
        now,
        held
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_lines(conn: &mut PgConnection, lines: &[LineRow]) -> Result<(), sqlx::Error> {
    if lines.is_empty() {
        return Ok(());
    }
    macro_rules! column {
        ($f:ident) => {
            lines.iter().map(|l| l.$f.clone()).collect::<Vec<_>>()
        };
    }
    sqlx::query!(
        "INSERT INTO batch_line (batch_line_id, batch_id, promoter_id, currency, status, settled_share, service_fee,
                                 reissued, clawback_netted, amount, order_lines, withheld, hold_reason)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                              $8::bigint[], $9::bigint[], $10::bigint[], $11::int[], $12::bigint[], $13::text[])",
        &column!(batch_line_id),
        &column!(batch_id),
        &column!(promoter_id),
        &column!(currency),
        &lines.iter().map(|l| l.status.as_str()).collect::<Vec<_>>() as &[&str],
        &column!(settled_share),
        &column!(service_fee),
        &column!(reissued),
        &column!(clawback_netted),
        &column!(amount),
        &column!(order_lines),
        &column!(withheld),
        &column!(hold_reason) as &[Option<String>]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A promoter's failed payouts not yet issued again, per currency, leaving out `held`.
pub async fn to_reissue(
    conn: &mut PgConnection,
    held: &[String],
) -> Result<Vec<(String, String, i64, Vec<Uuid>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT promoter_id, currency, sum(amount)::bigint AS "amount!", array_agg(batch_line_id) AS "lines!"
           FROM batch_line WHERE status = 'failed' AND reissued_in IS NULL AND promoter_id <> ALL($1::text[])
           GROUP BY promoter_id, currency"#,
        held
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.promoter_id, r.currency, r.amount, r.lines)).collect())
}

pub async fn mark_reissued(conn: &mut PgConnection, failed: &[Uuid], by: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE batch_line SET reissued_in = m.by FROM UNNEST($1::uuid[], $2::uuid[]) AS m(line, by)
         WHERE batch_line.batch_line_id = m.line",
        failed,
        by
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The batch and status of each of `lines`.
pub async fn line_statuses(
    db: impl PgExecutor<'_>,
    lines: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, LineStatus)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT batch_line_id, batch_id, status AS "status: LineStatus" FROM batch_line
           WHERE batch_line_id = ANY($1::uuid[])"#,
        lines
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.batch_line_id, r.batch_id, r.status)).collect())
}

/// Status and approval, locked for the change.
/// A batch's status and who created and approved it, as locked for a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub status: BatchStatus,
    pub created_by: String,
    pub approved_by: Option<String>,
}

pub async fn lock(conn: &mut PgConnection, batch_id: Uuid) -> Result<Option<Locked>, sqlx::Error> {
    sqlx::query_as!(
        Locked,
        r#"SELECT status AS "status: _", created_by, approved_by FROM batch WHERE batch_id = $1 FOR UPDATE"#,
        batch_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn approve(conn: &mut PgConnection, batch_id: Uuid, by: &str, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE batch SET status = 'approved', approved_by = $2, approved_at = $3 WHERE batch_id = $1",
        batch_id,
        by,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_exported(conn: &mut PgConnection, batch_id: Uuid, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        // Exporting again (a re-download) keeps a paid or partially paid status.
        "UPDATE batch SET status = CASE WHEN status = 'approved' THEN 'exported' ELSE status END,
                          exported_at = COALESCE(exported_at, $2)
         WHERE batch_id = $1",
        batch_id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn lines(
    db: impl PgExecutor<'_>,
    batch_id: Uuid,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<LineRow>, sqlx::Error> {
    let (after_promoter, after_currency) = after.unzip();
    sqlx::query_as!(
        LineRow,
        r#"SELECT batch_line_id, batch_id, promoter_id, currency, status AS "status: _", settled_share, service_fee, reissued,
                  clawback_netted, amount, order_lines, payment_reference, failure_reason, recorded_by, recorded_at,
                  reissued_in, withheld, hold_reason
           FROM batch_line WHERE batch_id = $1 AND ($2::text IS NULL OR (promoter_id, currency) > ($2, $3))
           ORDER BY promoter_id, currency LIMIT $4"#,
        batch_id,
        after_promoter,
        after_currency,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn line_for_update(
    conn: &mut PgConnection,
    line_id: Uuid,
) -> Result<Option<(LineRow, BatchStatus)>, sqlx::Error> {
    let line = sqlx::query_as!(
        LineRow,
        r#"SELECT batch_line_id, batch_id, promoter_id, currency, status AS "status: _", settled_share, service_fee, reissued,
                  clawback_netted, amount, order_lines, payment_reference, failure_reason, recorded_by, recorded_at,
                  reissued_in, withheld, hold_reason
           FROM batch_line WHERE batch_line_id = $1 FOR UPDATE"#,
        line_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(line) = line else { return Ok(None) };
    let status =
        sqlx::query_scalar!(r#"SELECT status AS "status: BatchStatus" FROM batch WHERE batch_id = $1"#, line.batch_id)
            .fetch_one(conn)
            .await?;
    Ok(Some((line, status)))
}

pub async fn record_outcome(
    conn: &mut PgConnection,
    line_id: Uuid,
    status: &str,
    reference: Option<&str>,
    failure: Option<&str>,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE batch_line SET status = $2, payment_reference = $3, failure_reason = $4, recorded_by = $5, recorded_at = $6
         WHERE batch_line_id = $1",
        line_id,
        status,
        reference,
        failure,
        by,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A promoter's payout lines with their batch's period, newest first.
pub async fn of_promoter(
    db: impl PgExecutor<'_>,
    promoter_id: &str,
    limit: i64,
) -> Result<Vec<(LineRow, DateTime<Utc>, DateTime<Utc>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT l.batch_line_id, l.batch_id, l.promoter_id, l.currency, l.status AS "status: LineStatus",
                  l.settled_share, l.service_fee,
                  l.reissued, l.clawback_netted, l.amount, l.order_lines, l.payment_reference, l.failure_reason,
                  l.recorded_by, l.recorded_at, l.reissued_in, l.withheld, l.hold_reason, p.starts_at, p.ends_at
           FROM batch_line l JOIN batch b ON b.batch_id = l.batch_id JOIN period p ON p.period_id = b.period_id
           WHERE l.promoter_id = $1 ORDER BY b.created_at DESC LIMIT $2"#,
        promoter_id,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                LineRow {
                    batch_line_id: r.batch_line_id,
                    batch_id: r.batch_id,
                    promoter_id: r.promoter_id,
                    currency: r.currency,
                    status: r.status,
                    settled_share: r.settled_share,
                    service_fee: r.service_fee,
                    reissued: r.reissued,
                    clawback_netted: r.clawback_netted,
                    amount: r.amount,
                    order_lines: r.order_lines,
                    payment_reference: r.payment_reference,
                    failure_reason: r.failure_reason,
                    recorded_by: r.recorded_by,
                    recorded_at: r.recorded_at,
                    reissued_in: r.reissued_in,
                    withheld: r.withheld,
                    hold_reason: r.hold_reason,
                },
                r.starts_at,
                r.ends_at,
            )
        })
        .collect())
}
