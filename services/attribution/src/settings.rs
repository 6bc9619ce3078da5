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
    /// Risk rules (0 turns one off; see docs/programme.md): hold the line of a buyer's
    /// `risk_burst_orders`-th order to one promoter within the window ...
    pub risk_burst_orders: i64,
    pub risk_burst_window_minutes: i64,
    /// ... a line whose buyer first clicked less than this many seconds before paying ...
    pub risk_fast_click_secs: i64,
    /// ... and flag a promoter whose last `risk_refund_sample` lines (at least
    /// `risk_refund_min_lines`) had more than this share refunded.
    pub risk_refund_rate_bps: i64,
    pub risk_refund_sample: i64,
    pub risk_refund_min_lines: i64,
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
            risk_burst_orders: 5,
            risk_burst_window_minutes: 60,
            risk_fast_click_secs: 10,
            risk_refund_rate_bps: 5000,
            risk_refund_sample: 50,
            risk_refund_min_lines: 10,
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

    pub fn risk_rules(&self) -> domain::risk::Rules {
        domain::risk::Rules {
            burst_orders: self.risk_burst_orders,
            burst_window: TimeDelta::minutes(self.risk_burst_window_minutes),
            fast_click: TimeDelta::seconds(self.risk_fast_click_secs),
            refund_rate_bps: self.risk_refund_rate_bps,
            refund_sample: self.risk_refund_sample,
            refund_min_lines: self.risk_refund_min_lines,
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
        let ranges: [(&str, i64, i64, i64); 6] = [
            ("attribution.risk_burst_orders", self.risk_burst_orders, 0, 1000),
            ("attribution.risk_burst_window_minutes", self.risk_burst_window_minutes, 1, 10_080),
            ("attribution.risk_fast_click_secs", self.risk_fast_click_secs, 0, 3600),
            ("attribution.risk_refund_rate_bps", self.risk_refund_rate_bps, 0, 10_000),
            ("attribution.risk_refund_sample", self.risk_refund_sample, 1, 1000),
            ("attribution.risk_refund_min_lines", self.risk_refund_min_lines, 1, 1000),
        ];
        for (key, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err(ConfigError::invalid(key, format!("must be between {low} and {high}")));
            }
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
