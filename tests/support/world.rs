//! What the system's users do before the interesting part of a test: a supplier's
//! product with a rate, promoters with shops and share links, orders ingested.
use std::time::Duration;

use tonic::Code;
use xiaopu_api::attribution::{self as at, EventOutcome, attribution_service_client::AttributionServiceClient};
use xiaopu_common::grpc_client::Upstream;

use crate::system::System;

pub use xiaopu_testkit::events::cny;

pub fn minor(m: &Option<xiaopu_api::types::Money>) -> i64 {
    m.as_ref().map_or(0, |m| m.minor_units)
}

pub use xiaopu_testkit::world::{payee, publish};

/// `promoter` is scored 720, opens a shop, lists `products` and shares the shop on
/// WeChat; the shop id and the share code. With a settlement instance named
/// `settlement` running, they also give it their payout profile.
pub async fn onboard(system: &System, promoter: &str, products: &[String]) -> (String, String) {
    if system.processes.contains_key("settlement") {
        payee(system, "settlement", promoter).await;
    }
    xiaopu_testkit::world::onboard(system, promoter, &format!("{promoter} 的小店"), products).await
}

/// `orders` orders of one line of `product` each, paid at `paid_at` through the share
/// codes in turn, then confirmed: two commission events per order once attributed.
pub fn paid_and_confirmed(
    orders: usize,
    product: &str,
    supplier: &str,
    codes: &[String],
    paid_at: chrono::DateTime<chrono::Utc>,
) -> Vec<at::OrderEvent> {
    use xiaopu_testkit::events::{confirmed, line, paid};
    (0..orders)
        .flat_map(|i| {
            let order = format!("o{i}");
            let lines = vec![line(&format!("l{i}"), product, supplier, 1_000 + i as i64)];
            [paid(&order, &format!("b{i}"), paid_at, &codes[i % codes.len()], lines), confirmed(&order, paid_at)]
        })
        .collect()
}

/// Sends `events` until every one is applied (or a duplicate): transport errors and
/// events waiting for the catalog to reach attribution's read model are retried, as
/// the order system would. Panics on any other refusal.
pub async fn ingest_until_applied(client: &mut AttributionServiceClient<Upstream>, events: &[at::OrderEvent]) {
    for _ in 0..600 {
        match client.ingest_events(at::IngestEventsRequest { events: events.to_vec() }).await {
            Ok(answer) => {
                let results = answer.into_inner().results;
                if results.iter().all(|r| matches!(r.outcome(), EventOutcome::Applied | EventOutcome::Duplicate)) {
                    return;
                }
                let refused = results.iter().find(|r| r.code != 0 && r.code != Code::FailedPrecondition as i32);
                assert!(refused.is_none(), "refused: {refused:?}");
            }
            Err(status) => {
                assert!(
                    !matches!(status.code(), Code::InvalidArgument | Code::PermissionDenied | Code::Unauthenticated),
                    "{status:?}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("events were not applied within a minute");
}
