//! Attribution: clicks and order events in, each order line attributed to the right
//! promoter with an explanation (DOMAIN.md rules 5–7), commission changes out.
//!
//! It keeps its own read model of the storefront from the storefront's feed, so
//! ingest makes no call per order and goes on while the storefront is down.
pub mod api;
pub mod app;
pub mod domain;
mod error;
pub mod feeds;
pub mod jobs;
mod settings;
pub mod store;

use std::sync::Arc;

use xiaopu_api::{attribution::attribution_service_server::AttributionServiceServer, topics};
use xiaopu_common::{
    feed::FeedConsumer,
    server::{Infra, RunningServer},
    service::ServiceApp,
    time::{SharedClock, SystemClock},
};

pub use self::error::Error;
pub use self::settings::{AttributionSettings, Settings};

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

/// Starts attribution, its follower of the storefront's feed, its lock pruning and its
/// monthly group memberships.
pub async fn start(settings: Settings, clock: SharedClock) -> anyhow::Result<RunningServer> {
    let infra = Infra::start::<Attribution>(&settings.common).await?;
    let engine = app::Engine {
        rules: settings.service.rules(),
        zone: settings.service.zone(),
        risk: settings.service.risk_rules(),
    };
    let source = infra.feed_transport(&settings.service.storefront, "attribution.storefront")?;
    let consumer = FeedConsumer::new(
        "storefront",
        infra.pool.clone(),
        source,
        &[topics::LISTING, topics::RATE, topics::PRODUCT, topics::SHARE_LINK, topics::SHOP],
        feeds::StorefrontFeed { engine, clock: clock.clone() },
    );
    tokio::spawn(consumer.run(infra.shutdown.clone()));
    tokio::spawn(jobs::prune_ingest_locks(infra.pool.clone(), infra.shutdown.clone()));
    tokio::spawn(jobs::promote_groups(
        infra.pool.clone(),
        engine,
        clock.clone(),
        std::time::Duration::from_millis(settings.service.group_interval_ms),
        infra.shutdown.clone(),
    ));

    let limit = settings.common.server.max_message_bytes;
    let api = api::AttributionApi::new(infra.pool.clone(), clock, engine, settings.service.currency_list());
    let api = AttributionServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    infra.server().add_service(api).add_service(infra.feed_service()).bind().await
}
