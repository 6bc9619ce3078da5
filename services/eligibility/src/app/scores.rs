//! Recording a credit score: the score, the decision it leads to and the person's
//! status, with the status event when it changed, in one transaction under the
//! person's lock; a retried request answers as the first one did.
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;
use xiaopu_api::{eligibility as pb, topics};
use xiaopu_common::{
    auth::Caller,
    feed::{OutboxEvent, publish},
    idempotency::{self, Claim},
    time::{SharedClock, to_timestamp},
};

use crate::{
    Error, convert,
    domain::{self, Evidence, Rule, Status as PromoterStatus},
    store::{self, DecisionRecord, PromoterRecord, ScoreRecord},
};

/// The idempotency scope of `RecordCreditScore`'s request ids.
pub const SCOPE_RECORD: &str = "eligibility.RecordCreditScore";

/// A validated `RecordCreditScore` request.
pub struct NewScore {
    pub request_id: String,
    /// What makes a retry "the same request" (see `idempotency`).
    pub fingerprint: Vec<u8>,
    pub person_id: String,
    pub score: i32,
    pub source: String,
    /// None when the client left it to default to now.
    pub observed_at: Option<DateTime<Utc>>,
}

/// Records the score and re-decides the person's status, in one transaction with
/// the status event; a retried request answers as the first one did.
pub async fn record(
    pool: &PgPool,
    rule: &Rule,
    clock: &SharedClock,
    caller: &Caller,
    new: NewScore,
) -> Result<pb::RecordCreditScoreResponse, Error> {
    let mut tx = pool.begin().await?;
    store::lock_person(&mut tx, &new.person_id).await?;
    let key =
        match idempotency::claim(&mut tx, SCOPE_RECORD, &caller.subject, &new.request_id, &new.fingerprint).await? {
            Claim::Replay(first) => return Ok(first),
            Claim::New(key) => key,
        };
    let now = clock.now();
    let recorded = Evidence { score: new.score, source: new.source, observed_at: new.observed_at.unwrap_or(now) };
    let score = ScoreRecord {
        score_id: Uuid::now_v7(),
        person_id: new.person_id,
        evidence: recorded,
        recorded_at: now,
        recorded_by: caller.subject.clone(),
        request_id: new.request_id,
    };
    if !store::insert_score(&mut *tx, &score).await? {
        // Recorded before idempotency keys were kept: answer as the first time.
        return replay_recorded(&mut tx, caller, &score.request_id).await;
    }
    let current = store::promoter(&mut *tx, &score.person_id).await?;
    let (evidence_id, evidence) = match &current {
        Some(p) if !domain::is_newer(&p.latest, &score.evidence) => (p.latest_score_id, p.latest.clone()),
        _ => (score.score_id, score.evidence.clone()),
    };
    let verdict = domain::decide(Some(&evidence), rule, now);
    let previous = current.as_ref().map_or(PromoterStatus::None, |p| p.status);
    let status = domain::next_status(previous, &verdict);
    let decision = DecisionRecord {
        decision_id: Uuid::now_v7(),
        person_id: score.person_id.clone(),
        trigger_score_id: score.score_id,
        score_id: evidence_id,
        evidence: evidence.clone(),
        verdict,
        rule: rule.clone(),
        previous_status: previous,
        status,
        decided_at: now,
    };
    store::insert_decision(&mut *tx, &decision).await?;
    let status_since = match &current {
        Some(p) if p.status == status => p.status_since,
        _ => now,
    };
    store::upsert_promoter(
        &mut *tx,
        &PromoterRecord {
            person_id: score.person_id.clone(),
            status,
            status_since,
            latest_score_id: evidence_id,
            latest: evidence,
            latest_decision_id: decision.decision_id,
            updated_at: now,
        },
    )
    .await?;
    let changed = previous != status;
    if changed {
        let event = pb::PromoterStatusChanged {
            person_id: score.person_id.clone(),
            previous_status: convert::status(previous).into(),
            status: convert::status(status).into(),
            decision_id: decision.decision_id.to_string(),
            score: decision.evidence.score,
            changed_at: Some(to_timestamp(now)),
        };
        // The decision id is the event id: one decision, at most one change.
        publish(&mut tx, &OutboxEvent::new(decision.decision_id, topics::PROMOTER_STATUS, &score.person_id, &event))
            .await?;
    }
    let answer = pb::RecordCreditScoreResponse {
        credit_score: Some(convert::score(&score)),
        decision: Some(convert::decision(&decision)),
        status_changed: changed,
    };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(person_id = %score.person_id, score = score.evidence.score, status = status.as_str(), changed, "credit score recorded");
    Ok(answer)
}

/// Answers a retry of a recording made before idempotency keys kept answers.
async fn replay_recorded(
    tx: &mut sqlx::PgConnection,
    caller: &Caller,
    request_id: &str,
) -> Result<pb::RecordCreditScoreResponse, Error> {
    let existing = store::score_by_request(&mut *tx, &caller.subject, request_id)
        .await?
        .ok_or_else(|| sqlx::Error::Decode("a claimed request id has no credit score".into()))?;
    let decision = store::decision_triggered_by(&mut *tx, existing.score_id)
        .await?
        .ok_or_else(|| sqlx::Error::Decode("a recorded score has no decision".into()))?;
    Ok(pb::RecordCreditScoreResponse {
        credit_score: Some(convert::score(&existing)),
        status_changed: decision.previous_status != decision.status,
        decision: Some(convert::decision(&decision)),
    })
}
