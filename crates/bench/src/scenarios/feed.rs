//! Commission events carried from attribution's outbox into a fresh settlement, on
//! each transport in the same run: the outbox stream (`WatchEvents`), the baseline,
//! and NATS JetStream (the relay publishes the outbox to a stream, settlement follows
//! a durable consumer). Each figure is events applied per second, from the moment the
//! last process in the path starts until settlement has applied every event.
use std::time::{Duration, Instant};

use xiaopu_api::attribution::{self as pb, attribution_service_client::AttributionServiceClient};
use xiaopu_common::{auth::Role, testing::nats::Nats};

use super::{
    ingest::{event, inputs, share_code},
    shop_page::BenchShop,
};
use crate::{
    harness::{Row, drain, progress},
    system::System,
};

/// At least this many commission events are carried (the ingest scenario, when it
/// ran first, has left more).
const EVENTS: i64 = 20_000;
const COMMISSION: &str = "SELECT count(*) FROM outbox WHERE topic = 'attribution.commission'";

async fn count(pool: &sqlx::PgPool, sql: &str) -> anyhow::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await?;
    Ok(n)
}

/// Waits until `pool`'s settlement has applied `events` of attribution's events.
async fn applied(pool: &sqlx::PgPool, events: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while count(pool, "SELECT count(*) FROM feed_inbox WHERE feed = 'attribution'").await? < events {
        anyhow::ensure!(Instant::now() < deadline, "settlement did not apply {events} events in 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Paid orders through attribution until its outbox holds `EVENTS` commission events.
async fn seed(system: &System, shop: &BenchShop, attribution: &sqlx::PgPool) -> anyhow::Result<()> {
    let missing = EVENTS - count(attribution, COMMISSION).await?;
    if missing <= 0 {
        return Ok(());
    }
    progress(&format!("feed: {missing} paid orders into attribution"));
    let code = share_code(system, shop).await?;
    let client = AttributionServiceClient::new(system.client("attribution", Role::Service, "order-system")?);
    let orders = inputs(&format!("feed{}", uuid::Uuid::new_v4().simple()), missing as usize, &shop.products);
    let batches: Vec<Vec<pb::OrderEvent>> =
        orders.chunks(1000).map(|chunk| chunk.iter().map(|i| event(i, &shop.supplier_id, &code)).collect()).collect();
    let stats = drain(batches, 2, move |events: Vec<pb::OrderEvent>| {
        let mut client = client.clone();
        async move {
            client.ingest_events(pb::IngestEventsRequest { events }).await?;
            Ok(())
        }
    })
    .await;
    anyhow::ensure!(stats.errors == 0, "{} ingest calls failed", stats.errors);
    Ok(())
}

pub async fn run(system: &System, shop: &BenchShop) -> anyhow::Result<Vec<Row>> {
    let attribution = system.database("attribution").await?;
    seed(system, shop, &attribution).await?;
    let events = count(&attribution, COMMISSION).await?;

    progress(&format!("feed: {events} commission events to a fresh settlement over the outbox stream"));
    let started = Instant::now();
    let on_outbox = system.spawn("settlement", "feed_outbox", true, &[]).await?;
    applied(&system.database("feed_outbox").await?, events).await?;
    let outbox_rate = events as f64 / started.elapsed().as_secs_f64();
    drop(on_outbox);

    progress(&format!("feed: the same {events} events over NATS JetStream (relay, stream, durable consumer)"));
    let nats = Nats::single().await;
    let mut env = nats.service_env();
    env.push(("XIAOPU_FEED__NATS__CONSUMER_NAME".into(), "bench-settlement".into()));
    let on_jetstream = system.spawn("settlement", "feed_jetstream", true, &env).await?;
    // The relay: a replica of attribution on its database, on JetStream (the running
    // attribution keeps following the storefront; this one's consumer stands by).
    let started = Instant::now();
    let relay = system.spawn("attribution", "attribution", false, &env).await?;
    let stream = xiaopu_common::feed::jetstream::stream_name("attribution");
    let relayed = wait_relayed(&attribution, &stream, &attribution_last(&attribution).await?).await?;
    let relay_secs = relayed.duration_since(started).as_secs_f64();
    applied(&system.database("feed_jetstream").await?, events).await?;
    let jetstream_rate = events as f64 / started.elapsed().as_secs_f64();
    drop((relay, on_jetstream, nats));

    let baseline = format!("outbox stream (WatchEvents) to settlement: {outbox_rate:.0} events/s");
    Ok(vec![
        Row {
            operation: format!("commission events → settlement, outbox stream ({events} events)"),
            figure: format!("{outbox_rate:.0} events/s"),
            p50_ms: None,
            p99_ms: None,
            baseline: String::new(),
            ratio: None,
            note: "the default transport; settlement applies in batches of 500".into(),
        },
        Row {
            operation: format!("commission events → settlement, JetStream ({events} events)"),
            figure: format!("{jetstream_rate:.0} events/s"),
            p50_ms: None,
            p99_ms: None,
            baseline,
            ratio: Some(jetstream_rate / outbox_rate),
            note: format!(
                "relay outbox → stream alone: {:.0} events/s (all events of the outbox)",
                events as f64 / relay_secs
            ),
        },
    ])
}

/// The position of the last row of attribution's outbox (every topic).
async fn attribution_last(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    let (xid, seq): (i64, i64) =
        sqlx::query_as("SELECT xid::text::bigint, seq FROM outbox ORDER BY xid DESC, seq DESC LIMIT 1")
            .fetch_one(pool)
            .await?;
    Ok(format!("{xid}.{seq}"))
}

/// When the relay's stored position reached `last`.
async fn wait_relayed(pool: &sqlx::PgPool, stream: &str, last: &str) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let position: Option<(String,)> = sqlx::query_as("SELECT position FROM feed_relay WHERE stream = $1")
            .bind(stream)
            .fetch_optional(pool)
            .await?;
        if position.is_some_and(|(p,)| p == last) {
            return Ok(Instant::now());
        }
        anyhow::ensure!(Instant::now() < deadline, "the relay did not publish the outbox in 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
