//! Following another service's feed: each batch of events is applied in one
//! transaction together with the cursor after it (and each event id in the inbox), so
//! a crash at any point either keeps a whole batch or none of it, and a redelivered
//! event changes nothing.
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use futures::{Stream, StreamExt};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tonic::Status;
use xiaopu_api::feed::{Event, WatchEventsRequest, WatchEventsResponse, feed_service_client::FeedServiceClient};

use crate::grpc_client::Upstream;

pub type BatchStream = Pin<Box<dyn Stream<Item = Result<WatchEventsResponse, Status>> + Send>>;

/// Where a consumer gets events from: the producer's gRPC feed here, a log elsewhere.
pub trait FeedSource: Send + Sync {
    fn watch(
        &self,
        after: String,
        topics: Vec<String>,
    ) -> Pin<Box<dyn Future<Output = Result<BatchStream, Status>> + Send + '_>>;
}

/// The producer's `WatchEvents` over gRPC.
#[derive(Clone)]
pub struct GrpcFeedSource {
    client: FeedServiceClient<Upstream>,
}

impl GrpcFeedSource {
    pub fn new(channel: Upstream, max_message_bytes: usize) -> Self {
        Self { client: FeedServiceClient::new(channel).max_decoding_message_size(max_message_bytes) }
    }
}

impl FeedSource for GrpcFeedSource {
    fn watch(
        &self,
        after: String,
        topics: Vec<String>,
    ) -> Pin<Box<dyn Future<Output = Result<BatchStream, Status>> + Send + '_>> {
        let mut client = self.client.clone();
        Box::pin(async move {
            let response = client.watch_events(WatchEventsRequest { after, topics, max_batch: 0 }).await?;
            Ok(Box::pin(response.into_inner()) as BatchStream)
        })
    }
}

/// Applies one event of a feed, inside the consumer's transaction. Must be
/// idempotent in its effect (the inbox already filters exact redeliveries), and
/// should return Ok for events it does not care about.
pub trait EventHandler: Send + Sync + 'static {
    fn apply(&self, conn: &mut PgConnection, event: &Event) -> impl Future<Output = Result<(), ApplyError>> + Send;
}

/// Why a batch could not be applied; the consumer rolls back and retries it.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {event_id} is malformed: {why}")]
    Malformed { event_id: String, why: String },
}

/// Follows one producer's feed into this service's database.
pub struct FeedConsumer<H> {
    /// Names the producer in `feed_cursor` and `feed_inbox`, e.g. `eligibility`.
    name: String,
    pool: PgPool,
    source: Arc<dyn FeedSource>,
    topics: Vec<String>,
    handler: H,
}

impl<H: EventHandler> FeedConsumer<H> {
    pub fn new(name: &str, pool: PgPool, source: Arc<dyn FeedSource>, topics: &[&str], handler: H) -> Self {
        Self { name: name.into(), pool, source, topics: topics.iter().map(|t| t.to_string()).collect(), handler }
    }

    /// Follows the feed until `shutdown`, reconnecting with backoff after any error.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            match self.follow(&shutdown).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(err) => {
                    tracing::warn!(feed = %self.name, error = %err, retry_in_ms = backoff.as_millis() as u64, "feed interrupted");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.cancelled() => {}
            }
        }
    }

    async fn follow(&self, shutdown: &CancellationToken) -> Result<(), FollowError> {
        let mut cursor = self.cursor().await?;
        let mut stream = self.source.watch(cursor.clone(), self.topics.clone()).await?;
        loop {
            let batch = tokio::select! {
                next = stream.next() => match next {
                    Some(batch) => batch?,
                    None => return Ok(()),
                },
                _ = shutdown.cancelled() => return Ok(()),
            };
            if batch.events.is_empty() && batch.cursor == cursor {
                continue; // heartbeat
            }
            self.apply_batch(&batch).await?;
            cursor = batch.cursor;
        }
    }

    /// The stored cursor; empty at the start of the feed.
    pub async fn cursor(&self) -> Result<String, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as("SELECT position FROM feed_cursor WHERE feed = $1")
            .bind(&self.name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(p,)| p).unwrap_or_default())
    }

    /// Applies a batch and moves the cursor, all in one transaction.
    pub async fn apply_batch(&self, batch: &WatchEventsResponse) -> Result<(), ApplyError> {
        let mut tx = self.pool.begin().await?;
        for event in &batch.events {
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
        sqlx::query(
            "INSERT INTO feed_cursor (feed, position) VALUES ($1, $2)
             ON CONFLICT (feed) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
        )
        .bind(&self.name)
        .bind(&batch.cursor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error("producer: {0}")]
    Stream(#[from] Status),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}
