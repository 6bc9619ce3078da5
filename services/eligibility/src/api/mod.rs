//! The gRPC face of eligibility: decode and validate, authorise, orchestrate the
//! store and the rules, and answer.
mod convert;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::{
    eligibility::{self as pb, eligibility_service_server::EligibilityService},
    topics,
};
use xiaopu_common::{
    auth::{Caller, CallerExt, Role},
    error::{Invalid, Violations},
    feed::{OutboxEvent, publish},
    idempotency::{self, Claim},
    paging::{self, Page},
    time::{SharedClock, to_timestamp},
    validate,
};

pub use crate::Error;
use crate::{
    domain::{self, Evidence, MAX_SCORE, MIN_SCORE, Rule, Status as PromoterStatus},
    store::{self, DecisionRecord, PromoterRecord, ScoreRecord},
};

/// Roles that may read and check anyone.
const PRIVILEGED: &[Role] = &[Role::Service, Role::Admin];
/// Roles that may read at all (promoters only their own).
const READERS: &[Role] = &[Role::Promoter, Role::Service, Role::Admin];
/// Clock skew tolerated on a bureau's observation time.
const MAX_FUTURE_SKEW: TimeDelta = TimeDelta::minutes(5);
const MAX_SOURCE_CHARS: usize = 64;

pub struct EligibilityApi {
    pool: PgPool,
    rule: Rule,
    clock: SharedClock,
}

impl EligibilityApi {
    pub fn new(pool: PgPool, rule: Rule, clock: SharedClock) -> Self {
        Self { pool, rule, clock }
    }
}

/// The idempotency scope of `RecordCreditScore`'s request ids.
const SCOPE_RECORD: &str = "eligibility.RecordCreditScore";

/// A validated `RecordCreditScore` request.
struct NewScore {
    request_id: String,
    /// What makes a retry "the same request" (see `idempotency`).
    fingerprint: Vec<u8>,
    person_id: String,
    score: i32,
    source: String,
    /// None when the client left it to default to now.
    observed_at: Option<DateTime<Utc>>,
}

fn validate_record(r: &pb::RecordCreditScoreRequest, now: DateTime<Utc>) -> Result<NewScore, Invalid> {
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let person_id = v.check(validate::id("person_id", &r.person_id));
    if !(MIN_SCORE..=MAX_SCORE).contains(&r.score) {
        v.add("score", format!("must be between {MIN_SCORE} and {MAX_SCORE}"));
    }
    let source = v.check(validate::text("source", &r.source, MAX_SOURCE_CHARS, false));
    let observed_at = v.check(validate::timestamp("observed_at", r.observed_at.as_ref())).flatten();
    if observed_at.is_some_and(|t| t > now + MAX_FUTURE_SKEW) {
        v.add("observed_at", "must not be in the future");
    }
    let (request_id, (person_id, source)) = v.finish_with(request_id.zip(person_id.zip(source)))?;
    Ok(NewScore {
        request_id: request_id.into(),
        fingerprint: idempotency::fingerprint(r),
        person_id: person_id.into(),
        score: r.score,
        source: source.into(),
        observed_at,
    })
}

fn person_id(value: &str) -> Result<&str, Invalid> {
    validate::id("person_id", value).map_err(Invalid::from)
}

impl EligibilityApi {
    /// Records the score and re-decides the person's status, in one transaction with
    /// the status event; a retried request answers as the first one did.
    async fn record(&self, caller: &Caller, new: NewScore) -> Result<pb::RecordCreditScoreResponse, Error> {
        let mut tx = self.pool.begin().await?;
        store::lock_person(&mut tx, &new.person_id).await?;
        let key = match idempotency::claim(&mut tx, SCOPE_RECORD, &caller.subject, &new.request_id, &new.fingerprint)
            .await?
        {
            Claim::Replay(first) => return Ok(first),
            Claim::New(key) => key,
        };
        let now = self.clock.now();
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
            return self.replay_recorded(&mut tx, caller, &score.request_id).await;
        }
        let current = store::promoter(&mut *tx, &score.person_id).await?;
        let (evidence_id, evidence) = match &current {
            Some(p) if !domain::is_newer(&p.latest, &score.evidence) => (p.latest_score_id, p.latest.clone()),
            _ => (score.score_id, score.evidence.clone()),
        };
        let verdict = domain::decide(Some(&evidence), &self.rule, now);
        let previous = current.as_ref().map_or(PromoterStatus::None, |p| p.status);
        let status = domain::next_status(previous, &verdict);
        let decision = DecisionRecord {
            decision_id: Uuid::now_v7(),
            person_id: score.person_id.clone(),
            trigger_score_id: score.score_id,
            score_id: evidence_id,
            evidence: evidence.clone(),
            verdict,
            rule: self.rule.clone(),
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
            publish(
                &mut tx,
                &OutboxEvent::new(decision.decision_id, topics::PROMOTER_STATUS, &score.person_id, &event),
            )
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
        &self,
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
}

/// The RPC handlers, routed at the end of this file.
impl EligibilityApi {
    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id))]
    async fn record_credit_score(
        &self,
        request: Request<pb::RecordCreditScoreRequest>,
    ) -> Result<Response<pb::RecordCreditScoreResponse>, Error> {
        let caller = request.caller()?.clone();
        caller.require_role(PRIVILEGED)?;
        let new = validate_record(request.get_ref(), self.clock.now())?;
        Ok(Response::new(self.record(&caller, new).await?))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id))]
    async fn check_eligibility(
        &self,
        request: Request<pb::CheckEligibilityRequest>,
    ) -> Result<Response<pb::CheckEligibilityResponse>, Error> {
        request.caller()?.require_role(READERS)?;
        let person = person_id(&request.get_ref().person_id)?;
        request.caller()?.require_owner(Role::Promoter, person, PRIVILEGED)?;
        let promoter = store::promoter(&self.pool, person).await?;
        let now = self.clock.now();
        let verdict = domain::decide(promoter.as_ref().map(|p| &p.latest), &self.rule, now);
        Ok(Response::new(pb::CheckEligibilityResponse {
            person_id: person.into(),
            eligible: verdict.eligible,
            reason: convert::reason(verdict.reason).into(),
            explanation: verdict.explanation,
            status: convert::status(promoter.as_ref().map_or(PromoterStatus::None, |p| p.status)).into(),
            score: promoter.as_ref().map_or(0, |p| p.latest.score),
            score_observed_at: promoter.as_ref().map(|p| to_timestamp(p.latest.observed_at)),
            threshold: self.rule.threshold,
            freshness_days: self.rule.freshness_days,
            rule_version: self.rule.version.clone(),
            checked_at: Some(to_timestamp(now)),
        }))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id))]
    async fn get_promoter_status(
        &self,
        request: Request<pb::GetPromoterStatusRequest>,
    ) -> Result<Response<pb::GetPromoterStatusResponse>, Error> {
        request.caller()?.require_role(READERS)?;
        let person = person_id(&request.get_ref().person_id)?;
        request.caller()?.require_owner(Role::Promoter, person, PRIVILEGED)?;
        let promoter = store::promoter(&self.pool, person).await?;
        let latest_decision = match &promoter {
            Some(p) => store::decision(&self.pool, p.latest_decision_id).await?,
            None => None,
        };
        Ok(Response::new(pb::GetPromoterStatusResponse {
            person_id: person.into(),
            status: convert::status(promoter.as_ref().map_or(PromoterStatus::None, |p| p.status)).into(),
            status_since: promoter.as_ref().map(|p| to_timestamp(p.status_since)),
            latest_decision: latest_decision.as_ref().map(convert::decision),
        }))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id))]
    async fn list_decisions(
        &self,
        request: Request<pb::ListDecisionsRequest>,
    ) -> Result<Response<pb::ListDecisionsResponse>, Error> {
        request.caller()?.require_role(READERS)?;
        let r = request.get_ref();
        let person = person_id(&r.person_id)?;
        request.caller()?.require_owner(Role::Promoter, person, PRIVILEGED)?;
        let page = page(r.page_size, &r.page_token)?;
        let mut rows = store::list_decisions(&self.pool, person, page.after, page.limit + 1).await?;
        let next_page_token = paging::next_page(&mut rows, page.limit, |d| (d.decided_at, d.decision_id));
        Ok(Response::new(pb::ListDecisionsResponse {
            decisions: rows.iter().map(convert::decision).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(person_id = %request.get_ref().person_id))]
    async fn list_credit_scores(
        &self,
        request: Request<pb::ListCreditScoresRequest>,
    ) -> Result<Response<pb::ListCreditScoresResponse>, Error> {
        request.caller()?.require_role(READERS)?;
        let r = request.get_ref();
        let person = person_id(&r.person_id)?;
        request.caller()?.require_owner(Role::Promoter, person, PRIVILEGED)?;
        let page = page(r.page_size, &r.page_token)?;
        let mut rows = store::list_scores(&self.pool, person, page.after, page.limit + 1).await?;
        let next_page_token = paging::next_page(&mut rows, page.limit, |s| (s.evidence.observed_at, s.score_id));
        Ok(Response::new(pb::ListCreditScoresResponse {
            credit_scores: rows.iter().map(convert::score).collect(),
            next_page_token,
        }))
    }
}

/// Page size and keyset (time, id) of a list request.
fn page(page_size: i32, token: &str) -> Result<Page<(DateTime<Utc>, Uuid)>, Error> {
    Ok(Page::from_request(page_size, token, 50, 500)?)
}

xiaopu_common::route! {
    impl EligibilityService for EligibilityApi {
        record_credit_score => EligibilityApi::record_credit_score:
            pb::RecordCreditScoreRequest => pb::RecordCreditScoreResponse;
        check_eligibility => EligibilityApi::check_eligibility:
            pb::CheckEligibilityRequest => pb::CheckEligibilityResponse;
        get_promoter_status => EligibilityApi::get_promoter_status:
            pb::GetPromoterStatusRequest => pb::GetPromoterStatusResponse;
        list_decisions => EligibilityApi::list_decisions: pb::ListDecisionsRequest => pb::ListDecisionsResponse;
        list_credit_scores => EligibilityApi::list_credit_scores:
            pb::ListCreditScoresRequest => pb::ListCreditScoresResponse;
    }
}
