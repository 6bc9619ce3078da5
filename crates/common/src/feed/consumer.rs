//! Following another service's feed: each delivery of events is applied in one
//! transaction together with the cursor after it (and each event id in the inbox), so
//! a crash at any point either keeps a whole delivery or none of it, and a redelivered
//! event changes nothing. Only then is the transport told (JetStream's ack).
use std::{future::Future, sync::Arc, time::Duration};

use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use xiaopu_api::feed::Event;

use super::{
    leader::SessionLock,
    position::Position,
    transport::{Cursor, Delivery, FeedTransport, TransportError},
};

/// How often a standby replica tries to become the active follower, and the active
/// one checks it still is.
const LEADERSHIP_CHECK: Duration = Duration::from_secs(1);

/// Applies one event of a feed, inside the consumer's transaction. Must be
/// idempotent in its effect (the inbox already filters exact redeliveries), and
/// should return Ok for events it does not care about.
pub trait EventHandler: Send + Sync + 'static {
    fn apply(&self, conn: &mut PgConnection, event: &Event) -> impl Future<Output = Result<(), ApplyError>> + Send;
}

/// Why a delivery could not be applied; the consumer rolls back and it comes again.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {event_id} is malformed: {why}")]
    Malformed { event_id: String, why: String },
    #[error("`{0}` is not a feed position")]
    Position(String),
    /// A message overtook one not yet applied (it comes again after a redelivery),
    /// or the stream no longer holds the ones between (its retention dropped them).
    #[error(
        "stream message {got} arrived before {expected}; it is refused until {expected} is applied \
         (if the stream no longer holds {expected}, its retention lost events: see docs/scaling.md)"
    )]
    OutOfOrder { expected: u64, got: u64 },
}

/// Follows one producer's feed into this service's database.
pub struct FeedConsumer<H> {
    /// Names the producer in `feed_cursor` and `feed_inbox`, e.g. `eligibility`.
    name: String,
    pool: PgPool,
    transport: Arc<dyn FeedTransport>,
    topics: Vec<String>,
    handler: H,
}

impl<H: EventHandler> FeedConsumer<H> {
    pub fn new(name: &str, pool: PgPool, transport: Arc<dyn FeedTransport>, topics: &[&str], handler: H) -> Self {
        Self { name: name.into(), pool, transport, topics: topics.iter().map(|t| t.to_string()).collect(), handler }
    }

    /// Follows the feed until `shutdown`, reconnecting with backoff after any error.
    /// Of several replicas one follows at a time; the others stand by.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            let pause = match self.lead(&shutdown).await {
                Ok(true) => Duration::from_millis(100),
                Ok(false) => LEADERSHIP_CHECK, // another replica follows
                Err(err) => {
                    tracing::warn!(feed = %self.name, error = %err, retry_in_ms = backoff.as_millis() as u64, "feed interrupted");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    backoff
                }
            };
            if pause != backoff {
                backoff = Duration::from_millis(100);
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.cancelled() => {}
            }
        }
    }

    /// Follows while holding the follower's lock; false if another replica holds it.
    async fn lead(&self, shutdown: &CancellationToken) -> Result<bool, FollowError> {
        let name = format!("xiaopu.feed.consumer.{}", self.name);
        let Some(mut lock) = SessionLock::try_take(&self.pool, &name).await? else { return Ok(false) };
        let result = self.follow(&mut lock, shutdown).await;
        lock.release().await;
        result.map(|()| true)
    }

    async fn follow(&self, lock: &mut SessionLock, shutdown: &CancellationToken) -> Result<(), FollowError> {
        let cursor = self.cursor().await?;
        let mut subscription = self.transport.subscribe(&self.name, &cursor, &self.topics).await?;
        let mut checked = tokio::time::Instant::now();
        loop {
            // `None`: a quiet second, to check the lock.
            let next = tokio::select! {
                next = subscription.next() => Some(next?),
                _ = tokio::time::sleep(LEADERSHIP_CHECK) => None,
                _ = shutdown.cancelled() => return Ok(()),
            };
            if checked.elapsed() >= LEADERSHIP_CHECK {
                lock.check().await?;
                checked = tokio::time::Instant::now();
            }
            let delivery = match next {
                None => continue,
                Some(None) => return Ok(()), // the transport ended it: subscribe again
                Some(Some(delivery)) if delivery.is_empty() => continue,
                Some(Some(delivery)) => delivery,
            };
            match self.apply_batch(&delivery).await {
                Ok(()) => subscription.applied(delivery).await?,
                Err(err) => {
                    subscription.rejected(delivery).await;
                    return Err(err.into());
                }
            }
        }
    }

    /// The stored cursor; empty at the start of the feed.
    pub async fn cursor(&self) -> Result<Cursor, sqlx::Error> {
        let row: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT position, stream_seq FROM feed_cursor WHERE feed = $1")
                .bind(&self.name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map_or_else(Cursor::default, |(position, seq)| Cursor {
            position,
            stream_seq: seq.and_then(|s| u64::try_from(s).ok()),
        }))
    }

    /// Applies a delivery and moves the cursor, all in one transaction. Events of
    /// other topics only move the cursor; on a sequenced transport a message at or
    /// below the stored sequence is a redelivery, and one past the next is refused.
    pub async fn apply_batch(&self, delivery: &Delivery) -> Result<(), ApplyError> {
        let mut tx = self.pool.begin().await?;
        crate::db::plan_for_current_size(&mut tx).await?;
        // Locks the row: replicas that both hold deliveries apply them one at a time.
        let stored: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT position, stream_seq FROM feed_cursor WHERE feed = $1 FOR UPDATE")
                .bind(&self.name)
                .fetch_optional(&mut *tx)
                .await?;
        let (stored_position, stored_seq) = stored.unwrap_or_default();
        let mut last_seq = stored_seq.and_then(|s| u64::try_from(s).ok());
        for delivered in &delivery.events {
            if let Some(seq) = delivered.sequence {
                match last_seq {
                    Some(last) if seq <= last => continue,
                    Some(last) if seq != last + 1 => {
                        return Err(ApplyError::OutOfOrder { expected: last + 1, got: seq });
                    }
                    _ => last_seq = Some(seq),
                }
            }
            let event = &delivered.event;
            if !self.topics.is_empty() && !self.topics.contains(&event.topic) {
                continue;
            }
            let event_id = uuid::Uuid::parse_str(&event.event_id)
                .map_err(|e| ApplyError::Malformed { event_id: event.event_id.clone(), why: e.to_string() })?;
            let fresh = sqlx::query("INSERT INTO feed_inbox (event_id, feed) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(event_id)
                .bind(&self.name)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if fresh {
                self.handler.apply(&mut tx, event).await?;
            }
        }
        let parse = |p: &str| Position::parse(p).map_err(|_| ApplyError::Position(p.to_owned()));
        // Never backwards: a republished old event must not rewind the position.
        let position = parse(&stored_position)?.max(parse(&delivery.cursor)?);
        sqlx::query(
            "INSERT INTO feed_cursor (feed, position, stream_seq) VALUES ($1, $2, $3)
             ON CONFLICT (feed) DO UPDATE SET position = EXCLUDED.position, stream_seq = EXCLUDED.stream_seq,
                                              updated_at = now()",
        )
        .bind(&self.name)
        .bind(position.to_string())
        .bind(last_seq.and_then(|s| i64::try_from(s).ok()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}
