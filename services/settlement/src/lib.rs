//! Settlement: the double-entry commission ledger, the settlement life cycle, periods
//! and payout batches with four-eyes approval, clawbacks, holds, and reconciliation
//! (DOMAIN.md rules 6–8). It follows attribution's commission feed.
pub mod api;
pub mod domain;
pub mod store;

use std::{path::PathBuf, sync::Arc, time::Duration};

use chrono::TimeDelta;
use serde::Deserialize;
use xiaopu_api::{settlement::settlement_service_server::SettlementServiceServer, topics};
use xiaopu_common::{
    config::{self, ConfigError, Section, UpstreamSettings, Validate},
    feed::FeedConsumer,
    sealed::SealingKey,
    server::{Infra, RunningServer},
    service::ServiceApp,
    time::{SharedClock, SystemClock, Zone},
};

use crate::domain::{payout::CloseRules, withholding::Withholding};

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
        }
    }
}

impl SettlementSettings {
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

    /// Reads the payee key.
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
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ConfigError::invalid("settlement.currency", "must be an ISO 4217 code, e.g. CNY"));
        }
        if Zone::parse(&self.time_zone).is_none() {
            return Err(ConfigError::invalid("settlement.time_zone", "must be an IANA zone name, e.g. Asia/Shanghai"));
        }
        if Withholding::parse(&self.withholding).is_none() {
            return Err(ConfigError::invalid("settlement.withholding", "must be none or cn_labour_remuneration"));
        }
        self.payee_key().map(drop)
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
    let infra = Infra::start::<Settlement>(&settings.common).await?;
    let s = &settings.service;
    let source = infra.feed_transport(&s.attribution, "settlement.attribution")?;
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
    let payee_key = s.payee_key()?;
    let api = api::SettlementApi::new(infra.pool.clone(), clock, settings.service.clone(), attribution, payee_key);
    let api = SettlementServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    infra.server().add_service(api).add_service(infra.feed_service()).bind().await
}
