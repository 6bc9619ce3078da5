//! The gRPC face of eligibility: decode and validate, authorise, run the use case
//! (`app`) or read the store, and answer.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::eligibility::{self as pb, eligibility_service_server::EligibilityService};
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{Invalid, Violations},
    idempotency::{self},
    paging::{self, Page},
    time::{SharedClock, to_timestamp},
    validate,
};

pub use crate::Error;
use crate::{
    app::scores::{self, NewScore},
    convert,
    domain::{self, MAX_SCORE, MIN_SCORE, Rule, Status as PromoterStatus},
    store,
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
        Ok(Response::new(scores::record(&self.pool, &self.rule, &self.clock, &caller, new).await?))
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
