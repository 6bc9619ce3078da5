//! `WatchEvents`: serves a producer's outbox in `(xid, seq)` order, and only rows
//! whose transaction id is below the oldest transaction still running. Every such
//! transaction has finished, so no row can later appear before the cursor: a
//! transaction that took its sequence numbers early but committed late is served
//! after it commits, never skipped.
use std::{pin::Pin, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::Stream;
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use xiaopu_api::feed::{
    Event, GetBacklogRequest, GetBacklogResponse, WatchEventsRequest, WatchEventsResponse,
    feed_service_server::FeedService,
};

use super::{backlog, position::Position};
use crate::{
    auth::{CallerExt, Role},
    error::{Invalid, database_status, status_with_reason},
    time::to_timestamp,
};

const DEFAULT_BATCH: i64 = 500;
/// Keys a backlog lists by default, and at most.
const DEFAULT_BACKLOG_KEYS: i64 = 10_000;
const MAX_BACKLOG_KEYS: i64 = 100_000;
const MAX_BATCH: i64 = 5_000;
/// Rows read from the outbox at a time, whatever the batch: what a stream holds
/// while its consumer is slow.
const READ_ROWS: i64 = 500;
/// The most payload one response carries: a batch is split into responses of at
/// most this many bytes, so what a slow consumer pins stays small whatever its batch.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// How long a response may wait for a consumer that does not read. After that the
/// stream ends (the consumer resumes from its cursor when it reconnects), so a stalled
/// consumer cannot hold a stream slot and its buffers forever.
const SEND_PATIENCE: Duration = Duration::from_secs(60);
/// Fallback poll when no notification comes (e.g. the oldest running transaction
/// that held rows back has just ended).
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// An empty response this often keeps idle streams (and their proxies) alive.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// One row of the outbox as served.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct OutboxRow {
    xid: i64,
    seq: i64,
    pub(super) event_id: uuid::Uuid,
    pub(super) topic: String,
    key: String,
    type_url: String,
    payload: Vec<u8>,
    occurred_at: DateTime<Utc>,
}

impl OutboxRow {
    pub(super) fn position(&self) -> Position {
        Position { xid: self.xid, seq: self.seq }
    }

    /// The row as an event, carrying its own position as its cursor.
    pub(super) fn into_event(self) -> Event {
        Event {
            cursor: self.position().to_string(),
            event_id: self.event_id.to_string(),
            topic: self.topic,
            key: self.key,
            occurred_at: Some(to_timestamp(self.occurred_at)),
            payload: Some(prost_types::Any { type_url: self.type_url, value: self.payload }),
        }
    }
}

/// Reads the next rows after `after` that are safe to serve.
pub(super) async fn read_after(pool: &PgPool, after: Position, limit: i64) -> Result<Vec<OutboxRow>, sqlx::Error> {
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
    /// One permit per open stream: consumers are few (one per consuming replica), so
    /// a flood of streams is refused rather than allowed to pin memory.
    streams: Arc<Semaphore>,
    max_streams: usize,
}

impl FeedServer {
    /// Starts the outbox listener (one per process) and returns the service, serving
    /// at most `max_streams` streams at once.
    pub fn new(pool: PgPool, shutdown: CancellationToken, max_streams: usize) -> Self {
        let (tx, wakeups) = watch::channel(0);
        tokio::spawn(listen_for_commits(pool.clone(), tx, shutdown.clone()));
        Self { pool, wakeups, shutdown, streams: Arc::new(Semaphore::new(max_streams)), max_streams }
    }
}

/// Bumps `wakeups` on every committed outbox insert (LISTEN/NOTIFY), reconnecting
/// after a lost connection; readers also poll, so a missed notification only delays.
pub(super) async fn listen_for_commits(pool: PgPool, wakeups: watch::Sender<u64>, shutdown: CancellationToken) {
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
    async fn get_backlog(&self, request: Request<GetBacklogRequest>) -> Result<Response<GetBacklogResponse>, Status> {
        request.caller()?.require_role(&[Role::Service, Role::Admin])?;
        let request = request.into_inner();
        let after = Position::parse(&request.after).map_err(Invalid::from)?;
        let max_keys = match i64::from(request.max_keys) {
            0 => DEFAULT_BACKLOG_KEYS,
            n if (1..=MAX_BACKLOG_KEYS).contains(&n) => n,
            _ => {
                let rule = format!("must be between 0 and {MAX_BACKLOG_KEYS}");
                return Err(Invalid::field("max_keys", rule).into());
            }
        };
        let backlog =
            backlog::read(&self.pool, after, &request.topics, max_keys).await.map_err(|e| database_status(&e))?;
        Ok(Response::new(GetBacklogResponse {
            events: backlog.events,
            keys: backlog.keys,
            truncated: backlog.truncated,
            oldest_occurred_at: backlog.oldest.map(to_timestamp),
        }))
    }

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
        let permit = self.streams.clone().try_acquire_owned().map_err(|_| {
            status_with_reason(
                tonic::Code::ResourceExhausted,
                crate::error::reason::TOO_MANY_STREAMS,
                format!("this producer already serves {} feed streams; retry later", self.max_streams),
            )
        })?;
        // Fail fast (Unavailable) if the database is down, rather than open a stream
        // that only ever errors.
        read_after(&self.pool, after, 1).await.map_err(|e| database_status(&e))?;

        // One response queued at most: with responses capped in size, a consumer that
        // stops reading pins a small constant, not its whole backlog.
        let (tx, rx) = mpsc::channel(1);
        let stream = Subscription {
            pool: self.pool.clone(),
            wakeups: self.wakeups.clone(),
            shutdown: self.shutdown.clone(),
            topics: request.topics,
            batch,
            position: after,
            _permit: permit,
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
    /// Held while the stream is open.
    _permit: OwnedSemaphorePermit,
}

impl Subscription {
    /// Sends batches until the client goes away or the server shuts down.
    async fn run(mut self, tx: mpsc::Sender<Result<WatchEventsResponse, Status>>) {
        let mut last_sent = tokio::time::Instant::now();
        loop {
            // Mark the wakeup counter seen *before* reading, so a commit between the
            // read and the wait still wakes us.
            self.wakeups.borrow_and_update();
            let limit = self.batch.min(READ_ROWS);
            let rows = match read_after(&self.pool, self.position, limit).await {
                Ok(rows) => rows,
                Err(err) => {
                    let _ = tx.send(Err(database_status(&err))).await;
                    return;
                }
            };
            let full = rows.len() as i64 == limit;
            if !rows.is_empty() || last_sent.elapsed() >= HEARTBEAT_INTERVAL {
                for response in self.responses(rows) {
                    match tokio::time::timeout(SEND_PATIENCE, tx.send(Ok(response))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return, // client gone
                        Err(_) => {
                            tracing::warn!("feed consumer stopped reading; ending its stream");
                            return;
                        }
                    }
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

    /// The rows as responses of at most [`MAX_RESPONSE_BYTES`] of payload each (one
    /// empty response, a heartbeat, when there are none), each with its cursor.
    fn responses(&mut self, rows: Vec<OutboxRow>) -> Vec<WatchEventsResponse> {
        let mut responses = Vec::new();
        let mut events = Vec::new();
        let mut bytes = 0;
        for row in rows {
            self.position = row.position();
            if !self.topics.is_empty() && !self.topics.contains(&row.topic) {
                continue;
            }
            let size = row.payload.len() + row.key.len() + row.topic.len() + row.type_url.len();
            if !events.is_empty() && bytes + size > MAX_RESPONSE_BYTES {
                let cursor = events.last().map(|e: &Event| e.cursor.clone()).unwrap_or_default();
                responses.push(WatchEventsResponse { events: std::mem::take(&mut events), cursor });
                bytes = 0;
            }
            bytes += size;
            events.push(row.into_event());
        }
        responses.push(WatchEventsResponse { events, cursor: self.position.to_string() });
        responses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, payload_bytes: usize) -> OutboxRow {
        OutboxRow {
            xid: 7,
            seq,
            event_id: uuid::Uuid::now_v7(),
            topic: "t".into(),
            key: "k".into(),
            type_url: "u".into(),
            payload: vec![0; payload_bytes],
            occurred_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn a_batch_is_split_into_bounded_responses_each_with_its_cursor() {
        let (_, wakeups) = watch::channel(0);
        let mut subscription = Subscription {
            pool: PgPool::connect_lazy("postgres://unused").expect("lazy pool"),
            wakeups,
            shutdown: CancellationToken::new(),
            topics: Vec::new(),
            batch: 500,
            position: Position { xid: 0, seq: 0 },
            _permit: Arc::new(Semaphore::new(1)).try_acquire_owned().expect("permit"),
        };
        let rows: Vec<OutboxRow> = (1..=100).map(|seq| row(seq, 10 * 1024)).collect();
        let responses = subscription.responses(rows);
        assert!(responses.len() >= 4, "1 MB of events in {} responses", responses.len());
        for r in &responses {
            let bytes: usize = r.events.iter().map(|e| e.payload.as_ref().map_or(0, |p| p.value.len())).sum();
            assert!(bytes <= MAX_RESPONSE_BYTES, "a response of {bytes} bytes");
            assert_eq!(Some(&r.cursor), r.events.last().map(|e| &e.cursor), "the cursor of its last event");
        }
        assert_eq!(responses.iter().map(|r| r.events.len()).sum::<usize>(), 100, "nothing lost or doubled");
        assert_eq!(subscription.responses(Vec::new()).len(), 1, "a heartbeat");
    }
}
