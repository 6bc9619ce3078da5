//! Risk rules through the real server: each rule holds a line with its reason and its
//! evidence audited; the commission feed says the line is held, then released; a
//! voided line earns nothing; only finance decides, with a note, once.
use std::time::Duration;

use chrono::TimeDelta;
use tokio_stream::StreamExt;
use tonic::Code;
use xiaopu_api::{
    attribution::{self as pb, AttributionReason as R, CommissionCause, CommissionChanged, RiskState},
    feed::{WatchEventsRequest, feed_service_client::FeedServiceClient},
    topics,
};
use xiaopu_common::{auth::Role, error::status_details, feed::decode_payload, testing::authed};

use crate::support::{TestApp, click, days, line, paid, refund, spawn, spawn_with};

impl TestApp {
    async fn holds(&self, state: RiskState) -> Vec<pb::RiskHold> {
        let request = pb::ListRiskHoldsRequest { state: state.into(), ..Default::default() };
        self.client().list_risk_holds(authed(request, Role::Finance, "f1")).await.expect("holds").into_inner().holds
    }
}

fn release(line: &str, note: &str) -> tonic::Request<pb::ReleaseRiskHoldRequest> {
    authed(pb::ReleaseRiskHoldRequest { line_id: line.into(), note: note.into() }, Role::Finance, "fiona")
}

#[tokio::test]
async fn bursts_and_fast_clicks_hold_lines_with_their_rule_and_evidence() {
    let app = spawn().await;
    let w = app.world().await;
    app.clock.advance(days(1));
    let s = w.since + TimeDelta::hours(1);
    let p = w.product.as_str();
    // Five orders of one buyer through p1's code within the hour: the fifth is held.
    let burst: Vec<pb::OrderEvent> = (0..5)
        .map(|i| {
            paid(
                &format!("b{i}"),
                "busy-buyer",
                s + TimeDelta::minutes(i * 10),
                &w.code,
                vec![line(&format!("bl{i}"), p, "s1", 1000)],
            )
        })
        .collect();
    app.ingest(burst[..3].to_vec()).await;
    app.ingest(burst[3..].to_vec()).await;
    // A buyer whose first click came three seconds before paying.
    app.ingest(vec![
        click("c1", &w.code, "quick-buyer", s - TimeDelta::seconds(3)),
        paid("q1", "quick-buyer", s, "", vec![line("ql1", p, "s1", 19900)]),
        click("c2", &w.code, "slow-buyer", s - TimeDelta::minutes(30)),
        paid("q2", "slow-buyer", s, "", vec![line("ql2", p, "s1", 19900)]),
    ])
    .await;

    let held = app.holds(RiskState::Held).await;
    let mut rules: Vec<(String, String)> = held
        .iter()
        .map(|h| {
            let l = h.line.as_ref().expect("line");
            (l.line_id.clone(), l.risk_rule.clone())
        })
        .collect();
    rules.sort();
    assert_eq!(rules, [("bl4".to_owned(), "burst_orders".to_owned()), ("ql1".to_owned(), "fast_click".to_owned())]);
    let fast = held.iter().find(|h| h.line.as_ref().is_some_and(|l| l.line_id == "ql1")).expect("ql1");
    assert_eq!(fast.decisions.len(), 1);
    assert_eq!((fast.decisions[0].action.as_str(), fast.decisions[0].actor.as_str()), ("held", "attribution"));
    assert!(fast.decisions[0].note.contains("3 seconds"), "{:?}", fast.decisions[0]);
    let (l, why) = app.line("ql1").await;
    assert_eq!((l.attributed, l.risk_state(), why.reason()), (true, RiskState::Held, R::LastClick));
    assert!(why.summary.contains("held for review (fast_click)"), "{}", why.summary);
    assert_eq!(app.line("ql2").await.0.risk_state(), RiskState::Unspecified, "half an hour is not seconds");
    assert_eq!(app.line("bl3").await.0.risk_state(), RiskState::Unspecified, "the fourth order is not held");
}

#[tokio::test]
async fn a_release_lets_the_line_settle_and_a_void_takes_its_commission_away() {
    let app = spawn().await;
    let w = app.world().await;
    app.clock.advance(days(1));
    let s = w.since + TimeDelta::hours(1);
    let p = w.product.as_str();
    let quick = |n: &str| {
        vec![
            click(&format!("c{n}"), &w.code, &format!("buyer{n}"), s - TimeDelta::seconds(2)),
            paid(&format!("o{n}"), &format!("buyer{n}"), s, "", vec![line(&format!("l{n}"), p, "s1", 19900)]),
        ]
    };
    app.ingest([quick("1"), quick("2")].concat()).await;

    // Only finance decides, with a note.
    let denied = app
        .client()
        .release_risk_hold(authed(
            pb::ReleaseRiskHoldRequest { line_id: "l1".into(), note: "mine".into() },
            Role::Promoter,
            "p1",
        ))
        .await
        .expect_err("promoter");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let silent = app.client().release_risk_hold(release("l1", "")).await.expect_err("no note");
    assert!(silent.message().contains("note"), "{}", silent.message());

    let released = app.client().release_risk_hold(release("l1", "known buyer")).await.expect("released");
    let hold = released.into_inner().hold.expect("hold");
    assert_eq!(hold.line.expect("line").risk_state(), RiskState::Released);
    let actions: Vec<(&str, &str)> = hold.decisions.iter().map(|d| (d.action.as_str(), d.actor.as_str())).collect();
    assert_eq!(actions, [("held", "attribution"), ("released", "fiona")]);
    let again = app.client().release_risk_hold(release("l1", "twice")).await.expect_err("not held");
    assert_eq!((again.code(), status_details(&again).0.as_deref()), (Code::FailedPrecondition, Some("LINE_NOT_HELD")));

    let void = pb::VoidRiskHoldRequest { line_id: "l2".into(), note: "a bot".into() };
    app.client().void_risk_hold(authed(void, Role::Finance, "fiona")).await.expect("voided");
    let (l2, why) = app.line("l2").await;
    assert_eq!((l2.attributed, l2.commission.expect("c").minor_units, why.reason()), (false, 0, R::RiskVoided));
    assert_eq!(l2.promoter_id, "p1", "the voided line still names its promoter");
    let theirs = pb::ExplainLineRequest { line_id: "l2".into() };
    app.client().explain_line(authed(theirs, Role::Promoter, "p1")).await.expect("the promoter sees why");
    assert_eq!(app.holds(RiskState::Voided).await.len(), 1);

    // The feed says held, then released; and the voided line's commission gone.
    let mut feed = FeedServiceClient::new(app.channel.clone());
    let request = WatchEventsRequest { topics: vec![topics::COMMISSION.into()], ..Default::default() };
    let mut stream = feed.watch_events(authed(request, Role::Service, "settlement")).await.expect("watch").into_inner();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let batch = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("events").expect("open");
        for event in batch.expect("ok").events {
            let c: CommissionChanged = decode_payload(&event).expect("payload");
            seen.push((c.line_id.clone(), c.cause(), c.on_hold, c.commission.expect("c").minor_units));
        }
    }
    seen.sort_by_key(|(line, cause, ..)| (line.clone(), *cause as i32));
    assert_eq!(
        seen,
        [
            ("l1".to_owned(), CommissionCause::Payment, true, 1094),
            ("l1".to_owned(), CommissionCause::RiskReleased, false, 1094),
            ("l2".to_owned(), CommissionCause::Payment, true, 1094),
            ("l2".to_owned(), CommissionCause::RiskVoided, false, 0),
        ]
    );
}

#[tokio::test]
async fn a_promoter_whose_refunds_pass_the_rate_is_flagged_until_finance_clears_it() {
    let app = spawn_with(|s| {
        s.service.risk_refund_min_lines = 2;
        s.service.risk_refund_sample = 10;
    })
    .await;
    let w = app.world().await;
    app.clock.advance(days(2));
    let s = w.since + TimeDelta::hours(1);
    let p = w.product.as_str();
    let order = |n: u32, at| {
        paid(&format!("o{n}"), &format!("buyer{n}"), at, &w.code, vec![line(&format!("l{n}"), p, "s1", 19900)])
    };
    app.ingest(vec![order(1, s), order(2, s)]).await;
    app.ingest(vec![refund("r1", "o1", "l1", 19900, s + TimeDelta::hours(1))]).await;
    let flags = || async {
        app.client()
            .list_risk_flags(authed(pb::ListRiskFlagsRequest {}, Role::Finance, "f1"))
            .await
            .expect("flags")
            .into_inner()
            .flags
    };
    assert!(flags().await.is_empty(), "half refunded is not above half");
    app.ingest(vec![refund("r2", "o2", "l2", 100, s + TimeDelta::hours(1))]).await;
    let raised = flags().await;
    assert_eq!((raised.len(), raised[0].promoter_id.as_str(), raised[0].rule.as_str()), (1, "p1", "refund_rate"));

    app.ingest(vec![order(3, s + TimeDelta::hours(2))]).await;
    let l3 = app.line("l3").await.0;
    assert_eq!((l3.risk_state(), l3.risk_rule.as_str()), (RiskState::Held, "refund_rate"));

    let clear =
        pb::ClearRiskFlagRequest { promoter_id: "p1".into(), rule: "refund_rate".into(), note: "talked to p1".into() };
    app.client().clear_risk_flag(authed(clear.clone(), Role::Finance, "fiona")).await.expect("cleared");
    let twice = app.client().clear_risk_flag(authed(clear, Role::Finance, "fiona")).await.expect_err("twice");
    assert_eq!(status_details(&twice).0.as_deref(), Some("FLAG_NOT_RAISED"));
    app.ingest(vec![order(4, s + TimeDelta::hours(3))]).await;
    assert_eq!(app.line("l4").await.0.risk_state(), RiskState::Unspecified);
}
