//! Eligibility: credit-score decisions and promoter status (DOMAIN.md rule 1).
//!
//! `api` decodes, authorises and orchestrates; `domain` holds the rules; `store` the
//! SQL. [`start`] builds the whole server from settings, for `main` and tests alike.
pub mod api;
pub mod domain;
pub mod store;

use std::sync::Arc;

use serde::Deserialize;
use xiaopu_api::eligibility::eligibility_service_server::EligibilityServiceServer;
use xiaopu_common::{
    config::{self, ConfigError, Section, Validate},
    server::{Infra, RunningServer},
    service::ServiceApp,
    time::{SharedClock, SystemClock},
};

/// The service's whole configuration.
pub type Settings = config::Settings<EligibilitySettings>;

/// The rule (`XIAOPU_ELIGIBILITY__THRESHOLD`, `__FRESHNESS_DAYS`, `__RULE_VERSION`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct EligibilitySettings {
    /// A person is eligible only with a score strictly above this.
    pub threshold: i32,
    /// A score older than this many days no longer counts.
    pub freshness_days: i32,
    /// Recorded with every decision; change it whenever the rule changes.
    pub rule_version: String,
}

impl Default for EligibilitySettings {
    fn default() -> Self {
        Self { threshold: 700, freshness_days: 30, rule_version: "credit-threshold-v1".into() }
    }
}

impl Section for EligibilitySettings {
    const KEY: &'static str = "eligibility";
}

impl Validate for EligibilitySettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(domain::MIN_SCORE..=domain::MAX_SCORE).contains(&self.threshold) {
            return Err(ConfigError::invalid(
                "eligibility.threshold",
                format!("must be between {} and {}", domain::MIN_SCORE, domain::MAX_SCORE),
            ));
        }
        if !(1..=3650).contains(&self.freshness_days) {
            return Err(ConfigError::invalid("eligibility.freshness_days", "must be between 1 and 3650"));
        }
        if self.rule_version.trim().is_empty() {
            return Err(ConfigError::invalid("eligibility.rule_version", "must not be empty"));
        }
        Ok(())
    }
}

pub struct Eligibility;

impl ServiceApp for Eligibility {
    type Section = EligibilitySettings;
    const NAME: &'static str = "eligibility";
    const DEFAULT_LISTEN_ADDR: &'static str = "127.0.0.1:50051";

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
        start(settings, Arc::new(SystemClock)).await
    }
}

/// Starts the eligibility server with the given clock (tests move theirs).
pub async fn start(settings: Settings, clock: SharedClock) -> anyhow::Result<RunningServer> {
    let infra = Infra::start::<Eligibility>(&settings.common).await?;
    let rule = domain::Rule {
        threshold: settings.service.threshold,
        freshness_days: settings.service.freshness_days,
        version: settings.service.rule_version.clone(),
    };
    let limit = settings.common.server.max_message_bytes;
    let api = EligibilityServiceServer::new(api::EligibilityApi::new(infra.pool.clone(), rule, clock))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    infra.server().add_service(api).add_service(infra.feed_service()).bind().await
}
