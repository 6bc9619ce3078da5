use std::time::Duration;

use chrono::TimeDelta;
use tokio_stream::StreamExt;
use tonic::Code;
use xiaopu_api::{
    eligibility::{PromoterStatus, PromoterStatusChanged},
    feed::{WatchEventsRequest, feed_service_client::FeedServiceClient},
    topics,
};
use xiaopu_common::{auth::Role, feed::decode_payload, testing::authed};

use crate::support::spawn;

#[tokio::test]
async fn approval_suspension_and_reinstatement_are_each_published_once() {
    let app = spawn().await;
    let observed = app.now() - TimeDelta::hours(3);
    app.record_at("r1", "p1", 720, observed).await.expect("720");
    app.record_at("r1", "p1", 720, observed).await.expect("retried 720");
    app.record("r2", "p1", 730, TimeDelta::hours(2)).await.expect("730");
    app.record("r3", "p1", 650, TimeDelta::hours(1)).await.expect("650");
    app.record("r4", "p1", 640, TimeDelta::minutes(30)).await.expect("640");
    app.record("r5", "p1", 710, TimeDelta::zero()).await.expect("710");

    let mut feed = FeedServiceClient::new(app.channel.clone());
    let request = WatchEventsRequest { topics: vec![topics::PROMOTER_STATUS.into()], ..Default::default() };
    let mut stream = feed.watch_events(authed(request, Role::Service, "storefront")).await.expect("watch").into_inner();
    let mut changes = Vec::new();
    while changes.len() < 3 {
        let batch = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("events arrive")
            .expect("stream open")
            .expect("batch");
        for event in batch.events {
            assert_eq!(event.key, "p1");
            let change: PromoterStatusChanged = decode_payload(&event).expect("payload");
            changes.push((change.previous_status(), change.status()));
        }
    }
    assert_eq!(
        changes,
        [
            (PromoterStatus::None, PromoterStatus::Approved),
            (PromoterStatus::Approved, PromoterStatus::Suspended),
            (PromoterStatus::Suspended, PromoterStatus::Approved),
        ]
    );
    // Nothing more follows.
    if let Ok(Some(Ok(batch))) = tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
        assert!(batch.events.is_empty(), "unexpected extra events {:?}", batch.events);
    }
}

#[tokio::test]
async fn only_services_follow_the_feed() {
    let app = spawn().await;
    let mut feed = FeedServiceClient::new(app.channel.clone());
    let err =
        feed.watch_events(authed(WatchEventsRequest::default(), Role::Promoter, "p1")).await.expect_err("promoter");
    assert_eq!(err.code(), Code::PermissionDenied);
    let bad = WatchEventsRequest { after: "not-a-cursor".into(), ..Default::default() };
    let err = feed.watch_events(authed(bad, Role::Service, "storefront")).await.expect_err("bad cursor");
    assert_eq!(err.code(), Code::InvalidArgument);
}
