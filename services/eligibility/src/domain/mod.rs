//! The eligibility rules (DOMAIN.md rule 1), pure: no database, no gRPC.
//!
//! A person is eligible iff their latest credit score is above the threshold and not
//! older than the freshness window. A score falling to or below the threshold
//! suspends an approved promoter; a later one above it reinstates them.
use chrono::{DateTime, TimeDelta, Utc};

/// Zhima-style scores run from 350 to 950.
pub const MIN_SCORE: i32 = 350;
pub const MAX_SCORE: i32 = 950;

/// The rule in force, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Eligible only when the score is strictly above this.
    pub threshold: i32,
    pub freshness_days: i32,
    pub version: String,
}

xiaopu_common::text_enum! {
    /// A person's promoter status.
    pub enum Status {
        /// Never scored.
        None = "none",
        Approved = "approved",
        /// Ineligible without ever having been approved.
        Refused = "refused",
        /// Was approved; a later score fell to or below the threshold.
        Suspended = "suspended",
    }
}

xiaopu_common::text_enum! {
    /// Why a decision came out as it did.
    pub enum Reason {
        ScoreAboveThreshold = "score_above_threshold",
        ScoreNotAboveThreshold = "score_not_above_threshold",
        ScoreStale = "score_stale",
        NoScore = "no_score",
    }
}

/// The score a decision rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub score: i32,
    pub source: String,
    pub observed_at: DateTime<Utc>,
}

/// The answer of the rule for some evidence at some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub eligible: bool,
    pub reason: Reason,
    /// The reason in words an applicant can read.
    pub explanation: String,
}

/// Applies the rule to the latest score (if any) at `now`.
pub fn decide(evidence: Option<&Evidence>, rule: &Rule, now: DateTime<Utc>) -> Verdict {
    let Some(e) = evidence else {
        return Verdict {
            eligible: false,
            reason: Reason::NoScore,
            explanation: "no credit score has been recorded yet".into(),
        };
    };
    let day = e.observed_at.format("%Y-%m-%d");
    if now - e.observed_at > TimeDelta::days(i64::from(rule.freshness_days)) {
        return Verdict {
            eligible: false,
            reason: Reason::ScoreStale,
            explanation: format!(
                "the latest credit score ({} from {}, observed {day}) is older than {} days; a fresh score is needed",
                e.score, e.source, rule.freshness_days
            ),
        };
    }
    if e.score > rule.threshold {
        Verdict {
            eligible: true,
            reason: Reason::ScoreAboveThreshold,
            explanation: format!(
                "credit score {} ({}, observed {day}) is above the threshold of {}",
                e.score, e.source, rule.threshold
            ),
        }
    } else {
        Verdict {
            eligible: false,
            reason: Reason::ScoreNotAboveThreshold,
            explanation: format!(
                "credit score {} ({}, observed {day}) is not above the threshold of {}; a score of {} or more is needed",
                e.score,
                e.source,
                rule.threshold,
                rule.threshold + 1
            ),
        }
    }
}

/// The status after a verdict. Only a score at or below the threshold suspends an
/// approved promoter: a stale score bars opening a shop (CheckEligibility) but does
/// not by itself take a running shop away.
pub fn next_status(current: Status, verdict: &Verdict) -> Status {
    match (current, verdict.reason) {
        (_, Reason::ScoreAboveThreshold) => Status::Approved,
        (Status::Approved, Reason::ScoreNotAboveThreshold) => Status::Suspended,
        (Status::Approved, _) => Status::Approved,
        (Status::Suspended, _) => Status::Suspended,
        (Status::None | Status::Refused, _) => Status::Refused,
    }
}

/// Whether a newly recorded score replaces the current evidence: the newer
/// observation wins, so a late-arriving older observation does not displace it.
pub fn is_newer(current: &Evidence, recorded: &Evidence) -> bool {
    recorded.observed_at >= current.observed_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule() -> Rule {
        Rule { threshold: 700, freshness_days: 30, version: "test".into() }
    }

    fn evidence(score: i32, days_old: i64, now: DateTime<Utc>) -> Evidence {
        Evidence { score, source: "zhima".into(), observed_at: now - TimeDelta::days(days_old) }
    }

    #[test]
    fn threshold_is_strict_700_refused_701_accepted() {
        let now = Utc::now();
        assert!(!decide(Some(&evidence(700, 0, now)), &rule(), now).eligible);
        let v = decide(Some(&evidence(701, 0, now)), &rule(), now);
        assert!(v.eligible);
        assert_eq!(v.reason, Reason::ScoreAboveThreshold);
    }

    #[test]
    fn freshness_boundary() {
        let now = Utc::now();
        let exactly = Evidence { observed_at: now - TimeDelta::days(30), ..evidence(800, 0, now) };
        assert!(decide(Some(&exactly), &rule(), now).eligible);
        let older = Evidence { observed_at: now - TimeDelta::days(30) - TimeDelta::seconds(1), ..exactly };
        let v = decide(Some(&older), &rule(), now);
        assert_eq!(v.reason, Reason::ScoreStale);
        assert!(v.explanation.contains("older than 30 days"), "{}", v.explanation);
    }

    #[test]
    fn refusal_explains_the_rule() {
        let now = Utc::now();
        let v = decide(Some(&evidence(690, 1, now)), &rule(), now);
        assert_eq!(v.reason, Reason::ScoreNotAboveThreshold);
        assert!(v.explanation.contains("690") && v.explanation.contains("threshold of 700"), "{}", v.explanation);
        assert_eq!(decide(None, &rule(), now).reason, Reason::NoScore);
    }

    #[test]
    fn status_transitions() {
        let now = Utc::now();
        let above = decide(Some(&evidence(720, 0, now)), &rule(), now);
        let below = decide(Some(&evidence(650, 0, now)), &rule(), now);
        let stale = decide(Some(&evidence(800, 60, now)), &rule(), now);
        assert_eq!(next_status(Status::None, &above), Status::Approved);
        assert_eq!(next_status(Status::None, &below), Status::Refused);
        assert_eq!(next_status(Status::Approved, &below), Status::Suspended);
        assert_eq!(next_status(Status::Suspended, &above), Status::Approved);
        assert_eq!(next_status(Status::Suspended, &below), Status::Suspended);
        assert_eq!(next_status(Status::Refused, &above), Status::Approved);
        assert_eq!(next_status(Status::Approved, &stale), Status::Approved);
        assert_eq!(next_status(Status::None, &stale), Status::Refused);
    }

    #[test]
    fn an_older_observation_does_not_displace_the_latest() {
        let now = Utc::now();
        let current = evidence(650, 1, now);
        assert!(!is_newer(&current, &evidence(800, 5, now)));
        assert!(is_newer(&current, &evidence(800, 0, now)));
    }

    proptest! {
        /// Eligible exactly when the score is above the threshold and fresh, whatever
        /// the threshold; and the status is Approved after an eligible verdict.
        #[test]
        fn verdict_matches_rule(score in MIN_SCORE..=MAX_SCORE, threshold in MIN_SCORE..=MAX_SCORE,
                                age_hours in 0i64..(24 * 60), start in 0usize..4) {
            let now = Utc::now();
            let rule = Rule { threshold, freshness_days: 30, version: "p".into() };
            let e = Evidence { score, source: "s".into(), observed_at: now - TimeDelta::hours(age_hours) };
            let v = decide(Some(&e), &rule, now);
            prop_assert_eq!(v.eligible, score > threshold && age_hours <= 30 * 24);
            let current = [Status::None, Status::Approved, Status::Refused, Status::Suspended][start];
            let next = next_status(current, &v);
            prop_assert_eq!(next == Status::Approved, v.eligible || (current == Status::Approved && v.reason == Reason::ScoreStale));
        }
    }
}
