//! Settlement: the double-entry commission ledger, the settlement life cycle, periods
//! and payout batches with four-eyes approval, clawbacks, holds, and reconciliation
//! (DOMAIN.md rules 6–8). It follows attribution's commission feed.
pub mod api;
pub mod domain;
pub mod store;

use std::{sync::Arc, time::Duration};

use chrono::TimeDelta;
use serde::Deserialize;
use xiaopu_api::{settlement::settlement_service_server::SettlementServiceServer, topics};
use xiaopu_common::{
    config::{self, ConfigError, Section, UpstreamSettings, Validate},
    feed::FeedConsumer,
    server::{Infra, RunningServer},
    service::ServiceApp,
    time::{SharedClock, SystemClock},
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
        }
    }
}

impl SettlementSettings {
    pub fn hold(&self) -> TimeDelta {
        TimeDelta::hours(i64::from(self.hold_hours))
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
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ConfigError::invalid("settlement.currency", "must be an ISO 4217 code, e.g. CNY"));
        }
        Ok(())
    }
}

pub struct Settlement;

impl ServiceApp for Settlement {
    type Section = SettlementSettings;
    const NAME: &'static str = "settlement";
    const DEFAULT_LISTEN_ADDR: &'static str = "127.0.0.1:50054";

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
        start(settings, Arc::new(SystemClock)).await
    }
}

/// Starts settlement, its follower of attribution's feed and its scheduled sweep.
pub async fn start(settings: Settings, clock: SharedClock) -> anyhow::Result<RunningServer> {
    let infra = Infra::start(&settings.common, Settlement::migrator()).await?;
    let s = &settings.service;
    let source = Arc::new(infra.feed_source(&s.attribution, "settlement.attribution")?);
    let handler = api::CommissionFeed { fee_bps: s.fee_bps, clock: clock.clone() };
    let consumer = FeedConsumer::new("attribution", infra.pool.clone(), source, &[topics::COMMISSION], handler);
    tokio::spawn(consumer.run(infra.shutdown.clone()));
    tokio::spawn(api::sweep::schedule(
        infra.pool.clone(),
        clock.clone(),
        s.hold(),
        Duration::from_millis(s.sweep_interval_ms),
        infra.shutdown.clone(),
    ));

    let limit = settings.common.server.max_message_bytes;
    let attribution = infra.upstream(&s.attribution, "settlement.attribution")?;
    let api = api::SettlementApi::new(infra.pool.clone(), clock, settings.service.clone(), attribution);
    let api = SettlementServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    infra.server().add_service(api).add_service(infra.feed_service()).bind().await
}
