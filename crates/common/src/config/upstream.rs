//! A service another one calls: its URL and the deadlines of each call.
use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, positive};

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
