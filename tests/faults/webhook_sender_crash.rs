//! kill -9 settlement while it delivers 200 webhooks to a slow receiver, then start it
//! again: every event arrives under one id (however often it is sent), signed, and
//! no event is missing.
use std::{collections::BTreeSet, time::Duration};

use chrono::Utc;
use xiaopu_api::settlement::{self as st, settlement_service_client::SettlementServiceClient};
use xiaopu_common::{auth::Role, config::FeedTransportKind, testing::eventually};
use xiaopu_e2e::{
    system::{QUICK_SETTLEMENT, System},
    world::{ingest_until_applied, onboard, paid_and_confirmed, publish},
};
use xiaopu_testkit::webhooks::Receiver;

const ORDERS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_killed_while_delivering_webhooks_sends_each_event_under_one_id() {
    xiaopu_common::testing::init_logs();
    let mut system = System::up_to_attribution(FeedTransportKind::Outbox).await;
    let quick: Vec<(&str, &str)> = QUICK_SETTLEMENT
        .iter()
        .copied()
        .chain([
            ("XIAOPU_SETTLEMENT__WEBHOOK_INTERVAL_MS", "50"),
            // The receiver listens on loopback.
            ("XIAOPU_SETTLEMENT__WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
        ])
        .collect();
    system.add("settlement", "settlement", Some("attribution"), &quick).await;
    let product = publish(&system, "s-hook", "Tieguanyin", 10_000, 800).await;
    let (_, code) = onboard(&system, "p-hook", std::slice::from_ref(&product)).await;
    system.caught_up("storefront", "attribution").await;

    let receiver = Receiver::start().await;
    // Slow enough that the kill lands mid-way through the deliveries.
    receiver.set_delay(Duration::from_millis(20));
    let mut settlement = SettlementServiceClient::new(system.client("settlement", Role::Promoter, "p-hook"));
    let request = st::CreateWebhookRequest {
        request_id: "hook-1".into(),
        url: receiver.url(),
        events: vec![st::WebhookEvent::LineAttributed.into()],
    };
    let hook = settlement.create_webhook(request).await.expect("webhook").into_inner();
    receiver.set_secret(&hook.secret);

    let mut orders = xiaopu_api::attribution::attribution_service_client::AttributionServiceClient::new(system.client(
        "attribution",
        Role::Service,
        "order-system",
    ));
    let events = paid_and_confirmed(ORDERS, &product, "s-hook", &[code], Utc::now());
    ingest_until_applied(&mut orders, &events).await;

    eventually("a quarter of the deliveries arrived", Duration::from_secs(60), || async {
        (receiver.accepted_ids().len() >= ORDERS / 4).then_some(())
    })
    .await;
    system.process("settlement").kill();
    let at_kill = receiver.accepted_ids().len();
    assert!(at_kill < ORDERS, "killed after every delivery ({at_kill}); the test proved nothing");
    system.restart("settlement").await;
    system.caught_up("attribution", "settlement").await;

    let ids = eventually("every event delivered", Duration::from_secs(90), || async {
        let ids = receiver.accepted_ids();
        (ids.len() >= ORDERS).then_some(ids)
    })
    .await;
    let received = receiver.received();
    assert!(received.iter().all(|r| r.verified.is_ok()), "every request carried a good signature");
    let mut lines_by_id = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    for r in &received {
        let line = r.json()["data"]["line_id"].as_str().expect("line id").to_owned();
        lines_by_id.entry(r.id.clone()).or_default().insert(line);
    }
    assert_eq!(ids.len(), ORDERS, "one id per event: {} ids for {ORDERS} lines", ids.len());
    assert!(lines_by_id.values().all(|lines| lines.len() == 1), "an id always names the same line");
    let lines: BTreeSet<&String> = lines_by_id.values().flatten().collect();
    assert_eq!(lines.len(), ORDERS, "every line told of, none under two ids");
}
