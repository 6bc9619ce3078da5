//! Settlement's settings: what can be configured, its defaults and the rules a
//! value must meet (a bad value stops the service at start, naming the key).
use std::{path::PathBuf, time::Duration};

use chrono::TimeDelta;
use serde::Deserialize;
use xiaopu_common::{
    config::{self, ConfigError, Section, UpstreamSettings, Validate},
    sealed::SealingKey,
    time::Zone,
};
use xiaopu_money::Bps;

use crate::{
    domain::{payout::CloseRules, withholding::Withholding},
    jobs::webhooks::Policy,
};

/// The service's whole configuration.
pub type Settings = config::Settings<SettlementSettings>;

/// `XIAOPU_SETTLEMENT__…`
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SettlementSettings {
    /// Attribution: its feed, and its lines for reconciliation
    /// (`XIAOPU_SETTLEMENT__ATTRIBUTION__URL`).
    pub attribution: UpstreamSettings,
    /// The platform's service fee on each commission, in basis points.
    pub fee_bps: i32,
    /// Payout lines below this (minor units) carry forward.
    pub min_payout_minor: i64,
    /// The after-sale hold after confirmation, in hours (7 days by default).
    pub hold_hours: u32,
    /// How often the settleable sweep runs.
    pub sweep_interval_ms: u64,
    /// The currency settled.
    pub currency: String,
    /// The business time zone: what periods' days and the files' times are in.
    pub time_zone: String,
    /// Tax withheld from payouts at the close: `none` or `cn_labour_remuneration`
    /// (劳务报酬 预扣预缴).
    pub withholding: String,
    /// The key payees' details are sealed with: a file of 32 random bytes in base64,
    /// mounted from a Secret (required).
    pub payee_key_path: Option<PathBuf>,
    /// How often due webhook deliveries are sent.
    pub webhook_interval_ms: u64,
    /// The wait after a delivery's first failed attempt; it doubles after each, up
    /// to an hour.
    pub webhook_retry_base_ms: u64,
    /// Attempts before a delivery is failed (the owner may then send it again).
    pub webhook_max_attempts: i32,
    /// How long a receiver has to answer one delivery.
    pub webhook_timeout_ms: u64,
    /// Let webhooks reach private, loopback and link-local addresses. Off in
    /// production: a receiver is on the internet, and a URL must never make
    /// settlement call into the platform's own network.
    pub webhook_allow_private_addresses: bool,
}

impl Default for SettlementSettings {
    fn default() -> Self {
        Self {
            attribution: UpstreamSettings::new("http://127.0.0.1:50053"),
            fee_bps: 1000,
            min_payout_minor: 1000,
            hold_hours: 7 * 24,
            sweep_interval_ms: 60_000,
            currency: "CNY".into(),
            time_zone: "Asia/Shanghai".into(),
            withholding: "none".into(),
            payee_key_path: None,
            webhook_interval_ms: 1_000,
            webhook_retry_base_ms: 10_000,
            webhook_max_attempts: 8,
            webhook_timeout_ms: 5_000,
            webhook_allow_private_addresses: false,
        }
    }
}

impl SettlementSettings {
    /// The platform's fee rate (`validate` refused any outside 0 to 100 %).
    pub fn fee(&self) -> Bps {
        Bps::clamped(self.fee_bps)
    }

    pub fn hold(&self) -> TimeDelta {
        TimeDelta::hours(i64::from(self.hold_hours))
    }

    /// The business time zone (checked by `validate`).
    pub fn zone(&self) -> Zone {
        Zone::parse(&self.time_zone).unwrap_or_default()
    }

    /// What every close applies (the rule checked by `validate`).
    pub fn close_rules(&self) -> CloseRules {
        CloseRules {
            min_payout: self.min_payout_minor,
            withholding: Withholding::parse(&self.withholding).unwrap_or_default(),
        }
    }

    /// How webhook deliveries are sent (values checked by `validate`).
    pub fn webhook_policy(&self) -> Policy {
        Policy {
            retry_base: TimeDelta::milliseconds(i64::try_from(self.webhook_retry_base_ms).unwrap_or(i64::MAX)),
            max_attempts: self.webhook_max_attempts,
            timeout: Duration::from_millis(self.webhook_timeout_ms),
            allow_private: self.webhook_allow_private_addresses,
        }
    }

    /// Reads the payee key (which also seals webhooks' signing secrets).
    pub fn payee_key(&self) -> Result<SealingKey, ConfigError> {
        let path = self.payee_key_path.as_ref().ok_or_else(|| {
            ConfigError::invalid("settlement.payee_key_path", "is required: a file with the payee key")
        })?;
        SealingKey::from_file(path).map_err(|e| ConfigError::invalid("settlement.payee_key_path", e.to_string()))
    }
}

impl Section for SettlementSettings {
    const KEY: &'static str = "settlement";
}

impl Validate for SettlementSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.attribution.validate("settlement.attribution")?;
        if !(0..=10_000).contains(&self.fee_bps) {
            return Err(ConfigError::invalid("settlement.fee_bps", "must be between 0 and 10000"));
        }
        if self.min_payout_minor < 1 {
            return Err(ConfigError::invalid("settlement.min_payout_minor", "must be at least 1"));
        }
        config::positive("settlement.sweep_interval_ms", self.sweep_interval_ms)?;
        config::positive("settlement.webhook_interval_ms", self.webhook_interval_ms)?;
        config::positive("settlement.webhook_retry_base_ms", self.webhook_retry_base_ms)?;
        config::positive("settlement.webhook_timeout_ms", self.webhook_timeout_ms)?;
        if !(1..=30).contains(&self.webhook_max_attempts) {
            return Err(ConfigError::invalid("settlement.webhook_max_attempts", "must be between 1 and 30"));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ConfigError::invalid("settlement.currency", "must be an ISO 4217 code, e.g. CNY"));
        }
        ConfigError::zone("settlement.time_zone", &self.time_zone)?;
        if Withholding::parse(&self.withholding).is_none() {
            return Err(ConfigError::invalid("settlement.withholding", "must be none or cn_labour_remuneration"));
        }
        self.payee_key().map(drop)
    }
}
