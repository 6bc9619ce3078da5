//! NATS JetStream as the feed's transport (docs/scaling.md). Each producer has one
//! stream, `xiaopu_<producer>`, holding subjects `xiaopu.<producer>.<topic>` (the
//! topic names already start with the producer's name), filled by the producer's
//! [relay](super::relay) from its outbox. Each consuming deployment follows it with a
//! durable pull consumer and explicit acks: it applies a delivery in one transaction
//! with its cursor (the outbox position and the stream sequence) and its inbox rows,
//! then acknowledges it.
use std::{collections::BTreeMap, time::Duration};

use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, pull},
    message::{AckKind, Acker},
    stream,
};
use futures::StreamExt;
use prost::Message as _;
use xiaopu_api::feed::Event;

use super::transport::{Cursor, Delivered, Delivery, FeedSubscription, FeedTransport, TransportError};
use crate::config::{NatsSettings, StreamRetention};

const TRANSPORT: &str = "jetstream";
/// How often the server proves an idle pull alive; two missed and the client
/// reports the subscription broken (the consumer then subscribes again).
const HEARTBEAT: Duration = Duration::from_secs(5);

/// A NATS client's error as the transport's.
pub(crate) fn nats_error(err: impl std::fmt::Display) -> TransportError {
    TransportError::new(TRANSPORT, err)
}

/// How long a delivery waits for one more message before it is handed over.
const LINGER: Duration = Duration::from_millis(2);

/// The stream that holds `producer`'s events.
pub fn stream_name(producer: &str) -> String {
    format!("xiaopu_{producer}")
}

/// The subject an event of `topic` is published on, e.g. `xiaopu.attribution.commission`.
pub fn subject(topic: &str) -> String {
    format!("xiaopu.{topic}")
}

/// A client that connects (and reconnects) in the background: a service starts, and
/// reports NOT_SERVING, while NATS is unreachable.
pub async fn connect(settings: &NatsSettings, service: &str) -> Result<async_nats::Client, TransportError> {
    let urls: Vec<async_nats::ServerAddr> = settings
        .url
        .split(',')
        .map(|url| url.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| TransportError::new(TRANSPORT, format!("feed.nats.url: {e}")))?;
    async_nats::ConnectOptions::new()
        .name(service)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .connect(urls)
        .await
        .map_err(|e| TransportError::new(TRANSPORT, e))
}

/// The JetStream context of `client`, with publish acks bounded by `settings`.
pub fn context(client: async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new().timeout(Duration::from_secs(5)).build(client)
}

/// `producer`'s stream, created with the configured retention if it does not exist
/// (an existing stream keeps its own configuration: operators change it with `nats`).
pub(crate) async fn ensure_stream(
    js: &jetstream::Context,
    producer: &str,
    settings: &NatsSettings,
) -> Result<stream::Stream, TransportError> {
    let config = stream::Config {
        name: stream_name(producer),
        subjects: vec![format!("xiaopu.{producer}.>")],
        retention: match settings.retention {
            StreamRetention::Limits => stream::RetentionPolicy::Limits,
            StreamRetention::Interest => stream::RetentionPolicy::Interest,
        },
        storage: stream::StorageType::File,
        num_replicas: settings.stream_replicas,
        max_age: Duration::from_secs(settings.max_age_hours * 3600),
        duplicate_window: Duration::from_millis(settings.duplicate_window_ms),
        ..Default::default()
    };
    js.get_or_create_stream(config).await.map_err(|e| TransportError::new(TRANSPORT, format!("stream {producer}: {e}")))
}

/// Follows producers' streams as the durable consumer `consumer_name`.
#[derive(Clone)]
pub struct JetStreamFeed {
    js: jetstream::Context,
    settings: NatsSettings,
    consumer_name: String,
}

impl JetStreamFeed {
    pub fn new(client: async_nats::Client, settings: NatsSettings, consumer_name: &str) -> Self {
        Self { js: context(client), settings, consumer_name: consumer_name.to_owned() }
    }
}

#[tonic::async_trait]
impl FeedTransport for JetStreamFeed {
    /// Every topic of the producer is delivered (the consumer skips those it does not
    /// follow), so stream sequences follow each other without gaps: the subscription
    /// hands over runs in sequence order, whatever order redeliveries arrive in.
    async fn subscribe(
        &self,
        producer: &str,
        from: &Cursor,
        _topics: &[String],
    ) -> Result<Box<dyn FeedSubscription>, TransportError> {
        let mut stream = ensure_stream(&self.js, producer, &self.settings).await?;
        let first_held = stream.info().await.map_err(nats_error)?.state.first_sequence;
        let max_batch = self.settings.max_batch;
        let config = |deliver_policy| pull::Config {
            durable_name: Some(self.consumer_name.clone()),
            description: Some(format!("{} following {producer}", self.consumer_name)),
            deliver_policy,
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_millis(self.settings.ack_wait_ms),
            filter_subject: format!("xiaopu.{producer}.>"),
            // Little in flight beyond one delivery: what a failure sends back to wait
            // for its redelivery stays small.
            max_ack_pending: i64::try_from(max_batch * 4).unwrap_or(i64::MAX),
            ..Default::default()
        };
        let consumer_error = |e| TransportError::new(TRANSPORT, format!("consumer {}: {e}", self.consumer_name));
        let mut consumer: jetstream::consumer::PullConsumer = stream
            .get_or_create_consumer(&self.consumer_name, config(DeliverPolicy::All))
            .await
            .map_err(consumer_error)?;
        let acked = consumer.info().await.map_err(nats_error)?.ack_floor.stream_sequence;
        // 0: this database has applied nothing from the stream yet.
        let applied = from.stream_seq.unwrap_or(0);
        if from.stream_seq.is_some() && applied + 1 < first_held {
            return Err(TransportError::new(
                TRANSPORT,
                format!(
                    "stream {} no longer holds messages {}..{} that this consumer never applied: \
                     they outlived the stream's max age (docs/scaling.md, \"Events lost to retention\")",
                    stream_name(producer),
                    applied + 1,
                    first_held - 1
                ),
            ));
        }
        let expected = (applied + 1).max(first_held);
        if acked > applied {
            // The durable consumer has acknowledged past what the database holds (it
            // was restored from a backup, or recreated): replay from the database's
            // cursor; what it already had, its inbox recognises.
            tracing::warn!(consumer = %self.consumer_name, acked, applied, "replaying from the database's cursor");
            stream.delete_consumer(&self.consumer_name).await.map_err(consumer_error)?;
            let replay = DeliverPolicy::ByStartSequence { start_sequence: expected };
            consumer = stream.create_consumer(config(replay)).await.map_err(consumer_error)?;
        }
        let messages = consumer
            .stream()
            .max_messages_per_batch(max_batch)
            .heartbeat(HEARTBEAT)
            .messages()
            .await
            .map_err(|e| TransportError::new(TRANSPORT, format!("pull: {e}")))?;
        Ok(Box::new(JetStreamSubscription { messages, max_batch, expected, early: BTreeMap::new() }))
    }
}

struct JetStreamSubscription {
    messages: pull::Stream,
    max_batch: usize,
    /// The stream sequence to hand over next.
    expected: u64,
    /// Messages that arrived ahead of `expected` (a redelivery is overtaking them),
    /// held until the gap fills. Bounded by the consumer's `max_ack_pending`.
    early: BTreeMap<u64, (Event, Acker)>,
}

impl JetStreamSubscription {
    /// Files one arrived message: a redelivery of one already handed over is
    /// acknowledged at once (it was applied), any other is held by its sequence.
    async fn file(&mut self, message: jetstream::Message) -> Result<(), TransportError> {
        let sequence = message.info().map_err(nats_error)?.stream_sequence;
        let (message, acker) = message.split();
        if sequence < self.expected {
            return acker.ack().await.map_err(nats_error);
        }
        let event = Event::decode(message.payload).map_err(|e| {
            TransportError::new(TRANSPORT, format!("message {sequence} on {} is not an event: {e}", message.subject))
        })?;
        self.early.insert(sequence, (event, acker));
        Ok(())
    }

    /// The run of held messages from `expected` on, up to a batch.
    fn run(&mut self) -> Delivery {
        let mut delivery = Delivery::default();
        while delivery.events.len() < self.max_batch {
            let Some((event, acker)) = self.early.remove(&self.expected) else { break };
            delivery.cursor.clone_from(&event.cursor);
            delivery.events.push(Delivered { event, sequence: Some(self.expected) });
            delivery.receipts.0.push(acker);
            self.expected += 1;
        }
        delivery
    }
}

#[tonic::async_trait]
impl FeedSubscription for JetStreamSubscription {
    /// Waits for the next message in sequence, then takes what has already arrived.
    async fn next(&mut self) -> Result<Option<Delivery>, TransportError> {
        loop {
            let Some(message) = self.messages.next().await else { return Ok(None) };
            self.file(message.map_err(nats_error)?).await?;
            // Whatever follows within a moment joins the delivery: under load a
            // delivery fills up (one transaction for many events), idle it adds
            // at most LINGER.
            while self.early.len() < self.max_batch {
                match tokio::time::timeout(LINGER, self.messages.next()).await {
                    Ok(Some(message)) => self.file(message.map_err(nats_error)?).await?,
                    Ok(None) | Err(_) => break,
                }
            }
            let delivery = self.run();
            if !delivery.events.is_empty() {
                return Ok(Some(delivery));
            }
            if let Some(first) = self.early.keys().next() {
                tracing::debug!(expected = self.expected, held_from = first, "waiting for a redelivery");
            }
        }
    }

    async fn applied(&mut self, delivery: Delivery) -> Result<(), TransportError> {
        for acker in &delivery.receipts.0 {
            acker.ack().await.map_err(|e| TransportError::new(TRANSPORT, format!("ack: {e}")))?;
        }
        Ok(())
    }

    /// Asks for immediate redelivery (the consumer subscribes again from its cursor).
    async fn rejected(&mut self, delivery: Delivery) {
        for acker in delivery.receipts.0.iter().chain(self.early.values().map(|(_, acker)| acker)) {
            if let Err(err) = acker.ack_with(AckKind::Nak(None)).await {
                tracing::debug!(error = %err, "nak not sent; the message comes back after ack_wait");
                return;
            }
        }
    }
}
