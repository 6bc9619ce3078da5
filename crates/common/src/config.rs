//! Layered configuration: built-in defaults, then an optional TOML file, then
//! environment variables. Variables are `XIAOPU_` followed by the key path with `__`
//! between sections, e.g. `XIAOPU_DATABASE__URL`, `XIAOPU_SERVER__LISTEN_ADDR`,
//! `XIAOPU_ELIGIBILITY__THRESHOLD`. The file comes from `XIAOPU_CONFIG_FILE`.
use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, de::DeserializeOwned};

/// A configuration that could not be used, naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {rule}")]
    Invalid { key: String, rule: String },
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid { key: key.into(), rule: rule.into() }
    }
}

/// Checks the values serde cannot: ranges, consistency between keys.
pub trait Validate {
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Service-specific defaults applied beneath the file and the environment.
pub struct Defaults<'a> {
    /// Used for telemetry and the default database name.
    pub service_name: &'a str,
    pub listen_addr: &'a str,
    /// `server.idle_timeout_ms` unless configured: browsers' HTTP/1 connections may
    /// idle out sooner than gRPC peers'.
    pub idle_timeout_ms: u64,
    /// False for a service that owns no database (the web front): `database.url`
    /// is then not required.
    pub needs_database: bool,
}

/// A service's own section of the configuration, e.g. `[eligibility]`.
pub trait Section: DeserializeOwned + Default + Validate {
    /// The section's key, which is also its environment prefix (`XIAOPU_<KEY>__…`).
    const KEY: &'static str;
}

/// A service's whole configuration: the common sections and its own.
#[derive(Debug, Clone)]
pub struct Settings<S> {
    pub common: CommonSettings,
    pub service: S,
}

/// Loads settings from defaults, `XIAOPU_CONFIG_FILE` (if set) and `XIAOPU_*` variables.
pub fn load<S: Section>(defaults: &Defaults<'_>) -> Result<Settings<S>, ConfigError> {
    let file = std::env::var_os("XIAOPU_CONFIG_FILE").map(PathBuf::from);
    load_from(defaults, file, config::Environment::with_prefix("XIAOPU"))
}

/// Like [`load`], with the file and environment source given: tests use this.
pub fn load_from<S: Section>(
    defaults: &Defaults<'_>,
    file: Option<PathBuf>,
    environment: config::Environment,
) -> Result<Settings<S>, ConfigError> {
    let mut builder = config::Config::builder()
        .set_default("telemetry.service_name", defaults.service_name)?
        .set_default("server.listen_addr", defaults.listen_addr)?
        .set_default("server.idle_timeout_ms", defaults.idle_timeout_ms)?;
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).required(true));
    }
    let layered = builder.add_source(environment.prefix_separator("_").separator("__").try_parsing(true)).build()?;
    // Each section is read by its key, so an error names the full key path.
    let common = CommonSettings {
        server: section(&layered, "server")?,
        database: section(&layered, "database")?,
        telemetry: section(&layered, "telemetry")?,
        auth: section(&layered, "auth")?,
        feed: section(&layered, "feed")?,
    };
    let service: S = section(&layered, S::KEY)?;
    if defaults.needs_database {
        common.database.validate()?;
    }
    common.validate()?;
    service.validate()?;
    Ok(Settings { common, service })
}

/// Reads one section; a bad value's error names its full key, e.g.
/// `server.request_timeout_ms`.
fn section<T: DeserializeOwned + Default>(layered: &config::Config, key: &str) -> Result<T, ConfigError> {
    let value = match layered.get::<config::Value>(key) {
        Ok(value) => value,
        Err(config::ConfigError::NotFound(_)) => return Ok(T::default()),
        Err(err) => return Err(err.into()),
    };
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let full = if path == "." { key.to_owned() } else { format!("{key}.{path}") };
        ConfigError::invalid(full, err.into_inner().to_string())
    })
}

/// The sections every service has.
#[derive(Debug, Clone, Default)]
pub struct CommonSettings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    pub auth: AuthSettings,
    pub feed: FeedSettings,
}

/// The database section is checked by [`load_from`] only for services that have one.
impl Validate for CommonSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.telemetry.validate()?;
        self.auth.validate()?;
        self.feed.validate()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub listen_addr: SocketAddr,
    /// Per-call deadline enforced by the server.
    pub request_timeout_ms: u64,
    /// Calls in flight across all connections; beyond it calls are shed with
    /// ResourceExhausted rather than queued.
    pub concurrency_limit: usize,
    /// Largest request or response message.
    pub max_message_bytes: usize,
    /// A connection that sends no byte this long after it is accepted (no HTTP/2
    /// preface, no request line) is closed.
    pub first_byte_timeout_ms: u64,
    /// A connection that moves no byte either way this long (a half-sent request,
    /// a peer that stopped reading) is closed.
    pub idle_timeout_ms: u64,
    /// `WatchEvents` streams served at once (each consuming replica holds one per
    /// producer); beyond it a new stream is refused with `RESOURCE_EXHAUSTED`.
    pub max_feed_streams: usize,
    /// How long a SIGTERM waits for in-flight calls before giving up.
    pub shutdown_grace_ms: u64,
    /// How often readiness asks the database.
    pub health_check_interval_ms: u64,
    /// Serve reflection without a token (it only describes the API).
    pub public_reflection: bool,
    /// Serve TLS with this certificate and key (PEM files) when both are set.
    pub tls_cert_path: Option<PathBuf>,
    pub tls_key_path: Option<PathBuf>,
    /// A second, plaintext listener serving only `grpc.health.v1` (for Kubernetes'
    /// native gRPC probes, which cannot speak TLS). Off when unset.
    pub health_listen_addr: Option<SocketAddr>,
    /// Also serve gRPC-Web (`application/grpc-web[+proto]`, `-text`; HTTP/1.1 too),
    /// so a browser, an H5 page or a mini-program calls the same RPCs with the same
    /// bearer token — no second API.
    pub grpc_web: bool,
    /// Web origins allowed to call from a browser (CORS), comma-separated, e.g.
    /// `https://m.xiaopu.example,https://servicewechat.com`. Empty: none — a page on
    /// the same origin (behind the same ingress) needs no CORS.
    pub cors_allowed_origins: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            request_timeout_ms: 10_000,
            concurrency_limit: 512,
            max_message_bytes: 4 * 1024 * 1024,
            max_feed_streams: 32,
            first_byte_timeout_ms: 10_000,
            idle_timeout_ms: 120_000,
            shutdown_grace_ms: 20_000,
            health_check_interval_ms: 1_000,
            public_reflection: true,
            tls_cert_path: None,
            tls_key_path: None,
            health_listen_addr: None,
            grpc_web: true,
            cors_allowed_origins: String::new(),
        }
    }
}

impl ServerSettings {
    /// The origins CORS allows, each checked: a scheme and host, with no path.
    pub fn cors_origins(&self) -> Result<Vec<http::HeaderValue>, ConfigError> {
        self.cors_allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|origin| {
                let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
                let host_ok = rest.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#', ' ', '*']));
                let value = http::HeaderValue::from_str(origin).ok().filter(|_| host_ok);
                value.ok_or_else(|| {
                    ConfigError::invalid(
                        "server.cors_allowed_origins",
                        format!(
                            "`{origin}` is not an origin: scheme and host (and port), e.g. https://m.xiaopu.example"
                        ),
                    )
                })
            })
            .collect()
    }

    /// How long a connection may stay silent before its first byte, and idle after.
    pub fn connection_limits(&self) -> crate::connections::Limits {
        crate::connections::Limits {
            first_byte: std::time::Duration::from_millis(self.first_byte_timeout_ms),
            idle: std::time::Duration::from_millis(self.idle_timeout_ms),
        }
    }
}

impl Validate for ServerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        positive("server.request_timeout_ms", self.request_timeout_ms)?;
        positive("server.concurrency_limit", self.concurrency_limit as u64)?;
        positive("server.max_feed_streams", self.max_feed_streams as u64)?;
        positive("server.first_byte_timeout_ms", self.first_byte_timeout_ms)?;
        positive("server.idle_timeout_ms", self.idle_timeout_ms)?;
        positive("server.health_check_interval_ms", self.health_check_interval_ms)?;
        if self.max_message_bytes < 1024 {
            return Err(ConfigError::invalid("server.max_message_bytes", "must be at least 1024"));
        }
        if self.tls_cert_path.is_some() != self.tls_key_path.is_some() {
            return Err(ConfigError::invalid(
                "server.tls_cert_path",
                "set both server.tls_cert_path and server.tls_key_path, or neither",
            ));
        }
        if !self.cors_allowed_origins.trim().is_empty() && !self.grpc_web {
            return Err(ConfigError::invalid(
                "server.cors_allowed_origins",
                "browsers can only call with server.grpc_web on; turn it on or leave the origins empty",
            ));
        }
        self.cors_origins().map(drop)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/database` (required).
    #[serde(default = "DatabaseSettings::no_url")]
    pub url: SecretString,
    #[serde(default = "DatabaseSettings::default_max_connections")]
    pub max_connections: u32,
    /// How long a call waits for a connection before failing with Unavailable.
    #[serde(default = "DatabaseSettings::default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
    #[serde(default = "DatabaseSettings::default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
    /// Apply pending migrations at start (under an advisory lock). Off when a
    /// migrations job runs them, as in the Helm chart.
    #[serde(default = "default_true")]
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Self::no_url(),
            max_connections: Self::default_max_connections(),
            acquire_timeout_ms: Self::default_acquire_timeout_ms(),
            statement_timeout_ms: Self::default_statement_timeout_ms(),
            migrate_on_start: true,
        }
    }
}

impl DatabaseSettings {
    fn no_url() -> SecretString {
        SecretString::from(String::new())
    }
    fn default_max_connections() -> u32 {
        10
    }
    fn default_acquire_timeout_ms() -> u64 {
        3_000
    }
    fn default_statement_timeout_ms() -> u64 {
        30_000
    }
}

impl Validate for DatabaseSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        let url = self.url.expose_secret();
        if url.is_empty() {
            return Err(ConfigError::invalid("database.url", "is required (e.g. XIAOPU_DATABASE__URL)"));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::invalid("database.url", "must be a postgres:// URL"));
        }
        positive("database.max_connections", u64::from(self.max_connections))?;
        positive("database.acquire_timeout_ms", self.acquire_timeout_ms)?;
        positive("database.statement_timeout_ms", self.statement_timeout_ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    pub service_name: String,
    /// `tracing` filter directives, e.g. `info,xiaopu_eligibility=debug`.
    pub log_filter: String,
    pub log_format: LogFormat,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`; export is off when unset.
    pub otlp_endpoint: Option<String>,
    /// Fraction of new traces sampled (0.0 to 1.0); a sampled parent is always followed.
    pub sampling_ratio: f64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            service_name: "xiaopu".into(),
            log_filter: "info".into(),
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            sampling_ratio: 1.0,
        }
    }
}

impl Validate for TelemetrySettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.sampling_ratio) {
            return Err(ConfigError::invalid("telemetry.sampling_ratio", "must be between 0.0 and 1.0"));
        }
        if let Some(endpoint) = &self.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(ConfigError::invalid("telemetry.otlp_endpoint", "must be an http:// or https:// URL"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TokenAlgorithm {
    /// Shared secret: local runs and tests.
    HS256,
    /// RSA public key verification: production identity providers.
    RS256,
    /// Ed25519 public key verification.
    EdDSA,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    pub algorithm: TokenAlgorithm,
    /// HS256 shared secret (at least 32 bytes).
    pub secret: Option<SecretString>,
    /// PEM public key that verifies RS256/EdDSA tokens.
    pub public_key_pem: Option<String>,
    /// The identity provider's public keys as a JWKS file (RS256/EdDSA), chosen by
    /// each token's `kid`: instead of `public_key_pem`, and how keys rotate.
    pub jwks_path: Option<PathBuf>,
    /// A file holding this service's own token, issued by the identity provider
    /// (role `service`, subject the service's name) and rotated there. With it the
    /// service signs nothing: production holds no key that could mint a token.
    pub service_token_path: Option<PathBuf>,
    /// PEM private key this service signs its own service tokens with
    /// (RS256/EdDSA); HS256 signs with the secret.
    pub private_key_pem: Option<SecretString>,
    /// Required `iss` claim, when set.
    pub issuer: Option<String>,
    /// Required `aud` claim, when set.
    pub audience: Option<String>,
    pub leeway_seconds: u64,
    /// The longest a token may live (`exp` − `iat`, or `exp` − now without `iat`):
    /// a longer-lived token is refused whatever its signature.
    pub max_token_lifetime_seconds: u64,
    /// Lifetime of the tokens this service mints for its own outgoing calls.
    pub service_token_ttl_seconds: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            algorithm: TokenAlgorithm::HS256,
            secret: None,
            public_key_pem: None,
            jwks_path: None,
            service_token_path: None,
            private_key_pem: None,
            issuer: None,
            audience: None,
            leeway_seconds: 30,
            max_token_lifetime_seconds: 24 * 3600,
            service_token_ttl_seconds: 300,
        }
    }
}

impl Validate for AuthSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        match self.algorithm {
            TokenAlgorithm::HS256 => match &self.secret {
                Some(secret) if secret.expose_secret().len() >= 32 => Ok(()),
                Some(_) => Err(ConfigError::invalid("auth.secret", "must be at least 32 bytes")),
                None => Err(ConfigError::invalid("auth.secret", "is required when auth.algorithm is HS256")),
            },
            TokenAlgorithm::RS256 | TokenAlgorithm::EdDSA => match (&self.public_key_pem, &self.jwks_path) {
                (Some(_), Some(_)) => {
                    Err(ConfigError::invalid("auth.jwks_path", "set either auth.public_key_pem or auth.jwks_path"))
                }
                (Some(pem), None) if !pem.contains("BEGIN PUBLIC KEY") => {
                    Err(ConfigError::invalid("auth.public_key_pem", "must be a PEM public key"))
                }
                (Some(_), None) | (None, Some(_)) => Ok(()),
                (None, None) => Err(ConfigError::invalid(
                    "auth.jwks_path",
                    "or auth.public_key_pem is required when auth.algorithm is RS256 or EdDSA",
                )),
            },
        }
    }
}

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

/// Where a service reaches another service over gRPC.
#[derive(Debug, Clone, Deserialize)]
pub struct UpstreamSettings {
    /// e.g. `http://eligibility:50051`, or `https://…` for TLS.
    pub url: String,
    /// CA certificate (PEM) that signed the upstream's certificate, for `https://`.
    #[serde(default)]
    pub ca_cert_path: Option<PathBuf>,
    #[serde(default = "UpstreamSettings::default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "UpstreamSettings::default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
}

impl UpstreamSettings {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            ca_cert_path: None,
            timeout_ms: Self::default_timeout_ms(),
            connect_timeout_ms: Self::default_connect_timeout_ms(),
        }
    }

    fn default_timeout_ms() -> u64 {
        3_000
    }
    fn default_connect_timeout_ms() -> u64 {
        1_000
    }

    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(ConfigError::invalid(format!("{key}.url"), "must be an http:// or https:// URL"));
        }
        positive(&format!("{key}.timeout_ms"), self.timeout_ms)?;
        positive(&format!("{key}.connect_timeout_ms"), self.connect_timeout_ms)
    }
}

fn default_true() -> bool {
    true
}

/// Fails with the key named when `value` is zero.
pub fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::invalid(key, "must be greater than 0"));
    }
    Ok(())
}
