//! Storefront's settings: what can be configured, its defaults and the rules a
//! value must meet (a bad value stops the service at start, naming the key).
use chrono::TimeDelta;
use serde::Deserialize;
use xiaopu_common::config::{self, ConfigError, Section, UpstreamSettings, Validate};

use crate::domain::share_code::GuessLimit;

/// The service's whole configuration.
pub type Settings = config::Settings<StorefrontSettings>;

/// `XIAOPU_STOREFRONT__…`
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StorefrontSettings {
    /// Where eligibility answers (`XIAOPU_STOREFRONT__ELIGIBILITY__URL`).
    pub eligibility: UpstreamSettings,
    /// Suppliers' rates must stay within these bounds (basis points).
    pub min_rate_bps: i32,
    pub max_rate_bps: i32,
    /// Currencies products may be priced in, comma-separated ISO codes.
    pub currencies: String,
    /// Where share links are opened: the web front's `/s/` on its public host; a
    /// link's URL is this followed by its code.
    pub share_base_url: String,
    /// Against guessing promo codes: a visitor who misses this many codes within the
    /// window is refused every lookup until it ends.
    pub code_guess_limit: i32,
    pub code_guess_window_secs: i64,
    /// The most live promo codes one shop may have.
    pub max_promo_codes_per_shop: i64,
}

impl Default for StorefrontSettings {
    fn default() -> Self {
        Self {
            eligibility: UpstreamSettings::new("http://127.0.0.1:50051"),
            min_rate_bps: 1,
            max_rate_bps: 9000,
            currencies: "CNY".into(),
            share_base_url: "http://127.0.0.1:8080/s/".into(),
            code_guess_limit: 10,
            code_guess_window_secs: 600,
            max_promo_codes_per_shop: 20,
        }
    }
}

impl StorefrontSettings {
    /// The URL of the share link `code`.
    pub fn share_url(&self, code: &str) -> String {
        format!("{}{code}", self.share_base_url)
    }

    pub fn guess_limit(&self) -> GuessLimit {
        GuessLimit { misses: self.code_guess_limit, window: TimeDelta::seconds(self.code_guess_window_secs) }
    }

    pub fn currencies(&self) -> impl Iterator<Item = &str> {
        self.currencies.split(',').map(str::trim).filter(|c| !c.is_empty())
    }
}

impl Section for StorefrontSettings {
    const KEY: &'static str = "storefront";
}

impl Validate for StorefrontSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.eligibility.validate("storefront.eligibility")?;
        if !(1..=10_000).contains(&self.min_rate_bps) {
            return Err(ConfigError::invalid("storefront.min_rate_bps", "must be between 1 and 10000"));
        }
        if !(self.min_rate_bps..=10_000).contains(&self.max_rate_bps) {
            return Err(ConfigError::invalid("storefront.max_rate_bps", "must be between min_rate_bps and 10000"));
        }
        if self.currencies().next().is_none()
            || self.currencies().any(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(ConfigError::invalid("storefront.currencies", "must list ISO 4217 codes, e.g. CNY or CNY,HKD"));
        }
        if !(1..=1000).contains(&self.code_guess_limit) {
            return Err(ConfigError::invalid("storefront.code_guess_limit", "must be between 1 and 1000"));
        }
        if !(1..=86_400).contains(&self.code_guess_window_secs) {
            return Err(ConfigError::invalid("storefront.code_guess_window_secs", "must be between 1 and 86400"));
        }
        if !(1..=1000).contains(&self.max_promo_codes_per_shop) {
            return Err(ConfigError::invalid("storefront.max_promo_codes_per_shop", "must be between 1 and 1000"));
        }
        let base = &self.share_base_url;
        if !(base.starts_with("https://") || base.starts_with("http://")) || !base.ends_with('/') || base.contains(' ')
        {
            return Err(ConfigError::invalid(
                "storefront.share_base_url",
                "must be an http(s) URL ending in /, e.g. https://shop.xiaopu.example/s/",
            ));
        }
        Ok(())
    }
}
