//! The feed between services (DESIGN.md, "Feeds"): a transactional outbox written by
//! the producer in the same transaction as its change ([`outbox`]), served in commit
//! order by the server-streaming `WatchEvents` RPC ([`server`]), and applied by a
//! consumer that stores its cursor with its effects ([`consumer`]).
//!
//! The transport sits behind [`consumer::FeedSource`], so a log (Kafka through
//! Debezium's outbox router, NATS JetStream) can replace the gRPC stream without
//! touching any service's domain code.
pub mod backlog;
pub mod consumer;
pub mod outbox;
pub mod position;
pub mod server;

pub use consumer::{ApplyError, EventHandler, FeedConsumer, FeedSource, GrpcFeedSource};
pub use outbox::{OutboxEvent, publish, publish_all};
pub use position::Position;
pub use server::FeedServer;

/// Decodes an event's payload as `M`, checking its type URL first.
pub fn decode_payload<M: prost::Name + Default>(event: &xiaopu_api::feed::Event) -> Result<M, consumer::ApplyError> {
    let malformed = |why: String| consumer::ApplyError::Malformed { event_id: event.event_id.clone(), why };
    let any = event.payload.as_ref().ok_or_else(|| malformed("no payload".into()))?;
    any.to_msg::<M>().map_err(|e| malformed(e.to_string()))
}
