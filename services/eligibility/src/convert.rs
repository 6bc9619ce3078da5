//! Domain and store types to protobuf messages.
use xiaopu_api::eligibility as pb;
use xiaopu_common::time::to_timestamp;

use crate::{
    domain::{Reason, Status},
    store::{DecisionRecord, ScoreRecord},
};

pub fn status(status: Status) -> pb::PromoterStatus {
    match status {
        Status::None => pb::PromoterStatus::None,
        Status::Approved => pb::PromoterStatus::Approved,
        Status::Refused => pb::PromoterStatus::Refused,
        Status::Suspended => pb::PromoterStatus::Suspended,
    }
}

pub fn reason(reason: Reason) -> pb::DecisionReason {
    match reason {
        Reason::ScoreAboveThreshold => pb::DecisionReason::ScoreAboveThreshold,
        Reason::ScoreNotAboveThreshold => pb::DecisionReason::ScoreNotAboveThreshold,
        Reason::ScoreStale => pb::DecisionReason::ScoreStale,
        Reason::NoScore => pb::DecisionReason::NoScore,
    }
}

pub fn score(s: &ScoreRecord) -> pb::CreditScore {
    pb::CreditScore {
        score_id: s.score_id.to_string(),
        person_id: s.person_id.clone(),
        score: s.evidence.score,
        source: s.evidence.source.clone(),
        observed_at: Some(to_timestamp(s.evidence.observed_at)),
        recorded_at: Some(to_timestamp(s.recorded_at)),
        recorded_by: s.recorded_by.clone(),
    }
}

pub fn decision(d: &DecisionRecord) -> pb::Decision {
    pb::Decision {
        decision_id: d.decision_id.to_string(),
        person_id: d.person_id.clone(),
        eligible: d.verdict.eligible,
        reason: reason(d.verdict.reason).into(),
        explanation: d.verdict.explanation.clone(),
        score: d.evidence.score,
        score_source: d.evidence.source.clone(),
        score_observed_at: Some(to_timestamp(d.evidence.observed_at)),
        threshold: d.rule.threshold,
        freshness_days: d.rule.freshness_days,
        rule_version: d.rule.version.clone(),
        decided_at: Some(to_timestamp(d.decided_at)),
        previous_status: status(d.previous_status).into(),
        status: status(d.status).into(),
    }
}
