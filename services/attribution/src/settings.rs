//! Attribution's settings: what can be configured, its defaults and the rules a
//! value must meet (a bad value stops the service at start, naming the key).
use chrono::TimeDelta;
use serde::Deserialize;
use xiaopu_common::{
    config::{self, ConfigError, Section, UpstreamSettings, Validate},
    time::Zone,
};

use crate::domain;

/// The service's whole configuration.
pub type Settings = config::Settings<AttributionSettings>;

/// `XIAOPU_ATTRIBUTION__…`
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AttributionSettings {
    /// The storefront whose feed this follows (`XIAOPU_ATTRIBUTION__STOREFRONT__URL`).
    pub storefront: UpstreamSettings,
    /// How long a click counts before a payment.
    pub window_days: u32,
    /// Whether a promoter buying through their own link earns.
    pub allow_self_purchase: bool,
    /// Accepted currencies, comma-separated.
    pub currencies: String,
    /// What wins when an order carries a share code and its buyer clicked another
    /// link within the window: `order_code` (default) or `last_click`.
    pub code_precedence: String,
    /// The business time zone: where a budget's or a group's month begins
    /// (`Asia/Shanghai`).
    pub time_zone: String,
    /// How often groups that promote by last month's commission are checked for a new
    /// month to work out.
    pub group_interval_ms: u64,
}

impl Default for AttributionSettings {
    fn default() -> Self {
        Self {
            storefront: UpstreamSettings::new("http://127.0.0.1:50052"),
            window_days: 15,
            allow_self_purchase: false,
            currencies: "CNY".into(),
            code_precedence: domain::Precedence::OrderCode.as_str().into(),
            time_zone: "Asia/Shanghai".into(),
            group_interval_ms: 60_000,
        }
    }
}

impl AttributionSettings {
    pub fn rules(&self) -> domain::Rules {
        domain::Rules {
            window: TimeDelta::days(i64::from(self.window_days)),
            allow_self_purchase: self.allow_self_purchase,
            // Checked by `validate`.
            precedence: domain::Precedence::parse(&self.code_precedence).unwrap_or(domain::Precedence::OrderCode),
        }
    }

    /// The business time zone (checked by `validate`).
    pub fn zone(&self) -> Zone {
        Zone::parse(&self.time_zone).unwrap_or_default()
    }

    pub fn currency_list(&self) -> Vec<String> {
        self.currencies.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
    }
}

impl Section for AttributionSettings {
    const KEY: &'static str = "attribution";
}

impl Validate for AttributionSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.storefront.validate("attribution.storefront")?;
        if !(1..=365).contains(&self.window_days) {
            return Err(ConfigError::invalid("attribution.window_days", "must be between 1 and 365"));
        }
        if domain::Precedence::parse(&self.code_precedence).is_none() {
            return Err(ConfigError::invalid("attribution.code_precedence", "must be order_code or last_click"));
        }
        ConfigError::zone("attribution.time_zone", &self.time_zone)?;
        if !(100..=3_600_000).contains(&self.group_interval_ms) {
            return Err(ConfigError::invalid("attribution.group_interval_ms", "must be between 100 and 3600000"));
        }
        let currencies = self.currency_list();
        if currencies.is_empty()
            || currencies.iter().any(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(ConfigError::invalid("attribution.currencies", "must list ISO 4217 codes, e.g. CNY"));
        }
        Ok(())
    }
}
