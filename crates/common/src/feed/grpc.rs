//! The embedded transport: the producer's `WatchEvents` stream over gRPC, read from
//! its outbox in commit order. Nothing to run besides the services; the default.
use futures::StreamExt;
use tonic::Streaming;
use xiaopu_api::feed::{WatchEventsRequest, WatchEventsResponse, feed_service_client::FeedServiceClient};

use super::transport::{Cursor, Delivery, FeedSubscription, FeedTransport, TransportError};
use crate::grpc_client::Upstream;

const TRANSPORT: &str = "outbox stream";

/// The producer's `WatchEvents` over gRPC.
#[derive(Clone)]
pub struct GrpcFeed {
    client: FeedServiceClient<Upstream>,
}

impl GrpcFeed {
    pub fn new(channel: Upstream, max_message_bytes: usize) -> Self {
        Self { client: FeedServiceClient::new(channel).max_decoding_message_size(max_message_bytes) }
    }
}

#[tonic::async_trait]
impl FeedTransport for GrpcFeed {
    async fn subscribe(
        &self,
        _producer: &str,
        from: &Cursor,
        topics: &[String],
    ) -> Result<Box<dyn FeedSubscription>, TransportError> {
        let request = WatchEventsRequest { after: from.position.clone(), topics: topics.to_vec(), max_batch: 0 };
        let stream = self.client.clone().watch_events(request).await.map_err(producer_error)?.into_inner();
        Ok(Box::new(GrpcSubscription { stream, cursor: from.position.clone() }))
    }
}

fn producer_error(status: tonic::Status) -> TransportError {
    TransportError::new(TRANSPORT, format!("producer: {status}"))
}

struct GrpcSubscription {
    stream: Streaming<WatchEventsResponse>,
    /// The position of the last delivery, to tell heartbeats apart.
    cursor: String,
}

#[tonic::async_trait]
impl FeedSubscription for GrpcSubscription {
    async fn next(&mut self) -> Result<Option<Delivery>, TransportError> {
        loop {
            let Some(response) = self.stream.next().await else { return Ok(None) };
            let response = response.map_err(producer_error)?;
            if response.events.is_empty() && response.cursor == self.cursor {
                continue; // heartbeat
            }
            self.cursor = response.cursor.clone();
            return Ok(Some(response.into()));
        }
    }

    /// The cursor is in the consumer's database: nothing to tell the producer.
    async fn applied(&mut self, _delivery: Delivery) -> Result<(), TransportError> {
        Ok(())
    }

    /// The stream moves on regardless; the consumer resubscribes from its cursor.
    async fn rejected(&mut self, _delivery: Delivery) {}
}
