//! The eligibility database: scores, decisions and the current status per person.
//! Functions take any executor so they run inside the caller's transaction.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{Evidence, Reason, Rule, Status, Verdict};

/// A credit score as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreRecord {
    pub score_id: Uuid,
    pub person_id: String,
    pub evidence: Evidence,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
    pub request_id: String,
}

/// A decision as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    pub decision_id: Uuid,
    pub person_id: String,
    pub trigger_score_id: Uuid,
    pub score_id: Uuid,
    pub evidence: Evidence,
    pub verdict: Verdict,
    pub rule: Rule,
    pub previous_status: Status,
    pub status: Status,
    pub decided_at: DateTime<Utc>,
}

/// A person's current status and the latest evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoterRecord {
    pub person_id: String,
    pub status: Status,
    pub status_since: DateTime<Utc>,
    pub latest_score_id: Uuid,
    pub latest: Evidence,
    pub latest_decision_id: Uuid,
    pub updated_at: DateTime<Utc>,
}

fn status(value: &str) -> Result<Status, sqlx::Error> {
    Status::parse(value).ok_or_else(|| xiaopu_common::db::unknown_value("status", value))
}

/// Serialises every change to one person's status (held until the transaction ends).
pub async fn lock_person(conn: &mut PgConnection, person_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", person_id).execute(conn).await?;
    Ok(())
}

struct ScoreRow {
    score_id: Uuid,
    person_id: String,
    score: i32,
    source: String,
    observed_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    recorded_by: String,
    request_id: String,
}

impl From<ScoreRow> for ScoreRecord {
    fn from(r: ScoreRow) -> Self {
        ScoreRecord {
            score_id: r.score_id,
            person_id: r.person_id,
            evidence: Evidence { score: r.score, source: r.source, observed_at: r.observed_at },
            recorded_at: r.recorded_at,
            recorded_by: r.recorded_by,
            request_id: r.request_id,
        }
    }
}

/// The score a caller recorded under `request_id`, if any.
pub async fn score_by_request(
    db: impl PgExecutor<'_>,
    recorded_by: &str,
    request_id: &str,
) -> Result<Option<ScoreRecord>, sqlx::Error> {
    let row = sqlx::query_as!(
        ScoreRow,
        "SELECT score_id, person_id, score, source, observed_at, recorded_at, recorded_by, request_id
         FROM credit_score WHERE recorded_by = $1 AND request_id = $2",
        recorded_by,
        request_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// Stores a score; false when the caller already used its request id.
pub async fn insert_score(db: impl PgExecutor<'_>, s: &ScoreRecord) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO credit_score (score_id, person_id, score, source, observed_at, recorded_at, recorded_by, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ON CONSTRAINT credit_score_request_unique DO NOTHING",
        s.score_id,
        s.person_id,
        s.evidence.score,
        s.evidence.source,
        s.evidence.observed_at,
        s.recorded_at,
        s.recorded_by,
        s.request_id
    )
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// A person's scores, newest observation first, after the keyset `after`.
pub async fn list_scores(
    db: impl PgExecutor<'_>,
    person_id: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ScoreRecord>, sqlx::Error> {
    let (after_time, after_id) = after.map_or((None, None), |(t, id)| (Some(t), Some(id)));
    let rows = sqlx::query_as!(
        ScoreRow,
        "SELECT score_id, person_id, score, source, observed_at, recorded_at, recorded_by, request_id
         FROM credit_score
         WHERE person_id = $1 AND ($2::timestamptz IS NULL OR (observed_at, score_id) < ($2, $3))
         ORDER BY observed_at DESC, score_id DESC
         LIMIT $4",
        person_id,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

struct DecisionRow {
    decision_id: Uuid,
    person_id: String,
    trigger_score_id: Uuid,
    score_id: Uuid,
    score: i32,
    score_source: String,
    score_observed_at: DateTime<Utc>,
    eligible: bool,
    reason: String,
    explanation: String,
    threshold: i32,
    freshness_days: i32,
    rule_version: String,
    previous_status: String,
    status: String,
    decided_at: DateTime<Utc>,
}

impl TryFrom<DecisionRow> for DecisionRecord {
    type Error = sqlx::Error;
    fn try_from(r: DecisionRow) -> Result<Self, Self::Error> {
        Ok(DecisionRecord {
            decision_id: r.decision_id,
            person_id: r.person_id,
            trigger_score_id: r.trigger_score_id,
            score_id: r.score_id,
            evidence: Evidence { score: r.score, source: r.score_source, observed_at: r.score_observed_at },
            verdict: Verdict {
                eligible: r.eligible,
                reason: Reason::parse(&r.reason)
                    .ok_or_else(|| xiaopu_common::db::unknown_value("reason", &r.reason))?,
                explanation: r.explanation,
            },
            rule: Rule { threshold: r.threshold, freshness_days: r.freshness_days, version: r.rule_version },
            previous_status: status(&r.previous_status)?,
            status: status(&r.status)?,
            decided_at: r.decided_at,
        })
    }
}

pub async fn insert_decision(db: impl PgExecutor<'_>, d: &DecisionRecord) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO decision (decision_id, person_id, trigger_score_id, score_id, score, score_source,
                               score_observed_at, eligible, reason, explanation, threshold, freshness_days,
                               rule_version, previous_status, status, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        d.decision_id,
        d.person_id,
        d.trigger_score_id,
        d.score_id,
        d.evidence.score,
        d.evidence.source,
        d.evidence.observed_at,
        d.verdict.eligible,
        d.verdict.reason.as_str(),
        d.verdict.explanation,
        d.rule.threshold,
        d.rule.freshness_days,
        d.rule.version,
        d.previous_status.as_str(),
        d.status.as_str(),
        d.decided_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The decision a recording triggered.
pub async fn decision_triggered_by(
    db: impl PgExecutor<'_>,
    score_id: Uuid,
) -> Result<Option<DecisionRecord>, sqlx::Error> {
    sqlx::query_as!(DecisionRow, "SELECT * FROM decision WHERE trigger_score_id = $1", score_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

pub async fn decision(db: impl PgExecutor<'_>, decision_id: Uuid) -> Result<Option<DecisionRecord>, sqlx::Error> {
    sqlx::query_as!(DecisionRow, "SELECT * FROM decision WHERE decision_id = $1", decision_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// A person's decisions, newest first, after the keyset `after`.
pub async fn list_decisions(
    db: impl PgExecutor<'_>,
    person_id: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<DecisionRecord>, sqlx::Error> {
    let (after_time, after_id) = after.map_or((None, None), |(t, id)| (Some(t), Some(id)));
    sqlx::query_as!(
        DecisionRow,
        "SELECT * FROM decision
         WHERE person_id = $1 AND ($2::timestamptz IS NULL OR (decided_at, decision_id) < ($2, $3))
         ORDER BY decided_at DESC, decision_id DESC
         LIMIT $4",
        person_id,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

struct PromoterRow {
    person_id: String,
    status: String,
    status_since: DateTime<Utc>,
    latest_score_id: Uuid,
    latest_score: i32,
    latest_source: String,
    latest_observed_at: DateTime<Utc>,
    latest_decision_id: Uuid,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PromoterRow> for PromoterRecord {
    type Error = sqlx::Error;
    fn try_from(r: PromoterRow) -> Result<Self, Self::Error> {
        Ok(PromoterRecord {
            person_id: r.person_id,
            status: status(&r.status)?,
            status_since: r.status_since,
            latest_score_id: r.latest_score_id,
            latest: Evidence { score: r.latest_score, source: r.latest_source, observed_at: r.latest_observed_at },
            latest_decision_id: r.latest_decision_id,
            updated_at: r.updated_at,
        })
    }
}

/// The person's current status: one primary-key read.
pub async fn promoter(db: impl PgExecutor<'_>, person_id: &str) -> Result<Option<PromoterRecord>, sqlx::Error> {
    sqlx::query_as!(PromoterRow, "SELECT * FROM promoter WHERE person_id = $1", person_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

pub async fn upsert_promoter(db: impl PgExecutor<'_>, p: &PromoterRecord) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO promoter (person_id, status, status_since, latest_score_id, latest_score, latest_source,
                               latest_observed_at, latest_decision_id, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (person_id) DO UPDATE SET
             status = EXCLUDED.status, status_since = EXCLUDED.status_since,
             latest_score_id = EXCLUDED.latest_score_id, latest_score = EXCLUDED.latest_score,
             latest_source = EXCLUDED.latest_source, latest_observed_at = EXCLUDED.latest_observed_at,
             latest_decision_id = EXCLUDED.latest_decision_id, updated_at = EXCLUDED.updated_at",
        p.person_id,
        p.status.as_str(),
        p.status_since,
        p.latest_score_id,
        p.latest.score,
        p.latest.source,
        p.latest.observed_at,
        p.latest_decision_id,
        p.updated_at
    )
    .execute(db)
    .await?;
    Ok(())
}
