//! The feed between services (DESIGN.md, "Feeds"; docs/scaling.md): a transactional
//! outbox written by the producer in the same transaction as its change ([`outbox`]),
//! carried by one of two transports chosen by `feed.transport` — the producer's own
//! `WatchEvents` stream ([`server`], [`grpc`]) or NATS JetStream, filled by the
//! producer's [`relay`] ([`jetstream`]) — and applied by a consumer that stores its
//! cursor with its effects ([`consumer`]).
pub mod backlog;
pub mod consumer;
pub mod grpc;
pub mod jetstream;
pub mod leader;
pub mod outbox;
pub mod position;
pub mod relay;
pub mod server;
pub mod transport;

pub use consumer::{ApplyError, EventHandler, FeedConsumer};
pub use grpc::GrpcFeed;
pub use jetstream::JetStreamFeed;
pub use outbox::{OutboxEvent, publish, publish_all};
pub use position::Position;
pub use relay::Relay;
pub use server::FeedServer;
pub use transport::{Cursor, Delivered, Delivery, FeedSubscription, FeedTransport, TransportError};

/// Decodes an event's payload as `M`, checking its type URL first.
pub fn decode_payload<M: prost::Name + Default>(event: &xiaopu_api::feed::Event) -> Result<M, consumer::ApplyError> {
    let malformed = |why: String| consumer::ApplyError::Malformed { event_id: event.event_id.clone(), why };
    let any = event.payload.as_ref().ok_or_else(|| malformed("no payload".into()))?;
    any.to_msg::<M>().map_err(|e| malformed(e.to_string()))
}
