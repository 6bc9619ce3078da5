//! The `server` section: where a service listens and how it treats each call (limits, timeouts, message sizes, shutdown).
use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

use super::{ConfigError, Validate, positive};

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
