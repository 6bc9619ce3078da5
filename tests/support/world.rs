//! What the system's users do before the interesting part of a test: a supplier's
//! product with a rate, promoters with shops and share links, orders ingested.
use std::time::Duration;

use tonic::Code;
use xiaopu_api::{
    attribution::{self as at, EventOutcome, attribution_service_client::AttributionServiceClient},
    eligibility::{RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient},
    settlement::{self as st, settlement_service_client::SettlementServiceClient},
    storefront::{self as sf, storefront_service_client::StorefrontServiceClient},
};
use xiaopu_common::{auth::Role, grpc_client::Upstream};

use crate::system::System;

pub use xiaopu_testkit::events::cny;

pub fn minor(m: &Option<xiaopu_api::types::Money>) -> i64 {
    m.as_ref().map_or(0, |m| m.minor_units)
}

/// `supplier` publishes a product at `price` with commission `bps`; its id.
pub async fn publish(system: &System, supplier: &str, title: &str, price: i64, bps: i32) -> String {
    let mut client = StorefrontServiceClient::new(system.client("storefront", Role::Supplier, supplier));
    let request = sf::PublishProductRequest {
        request_id: format!("publish-{supplier}-{price}-{bps}"),
        title: title.into(),
        price: cny(price),
        category: "tea".into(),
        ..Default::default()
    };
    let product = client.publish_product(request).await.expect("publish").into_inner().product.expect("product");
    let rate = sf::SetCommissionRateRequest {
        request_id: format!("rate-{}", product.product_id),
        product_id: product.product_id.clone(),
        rate_bps: bps,
        effective_from: None,
    };
    client.set_commission_rate(rate).await.expect("rate");
    product.product_id
}

/// `promoter` tells settlement instance `instance` to pay them by bank card.
pub async fn payee(system: &System, instance: &str, promoter: &str) {
    let mut client = SettlementServiceClient::new(system.client(instance, Role::Promoter, promoter));
    let profile = st::SetPayoutProfileRequest {
        legal_name: "李小红".into(),
        method: st::PayoutMethod::BankCard.into(),
        account: "6222020200112233445".into(),
        bank_name: "中国工商银行".into(),
    };
    client.set_payout_profile(profile).await.expect("payout profile");
}

/// `promoter` is scored 720, opens a shop, lists `products` and shares the shop on
/// WeChat; the shop id and the share code. With a settlement instance named
/// `settlement` running, they also give it their payout profile.
pub async fn onboard(system: &System, promoter: &str, products: &[String]) -> (String, String) {
    if system.processes.contains_key("settlement") {
        payee(system, "settlement", promoter).await;
    }
    let mut bureau = EligibilityServiceClient::new(system.client("eligibility", Role::Service, "credit-bureau"));
    let score = RecordCreditScoreRequest {
        request_id: format!("score-{promoter}"),
        person_id: promoter.into(),
        score: 720,
        source: "zhima".into(),
        observed_at: None,
    };
    bureau.record_credit_score(score).await.expect("score");
    let mut client = StorefrontServiceClient::new(system.client("storefront", Role::Promoter, promoter));
    let open = sf::OpenShopRequest { name: format!("{promoter} 的小店"), description: String::new() };
    let shop = client.open_shop(open).await.expect("open").into_inner().shop.expect("shop");
    for product in products {
        let add = sf::AddListingRequest {
            shop_id: shop.shop_id.clone(),
            product_id: product.clone(),
            recommendation_reason: "好物".into(),
            position: 0,
        };
        client.add_listing(add).await.expect("listed");
    }
    let link = sf::CreateShareLinkRequest {
        request_id: format!("link-{promoter}"),
        shop_id: shop.shop_id.clone(),
        listing_id: String::new(),
        channel: sf::Channel::Wechat.into(),
    };
    let code = client.create_share_link(link).await.expect("link").into_inner().share_link.expect("link").code;
    (shop.shop_id, code)
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
