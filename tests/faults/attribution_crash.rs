//! kill -9 attribution during bulk ingest while the order system's clients retry the
//! same event ids: afterwards every line is there once, with its commission, and
//! announced to settlement exactly once.
use std::time::{Duration, Instant};

use chrono::Utc;
use xiaopu_api::attribution::attribution_service_client::AttributionServiceClient;
use xiaopu_common::{auth::Role, config::FeedTransportKind, transport_matrix};
use xiaopu_e2e::{
    system::System,
    world::{ingest_until_applied, onboard, publish},
};
use xiaopu_money::{Bps, Minor};
use xiaopu_testkit::events::{line, paid};

const CLIENTS: usize = 4;
const BATCHES: usize = 10;
const PER_BATCH: usize = 200;

transport_matrix!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    attribution_killed_during_ingest_loses_and_doubles_no_line
);
async fn attribution_killed_during_ingest_loses_and_doubles_no_line(transport: FeedTransportKind) {
    xiaopu_common::testing::init_logs();
    let mut system = System::up_to_attribution(transport).await;
    let product = publish(&system, "s-kill", "Oolong", 5_000, 1_250).await;
    let (_, code) = onboard(&system, "p-kill", std::slice::from_ref(&product)).await;
    system.caught_up("storefront", "attribution").await;

    let paid_at = Utc::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut client =
                AttributionServiceClient::new(system.client("attribution", Role::Service, &format!("orders-{c}")));
            let (product, code) = (product.clone(), code.clone());
            tokio::spawn(async move {
                for b in 0..BATCHES {
                    let batch: Vec<_> = (0..PER_BATCH)
                        .map(|i| {
                            let n = (c * BATCHES + b) * PER_BATCH + i;
                            let lines = vec![line(&format!("l{n}"), &product, "s-kill", 1_001 + n as i64)];
                            paid(&format!("o{n}"), &format!("b{n}"), paid_at, &code, lines)
                        })
                        .collect();
                    ingest_until_applied(&mut client, &batch).await;
                }
            })
        })
        .collect();

    let attribution = system.pool("attribution").await;
    let total = (CLIENTS * BATCHES * PER_BATCH) as i64;
    let lines = |pool: sqlx::PgPool| async move {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM order_line").fetch_one(&pool).await.expect("count");
        n
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines(attribution.clone()).await < total / 5 {
        assert!(Instant::now() < deadline, "ingest made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    system.process("attribution").kill();
    let at_kill = lines(attribution.clone()).await;
    assert!(at_kill < total, "killed after ingest ended; the test proved nothing");
    tokio::time::sleep(Duration::from_millis(300)).await;
    system.restart("attribution").await;
    for client in clients {
        client.await.expect("a client gave up");
    }

    assert_eq!(lines(attribution.clone()).await, total, "killed at {at_kill}: every line is there");
    let (orders,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM paid_order").fetch_one(&attribution).await.expect("orders");
    assert_eq!(orders, total);
    // Each line announced once, with its commission at 12.5 %, rounded half to even.
    let announced: Vec<(String, i64)> = sqlx::query_as(
        "SELECT key, count(*) FROM outbox WHERE topic = 'attribution.commission' GROUP BY key HAVING count(*) <> 1",
    )
    .fetch_all(&attribution)
    .await
    .expect("announcements");
    assert!(announced.is_empty(), "lines announced other than once: {announced:?}");
    let (events,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox WHERE topic = 'attribution.commission'")
        .fetch_one(&attribution)
        .await
        .expect("events");
    assert_eq!(events, total);
    let stored: Vec<(String, bool, i64, i64)> =
        sqlx::query_as("SELECT line_id, attributed, paid_minor, commission_minor FROM order_line")
            .fetch_all(&attribution)
            .await
            .expect("lines");
    let wrong: Vec<_> = stored
        .iter()
        .filter(|(_, attributed, paid, commission)| {
            !attributed || *commission != Minor::new(*paid).at(Bps::clamped(1_250)).get()
        })
        .collect();
    assert!(wrong.is_empty(), "lines with the wrong commission: {:?}", &wrong[..wrong.len().min(5)]);
}
