//! Eligibility's settings: what can be configured, its defaults and the rules a
//! value must meet (a bad value stops the service at start, naming the key).
use serde::Deserialize;
use xiaopu_common::config::{self, ConfigError, Section, Validate};

use crate::domain;

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
