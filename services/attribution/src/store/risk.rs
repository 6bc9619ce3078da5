//! Risk: what the rules look at for a batch's new lines (one statement), promoters'
//! flags, the audit of every decision, and the held lines finance reviews.
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::lines::{LineRow, StoredLine, checked};
use crate::domain::risk::{Facts, Rule};

/// A line the rules look at: (line, order, buyer, promoter, paid at).
pub struct Candidate<'a> {
    pub line_id: &'a str,
    pub order_id: &'a str,
    pub buyer_id: &'a str,
    pub promoter_id: &'a str,
    pub paid_at: DateTime<Utc>,
}

/// Each candidate line's facts from what is stored: orders its buyer paid to its
/// promoter within `window` before it (leaving out the candidates' own orders, which
/// the caller counts), the buyer's first click, and whether the promoter is flagged.
pub async fn facts(
    conn: &mut PgConnection,
    candidates: &[Candidate<'_>],
    window: TimeDelta,
) -> Result<HashMap<String, Facts>, sqlx::Error> {
    let ids: Vec<&str> = candidates.iter().map(|c| c.line_id).collect();
    let buyers: Vec<&str> = candidates.iter().map(|c| c.buyer_id).collect();
    let promoters: Vec<&str> = candidates.iter().map(|c| c.promoter_id).collect();
    let times: Vec<DateTime<Utc>> = candidates.iter().map(|c| c.paid_at).collect();
    let own_orders: Vec<&str> = candidates.iter().map(|c| c.order_id).collect();
    let rows = sqlx::query!(
        r#"SELECT i.line_id AS "line_id!", i.paid_at AS "paid_at!",
                  (SELECT count(DISTINCT o.order_id) FROM order_line o
                    WHERE o.buyer_id = i.buyer_id AND o.promoter_id = i.promoter_id AND o.attributed
                      AND o.paid_at > i.paid_at - make_interval(secs => $6) AND o.paid_at <= i.paid_at
                      AND o.order_id <> ALL($5::text[])) AS "orders!",
                  (SELECT k.clicked_at FROM click k WHERE k.visitor_id = i.buyer_id
                    ORDER BY k.clicked_at LIMIT 1) AS "first_click_at?",
                  EXISTS (SELECT 1 FROM risk_flag f WHERE f.promoter_id = i.promoter_id AND f.cleared_at IS NULL)
                  AS "flagged!"
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS i(line_id, buyer_id, promoter_id, paid_at)"#,
        &ids as &[&str],
        &buyers as &[&str],
        &promoters as &[&str],
        &times,
        &own_orders as &[&str],
        window.as_seconds_f64()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let facts = Facts {
                paid_at: r.paid_at,
                orders_in_window: r.orders,
                first_click_at: r.first_click_at,
                promoter_flagged: r.flagged,
            };
            (r.line_id, facts)
        })
        .collect())
}

/// One audited decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub line_id: Option<String>,
    pub promoter_id: String,
    /// held, released, voided, flagged or cleared.
    pub action: &'static str,
    pub rule: Rule,
    pub actor: String,
    pub note: String,
    pub decided_at: DateTime<Utc>,
}

pub async fn audit(conn: &mut PgConnection, decisions: &[Decision]) -> Result<(), sqlx::Error> {
    if decisions.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = decisions.iter().map(|_| Uuid::now_v7()).collect();
    let lines: Vec<Option<String>> = decisions.iter().map(|d| d.line_id.clone()).collect();
    let promoters: Vec<&str> = decisions.iter().map(|d| d.promoter_id.as_str()).collect();
    let actions: Vec<&str> = decisions.iter().map(|d| d.action).collect();
    let rules: Vec<&str> = decisions.iter().map(|d| d.rule.as_str()).collect();
    let actors: Vec<&str> = decisions.iter().map(|d| d.actor.as_str()).collect();
    let notes: Vec<&str> = decisions.iter().map(|d| d.note.as_str()).collect();
    let times: Vec<DateTime<Utc>> = decisions.iter().map(|d| d.decided_at).collect();
    sqlx::query!(
        "INSERT INTO risk_decision (decision_id, line_id, promoter_id, action, rule, actor, note, decided_at)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::timestamptz[])",
        &ids,
        &lines as &[Option<String>],
        &promoters as &[&str],
        &actions as &[&str],
        &rules as &[&str],
        &actors as &[&str],
        &notes as &[&str],
        &times
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Each promoter's last `sample` attributed lines: (promoter, lines, paid, refunded).
pub async fn refund_samples(
    conn: &mut PgConnection,
    promoters: &[String],
    sample: i64,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT p.id AS "promoter_id!", count(*) AS "lines!",
                  coalesce(sum(s.paid_minor), 0)::bigint AS "paid!", coalesce(sum(s.refunded_minor), 0)::bigint AS "refunded!"
             FROM UNNEST($1::text[]) AS p(id)
             JOIN LATERAL (SELECT l.paid_minor, l.refunded_minor FROM order_line l
                            WHERE l.promoter_id = p.id AND l.attributed
                            ORDER BY l.paid_at DESC, l.line_id DESC LIMIT $2) s ON true
            GROUP BY p.id"#,
        promoters,
        sample
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.promoter_id, r.lines, r.paid, r.refunded)).collect())
}

/// Raises a flag unless one of the rule is open; true when raised.
pub async fn raise_flag(
    conn: &mut PgConnection,
    promoter_id: &str,
    rule: Rule,
    note: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO risk_flag (promoter_id, rule, note, raised_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (promoter_id, rule) WHERE cleared_at IS NULL DO NOTHING",
        promoter_id,
        rule.as_str(),
        note,
        at
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Clears an open flag; false when there was none.
pub async fn clear_flag(
    conn: &mut PgConnection,
    promoter_id: &str,
    rule: Rule,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE risk_flag SET cleared_at = $3 WHERE promoter_id = $1 AND rule = $2 AND cleared_at IS NULL",
        promoter_id,
        rule.as_str(),
        at
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An open flag.
pub struct FlagRow {
    pub promoter_id: String,
    pub rule: String,
    pub note: String,
    pub raised_at: DateTime<Utc>,
}

/// Open flags, newest first.
pub async fn open_flags(db: impl PgExecutor<'_>) -> Result<Vec<FlagRow>, sqlx::Error> {
    sqlx::query_as!(
        FlagRow,
        "SELECT promoter_id, rule, note, raised_at FROM risk_flag WHERE cleared_at IS NULL
          ORDER BY raised_at DESC LIMIT 500"
    )
    .fetch_all(db)
    .await
}

/// Lines in `state`, newest decision first, after the keyset.
pub async fn lines_in_state(
    db: impl PgExecutor<'_>,
    state: &str,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<LineRow>, sqlx::Error> {
    let (after_at, after_id) = after.unzip();
    let rows = sqlx::query_as!(
        StoredLine,
        "SELECT * FROM order_line
          WHERE risk_state = $1 AND ($2::timestamptz IS NULL OR (decided_at, line_id) < ($2, $3))
          ORDER BY decided_at DESC, line_id DESC LIMIT $4",
        state,
        after_at,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?;
    checked(rows)
}

/// A decision on a line, as recorded.
pub struct Recorded {
    pub line_id: String,
    pub action: String,
    pub rule: String,
    pub actor: String,
    pub note: String,
    pub decided_at: DateTime<Utc>,
}

/// The decisions on `lines`, oldest first.
pub async fn decisions_on(db: impl PgExecutor<'_>, lines: &[String]) -> Result<Vec<Recorded>, sqlx::Error> {
    sqlx::query_as!(
        Recorded,
        r#"SELECT line_id AS "line_id!", action, rule, actor, note, decided_at FROM risk_decision
            WHERE line_id = ANY($1) ORDER BY decided_at, decision_id"#,
        lines
    )
    .fetch_all(db)
    .await
}
