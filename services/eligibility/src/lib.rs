//! Eligibility: credit-score decisions and promoter status (DOMAIN.md rule 1).
//!
//! `api` decodes, authorises and orchestrates; `domain` holds the rules; `store` the
//! SQL. [`start`] builds the whole server from settings, for `main` and tests alike.
pub mod api;
pub mod app;
mod convert;
pub mod domain;
mod error;
mod settings;
pub mod store;

use std::sync::Arc;

use xiaopu_api::eligibility::eligibility_service_server::EligibilityServiceServer;
use xiaopu_common::{
    server::{Infra, RunningServer},
    service::ServiceApp,
    time::{SharedClock, SystemClock},
};

pub use self::error::Error;
pub use self::settings::{EligibilitySettings, Settings};

pub struct Eligibility;

impl ServiceApp for Eligibility {
    type Section = EligibilitySettings;
    const NAME: &'static str = "eligibility";
    const DEFAULT_LISTEN_ADDR: &'static str = "127.0.0.1:50051";

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
        start(settings, Arc::new(SystemClock)).await
    }
}

/// Starts the eligibility server with the given clock (tests move theirs).
pub async fn start(settings: Settings, clock: SharedClock) -> anyhow::Result<RunningServer> {
    let infra = Infra::start::<Eligibility>(&settings.common).await?;
    let rule = domain::Rule {
        threshold: settings.service.threshold,
        freshness_days: settings.service.freshness_days,
        version: settings.service.rule_version.clone(),
    };
    let limit = settings.common.server.max_message_bytes;
    let api = EligibilityServiceServer::new(api::EligibilityApi::new(infra.pool.clone(), rule, clock))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    infra.server().add_service(api).add_service(infra.feed_service()).bind().await
}
