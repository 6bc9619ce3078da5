//! The `feed` section: how events travel between services (the outbox stream, or NATS JetStream).
use serde::Deserialize;

use super::{ConfigError, Validate, positive};

/// How events travel between services (docs/scaling.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedTransportKind {
    /// Each consumer streams the producer's outbox over gRPC (`WatchEvents`): nothing
    /// else to run, the default.
    #[default]
    Outbox,
    /// Each producer's relay publishes its outbox to NATS JetStream, and consumers
    /// follow durable JetStream consumers: fan-out, retention and replay without the
    /// producer, and a cluster.
    Jetstream,
}

/// The `feed` section: `XIAOPU_FEED__TRANSPORT`, `XIAOPU_FEED__NATS__URL`, …
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FeedSettings {
    pub transport: FeedTransportKind,
    pub nats: NatsSettings,
}

/// What a JetStream stream keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamRetention {
    /// Everything until `max_age`: a new consumer can replay the whole window.
    Limits,
    /// Until every consumer has acknowledged it (and at most `max_age`).
    Interest,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct NatsSettings {
    /// The NATS servers, comma-separated, e.g. `nats://nats-0.nats:4222,nats://nats-1.nats:4222`.
    pub url: String,
    /// This consumer's durable name on every producer's stream. Replicas of one
    /// deployment share it (they share a database); another deployment with its
    /// own database needs its own. Empty: the service's name.
    pub consumer_name: String,
    /// Replicas of each stream created at start (1, or 3 on a cluster).
    pub stream_replicas: usize,
    pub retention: StreamRetention,
    /// How long a stream keeps an event: a consumer down longer than this loses
    /// events (and says so, loudly).
    pub max_age_hours: u64,
    /// How long JetStream remembers a `Nats-Msg-Id`: a relay that restarts within
    /// it republishes nothing twice.
    pub duplicate_window_ms: u64,
    /// How long a delivered message may stay unacknowledged before redelivery: after
    /// a consumer crashes, its replacement waits this long for what it held. A
    /// redelivery that comes too early is harmless (applied already: skipped).
    pub ack_wait_ms: u64,
    /// Events a consumer applies in one transaction at most.
    pub max_batch: usize,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            consumer_name: String::new(),
            stream_replicas: 1,
            retention: StreamRetention::Limits,
            max_age_hours: 7 * 24,
            duplicate_window_ms: 120_000,
            ack_wait_ms: 5_000,
            max_batch: 500,
        }
    }
}

impl Validate for FeedSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.transport != FeedTransportKind::Jetstream {
            return Ok(());
        }
        let nats = &self.nats;
        let urls_ok = !nats.url.trim().is_empty()
            && nats.url.split(',').map(str::trim).all(|u| u.starts_with("nats://") || u.starts_with("tls://"));
        if !urls_ok {
            return Err(ConfigError::invalid("feed.nats.url", "must be nats:// or tls:// URLs, comma-separated"));
        }
        let name_ok = nats.consumer_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(ConfigError::invalid("feed.nats.consumer_name", "letters, digits, `-` and `_` only"));
        }
        if !(1..=5).contains(&nats.stream_replicas) {
            return Err(ConfigError::invalid("feed.nats.stream_replicas", "must be between 1 and 5"));
        }
        positive("feed.nats.max_age_hours", nats.max_age_hours)?;
        positive("feed.nats.duplicate_window_ms", nats.duplicate_window_ms)?;
        positive("feed.nats.ack_wait_ms", nats.ack_wait_ms)?;
        if !(1..=5_000).contains(&nats.max_batch) {
            return Err(ConfigError::invalid("feed.nats.max_batch", "must be between 1 and 5000"));
        }
        Ok(())
    }
}
