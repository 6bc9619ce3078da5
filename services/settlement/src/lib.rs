//! Settlement: the double-entry commission ledger, the settlement life cycle, periods
//! and payout batches with four-eyes approval, clawbacks, holds, and reconciliation
//! (DOMAIN.md rules 6–8). It follows attribution's commission feed.
pub mod api;
pub mod app;
pub mod domain;
mod error;
pub mod feeds;
pub mod jobs;
mod settings;
pub mod store;

use std::{sync::Arc, time::Duration};

use xiaopu_api::{settlement::settlement_service_server::SettlementServiceServer, topics};
use xiaopu_common::{
    feed::FeedConsumer,
    server::{Infra, RunningServer},
    service::ServiceApp,
    time::{SharedClock, SystemClock},
};

pub use self::error::Error;
pub use self::settings::{Settings, SettlementSettings};

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
    let handler = feeds::CommissionFeed { fee: s.fee(), clock: clock.clone() };
    let consumer =
        FeedConsumer::new("attribution", infra.pool.clone(), source, &[topics::COMMISSION, topics::BUDGET], handler);
    tokio::spawn(consumer.run(infra.shutdown.clone()));
    tokio::spawn(jobs::sweep::schedule(
        infra.pool.clone(),
        clock.clone(),
        s.hold(),
        Duration::from_millis(s.sweep_interval_ms),
        infra.shutdown.clone(),
    ));

    let limit = settings.common.server.max_message_bytes;
    let attribution = infra.upstream(&s.attribution, "settlement.attribution")?;
    let payee_key = s.payee_key()?;
    tokio::spawn(jobs::webhooks::schedule(
        infra.pool.clone(),
        clock.clone(),
        payee_key.clone(),
        s.webhook_policy(),
        Duration::from_millis(s.webhook_interval_ms),
        infra.shutdown.clone(),
    ));
    let api = api::SettlementApi::new(infra.pool.clone(), clock, settings.service.clone(), attribution, payee_key);
    let api = SettlementServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    infra.server().add_service(api).add_service(infra.feed_service()).bind().await
}
