//! The relay: publishes a producer's outbox to its JetStream stream, in the order
//! `WatchEvents` serves it — `(xid, seq)`, and only below the oldest running
//! transaction, so a transaction that commits late is published after it commits,
//! never skipped. Each event goes out with `Nats-Msg-Id` = its event id, so a relay
//! that crashed between the publish and its cursor update republishes what JetStream
//! then drops as a duplicate. The cursor (`feed_relay`) moves only after JetStream
//! has acknowledged every event before it.
//!
//! Every replica of a producer runs a relay; one is active, holding a session
//! advisory lock, and the others wait to take over.
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishAckFuture};
use bytes::Bytes;
use prost::Message as _;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{
    jetstream::{ensure_stream, nats_error, stream_name, subject},
    leader::SessionLock,
    position::Position,
    server::{listen_for_commits, read_after},
    transport::TransportError,
};
use crate::config::NatsSettings;

/// Events read and published at a time.
const BATCH: i64 = 500;
/// Fallback poll when no commit notification comes.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How often a standby relay tries to take over, and the active one checks that its
/// lock's connection is still there.
const LEADERSHIP_CHECK: Duration = Duration::from_secs(1);

/// Publishes `producer`'s outbox to JetStream.
pub struct Relay {
    pool: PgPool,
    js: jetstream::Context,
    producer: String,
    settings: NatsSettings,
    shutdown: CancellationToken,
}

impl Relay {
    pub fn new(
        pool: PgPool,
        client: async_nats::Client,
        producer: &str,
        settings: NatsSettings,
        shutdown: CancellationToken,
    ) -> Self {
        let js = super::jetstream::context(client);
        Self { pool, js, producer: producer.to_owned(), settings, shutdown }
    }

    /// Relays until `shutdown`, taking over whenever no other replica does.
    pub async fn run(self) {
        let (wake, wakeups) = watch::channel(0);
        tokio::spawn(listen_for_commits(self.pool.clone(), wake, self.shutdown.clone()));
        let mut backoff = Duration::from_millis(200);
        while !self.shutdown.is_cancelled() {
            match self.lead(wakeups.clone()).await {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(err) => {
                    tracing::warn!(producer = %self.producer, error = %err, retry_in_ms = backoff.as_millis() as u64, "relay interrupted");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.max(LEADERSHIP_CHECK)) => {}
                _ = self.shutdown.cancelled() => {}
            }
        }
    }

    /// Takes the relay's lock if free, then publishes until shutdown or an error.
    async fn lead(&self, mut wakeups: watch::Receiver<u64>) -> Result<(), RelayError> {
        let name = format!("xiaopu.feed.relay.{}", self.producer);
        let Some(mut lock) = SessionLock::try_take(&self.pool, &name).await? else {
            return Ok(()); // another replica relays
        };
        tracing::info!(producer = %self.producer, "relay active");
        let result = self.publish_until_shutdown(&mut lock, &mut wakeups).await;
        lock.release().await;
        result
    }

    async fn publish_until_shutdown(
        &self,
        lock: &mut SessionLock,
        wakeups: &mut watch::Receiver<u64>,
    ) -> Result<(), RelayError> {
        ensure_stream(&self.js, &self.producer, &self.settings).await?;
        let stream = stream_name(&self.producer);
        let stored: Option<String> = sqlx::query_scalar("SELECT position FROM feed_relay WHERE stream = $1")
            .bind(&stream)
            .fetch_optional(&self.pool)
            .await?;
        let mut position = Position::parse(stored.as_deref().unwrap_or_default())
            .map_err(|_| RelayError::Cursor(stored.unwrap_or_default()))?;
        let mut last_check = tokio::time::Instant::now();
        while !self.shutdown.is_cancelled() {
            wakeups.borrow_and_update();
            let published = self.publish_after(position).await?;
            if let Some(last) = published.last {
                sqlx::query(
                    "INSERT INTO feed_relay (stream, position) VALUES ($1, $2)
                     ON CONFLICT (stream) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
                )
                .bind(&stream)
                .bind(last.to_string())
                .execute(&self.pool)
                .await?;
                position = last;
            }
            if last_check.elapsed() >= LEADERSHIP_CHECK {
                lock.check().await?;
                last_check = tokio::time::Instant::now();
            }
            if published.count == BATCH {
                continue;
            }
            tokio::select! {
                _ = wakeups.changed() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = self.shutdown.cancelled() => {}
            }
        }
        Ok(())
    }

    /// Publishes the next events after `after` and waits for JetStream to store them all.
    async fn publish_after(&self, after: Position) -> Result<Published, RelayError> {
        let rows = read_after(&self.pool, after, BATCH).await?;
        let count = rows.len() as i64;
        let last = rows.last().map(|row| row.position());
        let mut acks: Vec<PublishAckFuture> = Vec::with_capacity(rows.len());
        for row in rows {
            if !row.topic.starts_with(&format!("{}.", self.producer)) {
                return Err(RelayError::Topic { topic: row.topic, producer: self.producer.clone() });
            }
            let event_id = row.event_id.to_string();
            let subject = subject(&row.topic);
            let payload = Bytes::from(row.into_event().encode_to_vec());
            let publish = jetstream::message::PublishMessage::build().payload(payload).message_id(event_id);
            acks.push(self.js.send_publish(subject, publish).await.map_err(nats_error)?);
        }
        for ack in acks {
            ack.await.map_err(nats_error)?;
        }
        Ok(Published { count, last })
    }
}

struct Published {
    count: i64,
    last: Option<Position>,
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the stored relay position `{0}` is not a cursor")]
    Cursor(String),
    #[error("outbox topic `{topic}` is not one of {producer}'s (`{producer}.…`): it has no subject on its stream")]
    Topic { topic: String, producer: String },
}
