use chrono::TimeDelta;
use tonic::Code;
use xiaopu_api::eligibility::{self as pb, DecisionReason, PromoterStatus};
use xiaopu_common::{auth::Role, error::status_details, testing::authed};

use crate::support::spawn;

#[tokio::test]
async fn score_700_is_refused_and_701_accepted() {
    let app = spawn().await;
    let refused = app.record("r1", "p700", 700, TimeDelta::zero()).await.expect("record").into_inner();
    let decision = refused.decision.expect("decision");
    assert!(!decision.eligible);
    assert_eq!(decision.reason(), DecisionReason::ScoreNotAboveThreshold);
    assert_eq!(decision.status(), PromoterStatus::Refused);
    assert_eq!((decision.threshold, decision.score), (700, 700));
    assert!(decision.explanation.contains("not above the threshold of 700"), "{}", decision.explanation);

    let accepted = app.record("r2", "p701", 701, TimeDelta::zero()).await.expect("record").into_inner();
    let decision = accepted.decision.expect("decision");
    assert!(decision.eligible);
    assert_eq!(decision.status(), PromoterStatus::Approved);
    assert_eq!(decision.rule_version, "credit-threshold-v1");
    assert!(app.check("p701").await.eligible);
    assert!(!app.check("p700").await.eligible);
}

#[tokio::test]
async fn a_stale_score_is_not_eligible() {
    let app = spawn().await;
    let stale = app.record("r1", "p1", 800, TimeDelta::days(30) + TimeDelta::seconds(1)).await.expect("record");
    let decision = stale.into_inner().decision.expect("decision");
    assert_eq!(decision.reason(), DecisionReason::ScoreStale);
    assert!(!decision.eligible);

    let fresh = app.record("r2", "p2", 800, TimeDelta::days(29)).await.expect("record");
    assert!(fresh.into_inner().decision.expect("decision").eligible);
    // A score fresh when recorded goes stale as time passes: checks follow the clock.
    app.clock.advance(TimeDelta::days(2));
    let check = app.check("p2").await;
    assert!(!check.eligible);
    assert_eq!(check.reason(), DecisionReason::ScoreStale);
    assert_eq!(check.status(), PromoterStatus::Approved, "staleness alone does not suspend");
}

#[tokio::test]
async fn out_of_range_score_and_missing_fields_are_named() {
    let app = spawn().await;
    for score in [349, 951, 0, -5] {
        let err = app.record("r1", "p1", score, TimeDelta::zero()).await.expect_err("out of range");
        assert_eq!(err.code(), Code::InvalidArgument);
        let (_, fields) = status_details(&err);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field, "score");
        assert!(err.message().contains("between 350 and 950"), "{}", err.message());
    }
    let empty = pb::RecordCreditScoreRequest { score: 720, ..Default::default() };
    let err = app.client().record_credit_score(authed(empty, Role::Admin, "ops")).await.expect_err("missing");
    assert_eq!(err.code(), Code::InvalidArgument);
    let (_, fields) = status_details(&err);
    let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(named, ["request_id", "person_id", "source"]);

    let future = app.record("r2", "p1", 720, TimeDelta::hours(-1)).await.expect_err("future");
    assert_eq!(status_details(&future).1[0].field, "observed_at");
    assert_eq!(app.outbox_count().await, 0, "refused requests change nothing");
    let check = app.check("p1").await;
    assert_eq!(check.reason(), DecisionReason::NoScore);
}

#[tokio::test]
async fn a_late_older_observation_does_not_override_the_latest() {
    let app = spawn().await;
    app.record("r1", "p1", 650, TimeDelta::days(1)).await.expect("record");
    let late = app.record("r2", "p1", 800, TimeDelta::days(3)).await.expect("record").into_inner();
    let decision = late.decision.expect("decision");
    assert_eq!(decision.score, 650, "decided on the newest observation");
    assert_eq!(decision.status(), PromoterStatus::Refused);
    assert!(!late.status_changed);
}

#[tokio::test]
async fn decisions_and_scores_page_newest_first() {
    let app = spawn().await;
    for (i, score) in [710, 690, 720, 730, 640].into_iter().enumerate() {
        let age = TimeDelta::hours(10 - i as i64);
        app.record(&format!("r{i}"), "p1", score, age).await.expect("record");
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let request = pb::ListDecisionsRequest { person_id: "p1".into(), page_size: 2, page_token: token };
        let page = app.client().list_decisions(authed(request, Role::Promoter, "p1")).await.expect("list").into_inner();
        seen.extend(page.decisions.iter().map(|d| d.score));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, [640, 730, 720, 690, 710]);

    let request = pb::ListCreditScoresRequest { person_id: "p1".into(), page_size: 3, page_token: String::new() };
    let scores = app.client().list_credit_scores(authed(request, Role::Admin, "ops")).await.expect("list").into_inner();
    assert_eq!(scores.credit_scores.iter().map(|s| s.score).collect::<Vec<_>>(), [640, 730, 720]);
    assert!(!scores.next_page_token.is_empty());

    let bad = pb::ListDecisionsRequest { person_id: "p1".into(), page_size: 2, page_token: "garbage".into() };
    let err = app.client().list_decisions(authed(bad, Role::Promoter, "p1")).await.expect_err("bad token");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(status_details(&err).1[0].field, "page_token");
}
