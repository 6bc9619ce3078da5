//! The `telemetry` section: logs, their format, and where spans are exported.
use serde::Deserialize;

use super::{ConfigError, Validate};

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
