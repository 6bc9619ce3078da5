//! The feed end to end: a real outbox in PostgreSQL, the real `WatchEvents` server on
//! a loopback port, and the real consumer loop. Commit orders are forced with open
//! transactions so the classic trap (a late commit hiding behind the cursor) is
//! exercised, not hoped for.
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use xiaopu_api::{
    feed::{Event, WatchEventsRequest, WatchEventsResponse, feed_service_client::FeedServiceClient},
    types::Money,
};
use xiaopu_common::{
    auth::{TokenSigner, TokenVerifier},
    config::{FeedTransportKind, UpstreamSettings},
    db,
    feed::{ApplyError, Delivered, Delivery, EventHandler, FeedConsumer, FeedTransport, OutboxEvent, publish},
    server::{Infra, RunningServer},
    testing::{self, TestDatabase, eventually, nats::Nats},
    transport_matrix,
};

/// The producer, whose topics are `test.…`; the consumer follows it in the same database.
const PRODUCER: &str = "test";

struct FeedApp {
    _db: TestDatabase,
    pool: PgPool,
    server: RunningServer,
    infra: Infra,
    _nats: Option<Nats>,
}

async fn spawn(transport: FeedTransportKind) -> FeedApp {
    spawn_with(2 * 16, transport).await
}

/// A producer serving at most `max_streams` feed streams at once, its events
/// carried by `transport`.
async fn spawn_with(max_streams: usize, transport: FeedTransportKind) -> FeedApp {
    testing::init_logs();
    let db = TestDatabase::create("feed").await;
    let mut settings = testing::common_settings(&db.url, "feedtest");
    settings.server.max_feed_streams = max_streams;
    let nats = match transport {
        FeedTransportKind::Outbox => None,
        FeedTransportKind::Jetstream => Some(Nats::single().await),
    };
    settings.feed.transport = transport;
    if let Some(nats) = &nats {
        settings.feed.nats.url = nats.url();
        // A consumer killed mid-delivery leaves messages that come back after this.
        settings.feed.nats.ack_wait_ms = 1_000;
    }
    let client = match &nats {
        Some(_) => Some(xiaopu_common::feed::jetstream::connect(&settings.feed.nats, PRODUCER).await.expect("nats")),
        None => None,
    };
    let pool = db.connect().await;
    db::feed_migrator().run(&pool).await.expect("migrate");
    sqlx::query("CREATE TABLE applied (n bigserial PRIMARY KEY, event_id text NOT NULL, key text NOT NULL)")
        .execute(&pool)
        .await
        .expect("applied table");
    let infra = Infra {
        name: PRODUCER,
        nats: client,
        settings: settings.clone(),
        pool: pool.clone(),
        verifier: Arc::new(TokenVerifier::from_settings(&settings.auth).expect("verifier")),
        signer: TokenSigner::from_settings(&settings.auth).expect("signer"),
        shutdown: CancellationToken::new(),
    };
    let server = infra.server().add_service(infra.feed_service()).bind().await.expect("serve");
    FeedApp { _db: db, pool, server, infra, _nats: nats }
}

impl FeedApp {
    fn upstream(&self) -> UpstreamSettings {
        UpstreamSettings {
            timeout_ms: 5_000,
            connect_timeout_ms: 1_000,
            ..UpstreamSettings::new(&format!("http://{}", self.server.local_addr))
        }
    }

    fn transport(&self) -> Arc<dyn FeedTransport> {
        self.infra.feed_transport(&self.upstream(), "test").expect("transport")
    }

    /// Opens a `WatchEvents` stream as a service would.
    async fn watch(&self) -> Result<tonic::Streaming<WatchEventsResponse>, tonic::Status> {
        let channel = self.infra.upstream(&self.upstream(), "test").expect("channel");
        let request = WatchEventsRequest { after: String::new(), topics: Vec::new(), max_batch: 0 };
        FeedServiceClient::new(channel).watch_events(request).await.map(tonic::Response::into_inner)
    }

    fn consumer(&self, handler: Recorder) -> FeedConsumer<Recorder> {
        FeedConsumer::new(PRODUCER, self.pool.clone(), self.transport(), &[], handler)
    }

    async fn applied(&self) -> Vec<String> {
        sqlx::query_as::<_, (String,)>("SELECT key FROM applied ORDER BY n")
            .fetch_all(&self.pool)
            .await
            .expect("applied")
            .into_iter()
            .map(|(k,)| k)
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<String> {
        eventually(&format!("{count} events are applied"), Duration::from_secs(20), || async {
            let applied = self.applied().await;
            (applied.len() >= count).then_some(applied)
        })
        .await
    }
}

fn event(key: &str) -> OutboxEvent {
    let body = Money { minor_units: 1, currency: "CNY".into() };
    OutboxEvent::new(uuid::Uuid::new_v4(), "test.topic", key, &body)
}

/// Records every event it is asked to apply; fails once when told to.
#[derive(Clone, Default)]
struct Recorder {
    fail_on_key: Option<String>,
    failures_left: Arc<AtomicUsize>,
}

impl EventHandler for Recorder {
    async fn apply(&self, conn: &mut PgConnection, event: &Event) -> Result<(), ApplyError> {
        sqlx::query("INSERT INTO applied (event_id, key) VALUES ($1, $2)")
            .bind(&event.event_id)
            .bind(&event.key)
            .execute(&mut *conn)
            .await?;
        if self.fail_on_key.as_deref() == Some(event.key.as_str())
            && self.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
        {
            return Err(ApplyError::Malformed { event_id: event.event_id.clone(), why: "injected failure".into() });
        }
        Ok(())
    }
}

transport_matrix!(
    #[tokio::test]
    an_event_committed_after_a_later_one_is_still_delivered_once
);
async fn an_event_committed_after_a_later_one_is_still_delivered_once(transport: FeedTransportKind) {
    let app = spawn(transport).await;
    // A takes its transaction id first and writes last; B writes and commits in between.
    let mut a = app.pool.begin().await.expect("begin a");
    sqlx::query("SELECT pg_current_xact_id()").execute(&mut *a).await.expect("xid a");
    let mut b = app.pool.begin().await.expect("begin b");
    publish(&mut b, &event("b")).await.expect("publish b");
    b.commit().await.expect("commit b");
    publish(&mut a, &event("a")).await.expect("publish a");

    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(app.consumer(Recorder::default()).run(shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.applied().await, Vec::<String>::new(), "nothing is served while an older transaction runs");

    a.commit().await.expect("commit a");
    assert_eq!(app.wait_for(2).await, ["a", "b"], "transaction order, each once");
    publish(&mut app.pool.acquire().await.expect("conn"), &event("c")).await.expect("publish c");
    assert_eq!(app.wait_for(3).await, ["a", "b", "c"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.applied().await.len(), 3, "no redelivery");
    shutdown.cancel();
    consumer.await.expect("consumer stops");
}

transport_matrix!(
    #[tokio::test]
    concurrent_writers_and_a_restarted_consumer_apply_every_event_once
);
async fn concurrent_writers_and_a_restarted_consumer_apply_every_event_once(transport: FeedTransportKind) {
    let app = spawn(transport).await;
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(app.consumer(Recorder::default()).run(shutdown.clone()));

    // Writers whose transactions overlap and commit out of sequence order.
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let pool = app.pool.clone();
            tokio::spawn(async move {
                for i in 0..40 {
                    let mut tx = pool.begin().await.expect("begin");
                    for part in 0..(1 + (w + i) % 3) {
                        publish(&mut tx, &event(&format!("w{w}-{i}-{part}"))).await.expect("publish");
                    }
                    tokio::time::sleep(Duration::from_millis(((w * 7 + i * 13) % 5) as u64)).await;
                    tx.commit().await.expect("commit");
                }
            })
        })
        .collect();

    // Kill the consumer mid-stream and start a fresh one from its stored cursor.
    tokio::time::sleep(Duration::from_millis(150)).await;
    consumer.abort();
    let _ = consumer.await;
    let restarted = tokio::spawn(app.consumer(Recorder::default()).run(shutdown.clone()));
    for writer in writers {
        writer.await.expect("writer");
    }
    let total: usize = (0..6).map(|w| (0..40).map(|i| 1 + (w + i) % 3).sum::<usize>()).sum();
    let applied = app.wait_for(total).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let applied_after = app.applied().await;
    assert_eq!(applied_after.len(), total, "no event applied twice");
    let mut unique = applied.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), total, "every event applied exactly once");
    // Each writer's events arrive in the order it committed them.
    for w in 0..6 {
        let mine: Vec<&String> = applied.iter().filter(|k| k.starts_with(&format!("w{w}-"))).collect();
        let mut sorted = mine.clone();
        sorted.sort_by_key(|k| {
            let mut parts = k[1..].split(['-']).skip(1).map(|p| p.parse::<usize>().unwrap_or(0));
            (parts.next(), parts.next())
        });
        assert_eq!(mine, sorted, "writer {w} out of order");
    }
    shutdown.cancel();
    restarted.await.expect("consumer stops");
    app.server.stop().await.expect("server stops");
}

transport_matrix!(
    #[tokio::test]
    a_failed_batch_rolls_back_whole_and_is_retried
);
async fn a_failed_batch_rolls_back_whole_and_is_retried(transport: FeedTransportKind) {
    let app = spawn(transport).await;
    {
        let mut tx = app.pool.begin().await.expect("begin");
        for key in ["x1", "x2", "x3"] {
            publish(&mut tx, &event(key)).await.expect("publish");
        }
        tx.commit().await.expect("commit");
    }
    let handler = Recorder { fail_on_key: Some("x2".into()), failures_left: Arc::new(AtomicUsize::new(2)) };
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(app.consumer(handler).run(shutdown.clone()));
    assert_eq!(app.wait_for(3).await, ["x1", "x2", "x3"]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.applied().await.len(), 3, "the failed attempts left nothing behind");
    shutdown.cancel();
    consumer.await.expect("consumer stops");
}

#[tokio::test]
async fn the_same_event_id_published_twice_is_stored_once() {
    let app = spawn(FeedTransportKind::Outbox).await;
    let e = event("dup");
    let mut conn = app.pool.acquire().await.expect("conn");
    publish(&mut conn, &e).await.expect("first");
    publish(&mut conn, &e).await.expect("second");
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox").fetch_one(&app.pool).await.expect("count");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn streams_beyond_the_cap_are_refused_and_a_closed_one_frees_its_slot() {
    let app = spawn_with(2, FeedTransportKind::Outbox).await;
    let first = app.watch().await.expect("first stream");
    let _second = app.watch().await.expect("second stream");
    let refused = app.watch().await.expect_err("a third stream");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("2 feed streams"), "{refused:?}");

    drop(first);
    eventually("the first stream's slot is freed", Duration::from_secs(5), || async { app.watch().await.ok() }).await;
}

/// A JetStream delivery of `keys`, the first at stream sequence `first`, each event at
/// outbox position `1.<sequence>`.
fn sequenced(first: u64, keys: &[&str]) -> Delivery {
    let mut delivery = Delivery::default();
    for (n, key) in keys.iter().enumerate() {
        let sequence = first + n as u64;
        let body = Money { minor_units: 1, currency: "CNY".into() };
        let event = Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            topic: "test.topic".into(),
            key: (*key).into(),
            occurred_at: None,
            payload: Some(prost_types::Any::from_msg(&body).expect("any")),
            cursor: format!("1.{sequence}"),
        };
        delivery.cursor = event.cursor.clone();
        delivery.events.push(Delivered { event, sequence: Some(sequence) });
    }
    delivery
}

#[tokio::test]
async fn stream_messages_apply_in_sequence_a_redelivery_changes_nothing_and_a_gap_is_refused() {
    let app = spawn(FeedTransportKind::Outbox).await;
    let consumer = app.consumer(Recorder::default());
    consumer.apply_batch(&sequenced(1, &["a", "b"])).await.expect("1 and 2");
    // 2 comes again (an ack that was lost), with 3.
    let mut again = sequenced(2, &["b", "c"]);
    again.events[0].event.event_id = uuid::Uuid::new_v4().to_string();
    consumer.apply_batch(&again).await.expect("2 again and 3");
    assert_eq!(app.applied().await, ["a", "b", "c"], "the redelivered message is skipped by its sequence");

    let refused = consumer.apply_batch(&sequenced(5, &["e"])).await.expect_err("4 is missing");
    assert!(matches!(refused, ApplyError::OutOfOrder { expected: 4, got: 5 }), "{refused:?}");
    assert_eq!(app.applied().await.len(), 3, "nothing of the refused delivery applied");
    let cursor = consumer.cursor().await.expect("cursor");
    assert_eq!((cursor.position.as_str(), cursor.stream_seq), ("1.3", Some(3)), "the cursor stayed at 3");
    consumer.apply_batch(&sequenced(4, &["d", "e"])).await.expect("4 and 5, in order");
    assert_eq!(app.applied().await, ["a", "b", "c", "d", "e"]);
}
