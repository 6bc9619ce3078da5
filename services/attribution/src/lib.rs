//! Attribution: clicks and order events in, each order line attributed to the right
//! promoter with an explanation (DOMAIN.md rules 5–7), commission changes out.
//!
//! It keeps its own read model of the storefront from the storefront's feed, so
//! ingest makes no call per order and goes on while the storefront is down.
pub mod api;
pub mod domain;
pub mod jobs;
pub mod store;

use std::sync::Arc;

use chrono::TimeDelta;
use serde::Deserialize;
use xiaopu_api::{attribution::attribution_service_server::AttributionServiceServer, topics};
use xiaopu_common::{
    config::{self, ConfigError, Section, UpstreamSettings, Validate},
    feed::FeedConsumer,
    server::{Infra, RunningServer},
    service::ServiceApp,
    time::{SharedClock, SystemClock},
};

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
}

impl Default for AttributionSettings {
    fn default() -> Self {
        Self {
            storefront: UpstreamSettings::new("http://127.0.0.1:50052"),
            window_days: 15,
            allow_self_purchase: false,
            currencies: "CNY".into(),
        }
    }
}

impl AttributionSettings {
    pub fn rules(&self) -> domain::Rules {
        domain::Rules {
            window: TimeDelta::days(i64::from(self.window_days)),
            allow_self_purchase: self.allow_self_purchase,
        }
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
        let currencies = self.currency_list();
        if currencies.is_empty()
            || currencies.iter().any(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(ConfigError::invalid("attribution.currencies", "must list ISO 4217 codes, e.g. CNY"));
        }
        Ok(())
    }
}

pub struct Attribution;

impl ServiceApp for Attribution {
    type Section = AttributionSettings;
    const NAME: &'static str = "attribution";
    const DEFAULT_LISTEN_ADDR: &'static str = "127.0.0.1:50053";

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
        start(settings, Arc::new(SystemClock)).await
    }
}

/// Starts attribution, its follower of the storefront's feed and its lock pruning.
pub async fn start(settings: Settings, clock: SharedClock) -> anyhow::Result<RunningServer> {
    let infra = Infra::start::<Attribution>(&settings.common).await?;
    let engine = api::Engine { rules: settings.service.rules() };
    let source = infra.feed_transport(&settings.service.storefront, "attribution.storefront")?;
    let consumer = FeedConsumer::new(
        "storefront",
        infra.pool.clone(),
        source,
        &[topics::LISTING, topics::RATE, topics::PRODUCT, topics::SHARE_LINK, topics::SHOP],
        api::StorefrontFeed { engine, clock: clock.clone() },
    );
    tokio::spawn(consumer.run(infra.shutdown.clone()));
    tokio::spawn(jobs::prune_ingest_locks(infra.pool.clone(), infra.shutdown.clone()));

    let limit = settings.common.server.max_message_bytes;
    let api = api::AttributionApi::new(infra.pool.clone(), clock, engine, settings.service.currency_list());
    let api = AttributionServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    infra.server().add_service(api).add_service(infra.feed_service()).bind().await
}
