//! Storefront: suppliers' catalog and commission rates, promoters' mini-shops of at
//! most 1000 listings, and share links (DOMAIN.md rules 2–5).
//!
//! `api` decodes, authorises and orchestrates; `domain` holds the rules; `store` the
//! SQL. [`start`] builds the whole server from settings, for `main` and tests alike;
//! it also follows eligibility's feed to suspend and reactivate shops.
pub mod api;
pub mod app;
mod convert;
pub mod domain;
mod error;
pub mod feeds;
mod settings;
pub mod store;

use std::sync::Arc;

use xiaopu_api::{storefront::storefront_service_server::StorefrontServiceServer, topics};
use xiaopu_common::{
    feed::FeedConsumer,
    server::{Infra, RunningServer},
    service::ServiceApp,
    time::{SharedClock, SystemClock},
};

pub use self::error::Error;
pub use self::settings::{Settings, StorefrontSettings};

pub struct Storefront;

impl ServiceApp for Storefront {
    type Section = StorefrontSettings;
    const NAME: &'static str = "storefront";
    const DEFAULT_LISTEN_ADDR: &'static str = "127.0.0.1:50052";

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
        start(settings, Arc::new(SystemClock)).await
    }
}

/// Starts the storefront server, its follower of eligibility's feed and the pruning of
/// promo-code misses.
pub async fn start(settings: Settings, clock: SharedClock) -> anyhow::Result<RunningServer> {
    let infra = Infra::start::<Storefront>(&settings.common).await?;
    let eligibility = infra.upstream(&settings.service.eligibility, "storefront.eligibility")?;
    let source = infra.feed_transport(&settings.service.eligibility, "storefront.eligibility")?;
    let consumer = FeedConsumer::new(
        "eligibility",
        infra.pool.clone(),
        source,
        &[topics::PROMOTER_STATUS],
        feeds::PromoterStatusHandler { clock: clock.clone() },
    );
    tokio::spawn(consumer.run(infra.shutdown.clone()));
    tokio::spawn(prune_code_guesses(
        infra.pool.clone(),
        clock.clone(),
        settings.service.guess_limit().window,
        infra.shutdown.clone(),
    ));

    let limit = settings.common.server.max_message_bytes;
    let api =
        StorefrontServiceServer::new(api::StorefrontApi::new(infra.pool.clone(), clock, settings.service, eligibility))
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
    infra.server().add_service(api).add_service(infra.feed_service()).bind().await
}

/// Forgets misses of windows long over, so `code_guess` holds only recent visitors.
async fn prune_code_guesses(
    pool: sqlx::PgPool,
    clock: SharedClock,
    window: chrono::TimeDelta,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let every = window.to_std().unwrap_or(std::time::Duration::from_secs(600));
    xiaopu_common::schedule::every("pruning promo-code misses", every, shutdown, || async {
        store::share_link::prune_guesses(&pool, clock.now() - window).await
    })
    .await;
}
