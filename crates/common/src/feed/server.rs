//! `WatchEvents`: serves a producer's outbox in `(xid, seq)` order, and only rows
//! whose transaction id is below the oldest transaction still running. Every such
//! transaction has finished, so no row can later appear before the cursor: a
//! transaction that took its sequence numbers early but committed late is served
//! after it commits, never skipped.
use std::{pin::Pin, time::Duration};

use chrono::{DateTime, Utc};
use futures::Stream;
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use xiaopu_api::feed::{Event, WatchEventsRequest, WatchEventsResponse, feed_service_server::FeedService};

use super::position::Position;
use crate::{
    auth::{CallerExt, Role},
    error::{Invalid, database_status},
    time::to_timestamp,
};

const DEFAULT_BATCH: i64 = 500;
const MAX_BATCH: i64 = 5_000;
/// Fallback poll when no notification comes (e.g. the oldest running transaction
/// that held rows back has just ended).
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// An empty response this often keeps idle streams (and their proxies) alive.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// One row of the outbox as served.
#[derive(Debug, sqlx::FromRow)]
struct OutboxRow {
    xid: i64,
    seq: i64,
    event_id: uuid::Uuid,
    topic: String,
    key: String,
    type_url: String,
    payload: Vec<u8>,
    occurred_at: DateTime<Utc>,
}

/// Reads the next rows after `after` that are safe to serve.
async fn read_after(pool: &PgPool, after: Position, limit: i64) -> Result<Vec<OutboxRow>, sqlx::Error> {
    sqlx::query_as::<_, OutboxRow>(
        "SELECT xid::text::bigint AS xid, seq, event_id, topic, key, type_url, payload, occurred_at
         FROM outbox
         WHERE (xid, seq) > ($1::text::xid8, $2)
           AND xid < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY xid, seq
         LIMIT $3",
    )
    .bind(after.xid.to_string())
    .bind(after.seq)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The gRPC `FeedService` of one producer.
#[derive(Clone)]
pub struct FeedServer {
    pool: PgPool,
    wakeups: watch::Receiver<u64>,
    shutdown: CancellationToken,
}

impl FeedServer {
    /// Starts the outbox listener (one per process) and returns the service.
    pub fn new(pool: PgPool, shutdown: CancellationToken) -> Self {
        let (tx, wakeups) = watch::channel(0);
        tokio::spawn(listen_for_commits(pool.clone(), tx, shutdown.clone()));
        Self { pool, wakeups, shutdown }
    }
}

/// Bumps `wakeups` on every committed outbox insert (LISTEN/NOTIFY), reconnecting
/// after a lost connection; readers also poll, so a missed notification only delays.
async fn listen_for_commits(pool: PgPool, wakeups: watch::Sender<u64>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::debug!(error = %err, "outbox listener cannot connect yet");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(err) = listener.listen("xiaopu_outbox").await {
            tracing::debug!(error = %err, "outbox listener cannot listen");
            continue;
        }
        backoff = Duration::from_millis(200);
        loop {
            tokio::select! {
                note = listener.recv() => match note {
                    Ok(_) => wakeups.send_modify(|n| *n = n.wrapping_add(1)),
                    Err(err) => {
                        tracing::debug!(error = %err, "outbox listener lost its connection");
                        break;
                    }
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<WatchEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl FeedService for FeedServer {
    type WatchEventsStream = EventStream;

    #[tracing::instrument(skip_all, fields(after = %request.get_ref().after))]
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        request.caller()?.require_role(&[Role::Service, Role::Admin])?;
        let request = request.into_inner();
        let after = Position::parse(&request.after).map_err(Invalid::from)?;
        let batch = match i64::from(request.max_batch) {
            0 => DEFAULT_BATCH,
            n if (1..=MAX_BATCH).contains(&n) => n,
            _ => return Err(Invalid::field("max_batch", format!("must be between 0 and {MAX_BATCH}")).into()),
        };
        // Fail fast (Unavailable) if the database is down, rather than open a stream
        // that only ever errors.
        read_after(&self.pool, after, 1).await.map_err(|e| database_status(&e))?;

        let (tx, rx) = mpsc::channel(2);
        let stream = Subscription {
            pool: self.pool.clone(),
            wakeups: self.wakeups.clone(),
            shutdown: self.shutdown.clone(),
            topics: request.topics,
            batch,
            position: after,
        };
        tokio::spawn(stream.run(tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

struct Subscription {
    pool: PgPool,
    wakeups: watch::Receiver<u64>,
    shutdown: CancellationToken,
    topics: Vec<String>,
    batch: i64,
    position: Position,
}

impl Subscription {
    /// Sends batches until the client goes away or the server shuts down.
    async fn run(mut self, tx: mpsc::Sender<Result<WatchEventsResponse, Status>>) {
        let mut last_sent = tokio::time::Instant::now();
        loop {
            // Mark the wakeup counter seen *before* reading, so a commit between the
            // read and the wait still wakes us.
            self.wakeups.borrow_and_update();
            let rows = match read_after(&self.pool, self.position, self.batch).await {
                Ok(rows) => rows,
                Err(err) => {
                    let _ = tx.send(Err(database_status(&err))).await;
                    return;
                }
            };
            let full = rows.len() as i64 == self.batch;
            if !rows.is_empty() || last_sent.elapsed() >= HEARTBEAT_INTERVAL {
                let response = self.response(rows);
                if tx.send(Ok(response)).await.is_err() {
                    return; // client gone
                }
                last_sent = tokio::time::Instant::now();
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = self.wakeups.changed() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = tx.closed() => return,
                _ = self.shutdown.cancelled() => return,
            }
        }
    }

    fn response(&mut self, rows: Vec<OutboxRow>) -> WatchEventsResponse {
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            self.position = Position { xid: row.xid, seq: row.seq };
            if !self.topics.is_empty() && !self.topics.contains(&row.topic) {
                continue;
            }
            events.push(Event {
                event_id: row.event_id.to_string(),
                topic: row.topic,
                key: row.key,
                occurred_at: Some(to_timestamp(row.occurred_at)),
                payload: Some(prost_types::Any { type_url: row.type_url, value: row.payload }),
                cursor: self.position.to_string(),
            });
        }
        WatchEventsResponse { events, cursor: self.position.to_string() }
    }
}
