//! What the system's users do before the interesting part of a test — a supplier's
//! product with a rate, an eligible promoter's shop, listings and share links — over
//! gRPC, the same whether the services run in this process ([`crate::Stack`], a
//! service's own test app) or as processes (the end-to-end and fault tests' system).
use std::{net::SocketAddr, time::Duration};

use chrono::{DateTime, Utc};
use xiaopu_api::{
    eligibility::{RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient},
    settlement::{self as st, settlement_service_client::SettlementServiceClient},
    storefront::{self as sf, storefront_service_client::StorefrontServiceClient},
};
use xiaopu_common::{auth::Role, grpc_client::Upstream, testing::TEST_SECRET, time::to_timestamp};

use crate::{events::cny, processes};

/// Reaches the services of a running system as a given user.
pub trait Connect {
    /// A channel to `service` (or a named instance of one) calling as `role`/`subject`.
    fn client(&self, service: &str, role: Role, subject: &str) -> Upstream;
}

/// A channel to the server at `addr` calling as `role`/`subject`, signed with the
/// tests' secret. A slow test machine is not a failure: the setup a test builds may
/// wait its turn, up to a minute a call.
pub fn client_at(addr: SocketAddr, role: Role, subject: &str) -> Upstream {
    processes::client(&format!("http://{addr}"), TEST_SECRET, role, subject, Duration::from_secs(60))
}

fn storefront(system: &impl Connect, role: Role, subject: &str) -> StorefrontServiceClient<Upstream> {
    StorefrontServiceClient::new(system.client("storefront", role, subject))
}

/// `supplier` publishes a product at `price` (CNY minor units); with `bps` > 0 it
/// also sets that commission rate, in force now. The product's id.
pub async fn publish(system: &impl Connect, supplier: &str, title: &str, price: i64, bps: i32) -> String {
    let request = sf::PublishProductRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        title: title.into(),
        price: cny(price),
        category: "tea".into(),
        ..Default::default()
    };
    let mut client = storefront(system, Role::Supplier, supplier);
    let product = client.publish_product(request).await.expect("publish").into_inner().product.expect("product");
    if bps > 0 {
        set_rate(system, supplier, &product.product_id, bps, None).await;
    }
    product.product_id
}

/// `supplier` sets `bps` on `product` from `from` (now when `None`).
pub async fn set_rate(system: &impl Connect, supplier: &str, product: &str, bps: i32, from: Option<DateTime<Utc>>) {
    let rate = sf::SetCommissionRateRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        product_id: product.into(),
        rate_bps: bps,
        effective_from: from.map(to_timestamp),
    };
    storefront(system, Role::Supplier, supplier).set_commission_rate(rate).await.expect("rate");
}

/// The credit bureau scores `person`.
pub async fn score(system: &impl Connect, person: &str, score: i32) {
    let mut bureau = EligibilityServiceClient::new(system.client("eligibility", Role::Service, "credit-bureau"));
    let request = RecordCreditScoreRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        person_id: person.into(),
        score,
        source: "zhima".into(),
        observed_at: None,
    };
    bureau.record_credit_score(request).await.expect("score");
}

/// `promoter` is scored 720 (eligible) and opens a shop called `name`; its id.
pub async fn open_shop(system: &impl Connect, promoter: &str, name: &str) -> String {
    score(system, promoter, 720).await;
    let open = sf::OpenShopRequest { name: name.into(), description: String::new() };
    let mut client = storefront(system, Role::Promoter, promoter);
    client.open_shop(open).await.expect("open shop").into_inner().shop.expect("shop").shop_id
}

/// `promoter` lists `product` at the end of `shop`; the listing's id.
pub async fn list(system: &impl Connect, promoter: &str, shop: &str, product: &str) -> String {
    let add = sf::AddListingRequest {
        shop_id: shop.into(),
        product_id: product.into(),
        recommendation_reason: "好物".into(),
        position: 0,
    };
    let mut client = storefront(system, Role::Promoter, promoter);
    client.add_listing(add).await.expect("listed").into_inner().listing.expect("listing").listing_id
}

/// `promoter` shares the whole of `shop` on WeChat; the share code.
pub async fn share_shop(system: &impl Connect, promoter: &str, shop: &str) -> String {
    let link = sf::CreateShareLinkRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        shop_id: shop.into(),
        listing_id: String::new(),
        channel: sf::Channel::Wechat.into(),
    };
    let mut client = storefront(system, Role::Promoter, promoter);
    client.create_share_link(link).await.expect("link").into_inner().share_link.expect("link").code
}

/// An eligible `promoter`'s shop called `name` listing `products`, shared on WeChat:
/// the shop's id and the share code.
pub async fn onboard(system: &impl Connect, promoter: &str, name: &str, products: &[String]) -> (String, String) {
    let shop = open_shop(system, promoter, name).await;
    for product in products {
        list(system, promoter, &shop, product).await;
    }
    let code = share_shop(system, promoter, &shop).await;
    (shop, code)
}

/// `promoter` tells `settlement` (an instance name) to pay them by bank card.
pub async fn payee(system: &impl Connect, settlement: &str, promoter: &str) {
    let mut client = SettlementServiceClient::new(system.client(settlement, Role::Promoter, promoter));
    let profile = st::SetPayoutProfileRequest {
        legal_name: "李小红".into(),
        method: st::PayoutMethod::BankCard.into(),
        account: "6222020200112233445".into(),
        bank_name: "中国工商银行".into(),
    };
    client.set_payout_profile(profile).await.expect("payout profile");
}
