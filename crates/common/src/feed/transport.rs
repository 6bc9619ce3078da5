//! How a consumer receives a producer's events: the transport behind
//! [`FeedConsumer`](super::FeedConsumer). Two implement it, chosen by
//! `feed.transport`: the producer's own `WatchEvents` stream ([`super::grpc`]) and
//! NATS JetStream ([`super::jetstream`]). Whatever the transport, the consumer applies
//! a delivery and stores its cursor in one transaction, and only then tells the
//! transport it is done with it.
use xiaopu_api::feed::{Event, WatchEventsResponse};

/// One event as delivered.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub event: Event,
    /// The log's sequence number (JetStream's stream sequence); `None` on a transport
    /// that delivers in order by construction (the outbox stream).
    pub sequence: Option<u64>,
}

/// Events in the producer's commit order, and what the transport needs to settle them.
#[derive(Debug, Default)]
pub struct Delivery {
    pub events: Vec<Delivered>,
    /// The producer's outbox position after this delivery (it may lie past its last
    /// event: the outbox stream skips other topics' events).
    pub cursor: String,
    /// The transport's handles for settling each message (JetStream's ackers).
    pub(crate) receipts: Receipts,
}

/// JetStream's handles for acknowledging the messages of a delivery.
#[derive(Default)]
pub(crate) struct Receipts(pub(crate) Vec<async_nats::jetstream::message::Acker>);

impl std::fmt::Debug for Receipts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} receipts", self.0.len())
    }
}

impl Delivery {
    /// True for a heartbeat: nothing to apply and no position to move to.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.receipts.0.is_empty()
    }
}

impl From<WatchEventsResponse> for Delivery {
    fn from(response: WatchEventsResponse) -> Self {
        Self {
            events: response.events.into_iter().map(|event| Delivered { event, sequence: None }).collect(),
            cursor: response.cursor,
            receipts: Receipts::default(),
        }
    }
}

/// Where the consumer stands, as stored with its effects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The producer's outbox position (empty: the start).
    pub position: String,
    /// The last JetStream stream sequence applied, if any.
    pub stream_seq: Option<u64>,
}

/// Why a transport could not deliver or settle.
#[derive(Debug, thiserror::Error)]
#[error("{transport}: {message}")]
pub struct TransportError {
    pub transport: &'static str,
    pub message: String,
}

impl TransportError {
    pub fn new(transport: &'static str, message: impl std::fmt::Display) -> Self {
        Self { transport, message: message.to_string() }
    }
}

/// A transport: opens subscriptions to a producer's feed.
#[tonic::async_trait]
pub trait FeedTransport: Send + Sync {
    /// Follows `producer`'s feed from `from`, delivering `topics` (all when empty).
    async fn subscribe(
        &self,
        producer: &str,
        from: &Cursor,
        topics: &[String],
    ) -> Result<Box<dyn FeedSubscription>, TransportError>;
}

/// One open subscription.
#[tonic::async_trait]
pub trait FeedSubscription: Send {
    /// The next delivery; `None` when the transport ended the subscription (the
    /// consumer subscribes again from its stored cursor).
    async fn next(&mut self) -> Result<Option<Delivery>, TransportError>;

    /// The delivery's effects are committed: the transport may forget it.
    async fn applied(&mut self, delivery: Delivery) -> Result<(), TransportError>;

    /// The delivery was not applied: deliver it again.
    async fn rejected(&mut self, delivery: Delivery);
}
