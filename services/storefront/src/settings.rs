//! Storefront's settings: what can be configured, its defaults and the rules a
//! value must meet (a bad value stops the service at start, naming the key).
use serde::Deserialize;
use xiaopu_common::config::{self, ConfigError, Section, UpstreamSettings, Validate};

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
}

impl Default for StorefrontSettings {
    fn default() -> Self {
        Self {
            eligibility: UpstreamSettings::new("http://127.0.0.1:50051"),
            min_rate_bps: 1,
            max_rate_bps: 9000,
            currencies: "CNY".into(),
            share_base_url: "http://127.0.0.1:8080/s/".into(),
        }
    }
}

impl StorefrontSettings {
    /// The URL of the share link `code`.
    pub fn share_url(&self, code: &str) -> String {
        format!("{}{code}", self.share_base_url)
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
