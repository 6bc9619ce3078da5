//! kill -9 the settlement service while it applies 10,000 commission events, and again
//! in the middle of a period close. A second settlement instance on the same feed,
//! never crashed, is the control: after restarts, the crashed one's ledger, applied
//! events and batch must be the control's exactly.
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use xiaopu_api::settlement::{self as st, settlement_service_client::SettlementServiceClient};
use xiaopu_common::{auth::Role, config::FeedTransportKind, time::to_timestamp, transport_matrix};
use xiaopu_e2e::{
    books::{assert_ledger_balanced, assert_same_books, books, count},
    system::{QUICK_SETTLEMENT, System},
    world::{ingest_until_applied, onboard, paid_and_confirmed, payee, publish},
};

const PROMOTERS: usize = 40;
/// Paid and confirmed: two commission events per order, 10,000 in all.
const ORDERS: usize = 5_000;

transport_matrix!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    settlement_killed_mid_stream_and_mid_close_ends_with_the_same_books
);
async fn settlement_killed_mid_stream_and_mid_close_ends_with_the_same_books(transport: FeedTransportKind) {
    xiaopu_common::testing::init_logs();
    let mut system = System::up_to_attribution(transport).await;
    let product = publish(&system, "s-crash", "Pu'er cake", 10_000, 800).await;
    let mut codes = Vec::new();
    for p in 0..PROMOTERS {
        codes.push(onboard(&system, &format!("p{p}"), std::slice::from_ref(&product)).await.1);
    }
    system.caught_up("storefront", "attribution").await;
    let paid_at = Utc::now();
    let mut orders = xiaopu_api::attribution::attribution_service_client::AttributionServiceClient::new(system.client(
        "attribution",
        Role::Service,
        "order-system",
    ));
    let events = paid_and_confirmed(ORDERS, &product, "s-crash", &codes, paid_at);
    for chunk in events.chunks(1_000) {
        ingest_until_applied(&mut orders, chunk).await;
    }
    let attribution = system.pool("attribution").await;
    let published = count(&attribution, "SELECT count(*) FROM outbox WHERE topic = 'attribution.commission'").await;
    assert_eq!(published, 2 * ORDERS as i64, "one event per payment and per confirmation");

    // Both instances start on the same 10,000 events; one is killed mid-stream.
    system.add("control", "settlement", Some("attribution"), QUICK_SETTLEMENT).await;
    system.add("crashing", "settlement", Some("attribution"), QUICK_SETTLEMENT).await;
    for p in 0..PROMOTERS {
        for instance in ["control", "crashing"] {
            payee(&system, instance, &format!("p{p}")).await;
        }
    }
    let crashing = system.pool("crashing").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let applied_at_kill = loop {
        let applied = count(&crashing, "SELECT count(*) FROM feed_inbox").await;
        if applied >= 500 {
            system.process("crashing").kill();
            break applied;
        }
        assert!(Instant::now() < deadline, "settlement applied nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let after_kill = count(&crashing, "SELECT count(*) FROM feed_inbox").await;
    assert!(after_kill < published, "killed after the stream was applied ({after_kill}); the test proved nothing");
    system.restart("crashing").await;
    system.caught_up("attribution", "control").await;
    system.caught_up("attribution", "crashing").await;

    // The hold (zero) passes for every line on both.
    let settleable = "SELECT count(*) FROM position WHERE stage = 'settleable'";
    for name in ["control", "crashing"] {
        let pool = system.pool(name).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while count(&pool, settleable).await < ORDERS as i64 {
            assert!(Instant::now() < deadline, "{name}: lines did not become settleable");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let killed = format!("settlement killed at {applied_at_kill} applied");
    assert_same_books(&system.pool("control").await, &crashing, published, &killed).await;

    // Close the period on the control, timing it; then kill the other halfway through
    // its close, restart it and retry the same request.
    let (from, to) = (paid_at - TimeDelta::days(1), Utc::now());
    let close = st::ClosePeriodRequest {
        request_id: "close-november".into(),
        from: Some(to_timestamp(from)),
        to: Some(to_timestamp(to)),
    };
    let mut control = SettlementServiceClient::new(system.client("control", Role::Finance, "fiona"));
    let started = Instant::now();
    control.close_period(close.clone()).await.expect("control closes");
    let took = started.elapsed();
    let mut finance = SettlementServiceClient::new(system.client("crashing", Role::Finance, "fiona"));
    let first_try = tokio::spawn({
        let (mut finance, close) = (finance.clone(), close.clone());
        async move { finance.close_period(close).await }
    });
    tokio::time::sleep(took / 2).await;
    system.process("crashing").kill();
    let interrupted = first_try.await.expect("join");
    eprintln!(
        "control closed in {took:?}; the crashing close was killed after half that (interrupted: {})",
        interrupted.is_err()
    );
    system.restart("crashing").await;
    let batch = finance.close_period(close).await.expect("the retried close").into_inner().batch.expect("batch");
    assert_eq!(count(&crashing, "SELECT count(*) FROM batch").await, 1, "one batch, however many tries");

    let (control_balances, _, control_lines) = books(&system.pool("control").await).await;
    let (balances, _, lines) = books(&crashing).await;
    assert_eq!(lines.len(), PROMOTERS, "a line per promoter");
    assert_eq!(lines, control_lines, "the batch is the one a run without the crash made");
    assert_eq!(balances, control_balances);
    assert_ledger_balanced(&system, "crashing").await;
    assert!(!batch.batch_id.is_empty());
}
