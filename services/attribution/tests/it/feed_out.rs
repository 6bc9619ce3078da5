use std::time::Duration;

use tokio_stream::StreamExt;
use xiaopu_api::{
    attribution::{CommissionCause, CommissionChanged, LineState},
    feed::{WatchEventsRequest, feed_service_client::FeedServiceClient},
    topics,
};
use xiaopu_common::{auth::Role, feed::decode_payload, testing::authed};

use crate::support::{confirmed, days, line, paid, refund, spawn};

#[tokio::test]
async fn each_commission_change_leaves_on_the_feed_once() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    app.clock.advance(days(10));
    let order = paid("o1", "b1", s + days(1), &w.code, vec![line("l1", &w.product, "s1", 19900)]);
    app.ingest(vec![order.clone(), order]).await;
    app.ingest(vec![confirmed("o1", s + days(2)), confirmed("o1", s + days(2))]).await;
    app.ingest(vec![refund("r1", "o1", "l1", 9950, s + days(3))]).await;
    app.ingest(vec![refund("r1", "o1", "l1", 9950, s + days(3)), refund("r2", "o1", "l1", 9950, s + days(4))]).await;

    let mut feed = FeedServiceClient::new(app.channel.clone());
    let request = WatchEventsRequest { topics: vec![topics::COMMISSION.into()], ..Default::default() };
    let mut stream = feed.watch_events(authed(request, Role::Service, "settlement")).await.expect("watch").into_inner();
    let mut changes = Vec::new();
    while changes.len() < 4 {
        let batch = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("events")
            .expect("open")
            .expect("ok");
        for event in batch.events {
            let c: CommissionChanged = decode_payload(&event).expect("payload");
            changes.push((
                c.cause(),
                c.previous_commission.as_ref().expect("p").minor_units,
                c.commission.as_ref().expect("c").minor_units,
                c.state(),
            ));
        }
    }
    assert_eq!(
        changes,
        [
            (CommissionCause::Payment, 0, 1094, LineState::Paid),
            (CommissionCause::Confirmation, 1094, 1094, LineState::Received),
            (CommissionCause::Refund, 1094, 547, LineState::Received),
            (CommissionCause::Refund, 547, 0, LineState::Void),
        ]
    );
    if let Ok(Some(Ok(batch))) = tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
        assert!(batch.events.is_empty(), "duplicates published nothing more: {:?}", batch.events);
    }
}
