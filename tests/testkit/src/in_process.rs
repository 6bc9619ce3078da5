//! Each service's real server started inside the test process on a loopback port,
//! on a test database and a clock the test holds. Any subset composes: a service's
//! own tests start what it calls, [`crate::Stack`] starts all four.
use std::{net::SocketAddr, sync::Arc};

use xiaopu_common::{
    config::UpstreamSettings,
    server::RunningServer,
    testing::{self, TestDatabase},
    time::{SharedClock, SystemClock},
};

use crate::Options;

fn upstream(server: SocketAddr) -> UpstreamSettings {
    UpstreamSettings::new(&format!("http://{server}"))
}

/// Eligibility on `db`, on the system clock (scores carry their own times).
pub async fn eligibility(db: &TestDatabase) -> RunningServer {
    let settings = xiaopu_eligibility::Settings {
        common: testing::common_settings(&db.url, "eligibility"),
        service: Default::default(),
    };
    xiaopu_eligibility::start(settings, Arc::new(SystemClock)).await.expect("eligibility starts")
}

/// The storefront on `db` calling eligibility at `eligibility`, listening on
/// `listen` when given (a restart on the same address).
pub async fn storefront(
    db: &TestDatabase,
    eligibility: SocketAddr,
    clock: SharedClock,
    listen: Option<SocketAddr>,
) -> RunningServer {
    let mut common = testing::common_settings(&db.url, "storefront");
    if let Some(addr) = listen {
        common.server.listen_addr = addr;
    }
    let settings = xiaopu_storefront::Settings {
        common,
        service: xiaopu_storefront::StorefrontSettings { eligibility: upstream(eligibility), ..Default::default() },
    };
    xiaopu_storefront::start(settings, clock).await.expect("storefront starts")
}

/// Attribution on `db` calling the storefront at `storefront`, with `adjust` applied
/// to its settings last.
pub async fn attribution(
    db: &TestDatabase,
    storefront: SocketAddr,
    clock: SharedClock,
    adjust: impl FnOnce(&mut xiaopu_attribution::Settings),
) -> RunningServer {
    let mut settings = xiaopu_attribution::Settings {
        common: testing::common_settings(&db.url, "attribution"),
        service: xiaopu_attribution::AttributionSettings { storefront: upstream(storefront), ..Default::default() },
    };
    adjust(&mut settings);
    xiaopu_attribution::start(settings, clock).await.expect("attribution starts")
}

/// Settlement on `db` calling attribution at `attribution`, configured by `options`.
/// Its sweep waits an hour: tests run it themselves, when they mean to.
pub async fn settlement(
    db: &TestDatabase,
    attribution: SocketAddr,
    clock: SharedClock,
    options: &Options,
) -> RunningServer {
    let settings = xiaopu_settlement::Settings {
        common: testing::common_settings(&db.url, "settlement"),
        service: xiaopu_settlement::SettlementSettings {
            attribution: upstream(attribution),
            hold_hours: options.hold_hours,
            min_payout_minor: options.min_payout_minor,
            fee_bps: options.fee_bps,
            withholding: options.withholding.into(),
            payee_key_path: Some(testing::payee_key_file()),
            sweep_interval_ms: 3_600_000,
            // Webhooks go out at once, and a failing receiver fails for good after
            // three quick attempts.
            webhook_interval_ms: 50,
            webhook_retry_base_ms: 100,
            webhook_max_attempts: 3,
            webhook_timeout_ms: 2_000,
            webhook_allow_private_addresses: options.webhooks_to_private_addresses,
            ..Default::default()
        },
    };
    xiaopu_settlement::start(settings, clock).await.expect("settlement starts")
}
