//! Events on a 3-node JetStream cluster (3-replica streams) under load: the node
//! leading attribution's stream and the attribution replica running the relay are
//! killed with SIGKILL mid-stream. The other replica's relay takes over, the stream
//! elects a new leader, and settlement on JetStream ends with every commission event
//! applied exactly once, a ledger that sums to zero, and the books of a control
//! settlement that followed the outbox stream instead.
use std::time::Duration;

use chrono::Utc;
use xiaopu_api::attribution::attribution_service_client::AttributionServiceClient;
use xiaopu_common::{
    auth::Role,
    feed::jetstream::stream_name,
    testing::{eventually, nats::Nats},
};
use xiaopu_e2e::{
    books::{assert_ledger_balanced, assert_same_books, count},
    system::{QUICK_SETTLEMENT, System},
    world::{ingest_until_applied, onboard, paid_and_confirmed, publish},
};

const PROMOTERS: usize = 20;
/// Paid and confirmed: two commission events per order, 6,000 in all.
const ORDERS: usize = 3_000;
const COMMISSION: &str = "SELECT count(*) FROM outbox WHERE topic = 'attribution.commission'";

fn log_says(system: &System, instance: &str, text: &str) -> bool {
    std::fs::read_to_string(system.processes[instance].log_path()).is_ok_and(|log| log.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_node_and_the_relay_killed_mid_stream_lose_and_double_no_commission() {
    xiaopu_common::testing::init_logs();
    let mut system = System::on_nats(Nats::cluster().await);
    system.add("eligibility", "eligibility", None, &[]).await;
    system.add("storefront", "storefront", Some("eligibility"), &[]).await;
    system.add("attribution", "attribution", Some("storefront"), &[]).await;
    // A second attribution replica on the same database: its relay stands by.
    system.add_replica("attribution-standby", "attribution").await;
    let product = publish(&system, "s-cluster", "Tieguanyin", 10_000, 800).await;
    let mut codes = Vec::new();
    for p in 0..PROMOTERS {
        codes.push(onboard(&system, &format!("p{p}"), std::slice::from_ref(&product)).await.1);
    }
    system.caught_up("storefront", "attribution").await;
    assert!(log_says(&system, "attribution", "relay active"), "the first replica relays");
    assert!(!log_says(&system, "attribution-standby", "relay active"), "the standby waits");

    // Settlement on JetStream, and a control on the outbox stream of the replica
    // that survives.
    system.add("settlement", "settlement", Some("attribution-standby"), QUICK_SETTLEMENT).await;
    let control = [QUICK_SETTLEMENT, &[("XIAOPU_FEED__TRANSPORT", "outbox")]].concat();
    system.add("control", "settlement", Some("attribution-standby"), &control).await;

    // The order system sends 6,000 commission events' worth of orders to the replica
    // that survives, while the relay publishes them.
    let events = paid_and_confirmed(ORDERS, &product, "s-cluster", &codes, Utc::now());
    let mut orders = AttributionServiceClient::new(system.client("attribution-standby", Role::Service, "orders"));
    let load = tokio::spawn(async move {
        for chunk in events.chunks(500) {
            ingest_until_applied(&mut orders, chunk).await;
        }
    });

    let on_nats = system.pool("settlement").await;
    let applied_at_kill = eventually("settlement applies events from JetStream", Duration::from_secs(60), || async {
        let applied = count(&on_nats, "SELECT count(*) FROM feed_inbox").await;
        (applied >= 1_000).then_some(applied)
    })
    .await;
    let stream = stream_name("attribution");
    let leading = system.nats.as_ref().expect("nats").stream_leader(&stream).await;
    let nodes = &mut system.nats.as_mut().expect("nats").nodes;
    nodes.iter_mut().find(|n| n.name == leading).expect("the leader is one of ours").kill();
    system.process("attribution").kill();
    eprintln!("killed NATS node {leading} (leading {stream}) and the relaying replica at {applied_at_kill} applied");

    load.await.expect("the order system's load");
    let attribution = system.pool("attribution").await;
    let published = count(&attribution, COMMISSION).await;
    assert_eq!(published, 2 * ORDERS as i64, "one event per payment and per confirmation");
    let applied_then = count(&on_nats, "SELECT count(*) FROM feed_inbox").await;
    assert!(applied_then < published, "everything was applied before the kill ({applied_then}); it proved nothing");
    eventually("the standby replica relays", Duration::from_secs(30), || async {
        log_says(&system, "attribution-standby", "relay active").then_some(())
    })
    .await;
    let survivors: Vec<String> = system.nats.as_ref().expect("nats").nodes.iter().map(|n| n.name.clone()).collect();
    let new_leader = system.nats.as_ref().expect("nats").stream_leader(&stream).await;
    assert_ne!(new_leader, leading, "a new leader among {survivors:?}");

    for instance in ["settlement", "control"] {
        let pool = system.pool(instance).await;
        eventually(&format!("{instance} applies every commission event"), Duration::from_secs(120), || async {
            (count(&pool, "SELECT count(*) FROM feed_inbox WHERE feed = 'attribution'").await >= published)
                .then_some(())
        })
        .await;
    }
    // Anything still in flight would show as more applied events or other balances.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed = format!("NATS node {leading} and the relay killed at {applied_at_kill} applied");
    assert_same_books(&system.pool("control").await, &on_nats, published, &killed).await;
    assert_ledger_balanced(&system, "settlement").await;
}
