use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tonic::{Status, transport::Channel};
use xiaopu_api::{
    storefront::{self as pb, storefront_service_client::StorefrontServiceClient},
    types::Money,
};
use xiaopu_common::{
    auth::Role,
    grpc_client::Upstream,
    server::RunningServer,
    testing::{self, TestDatabase, authed},
    time::{Clock, OffsetClock, to_timestamp},
};

pub struct TestApp {
    pub _storefront: RunningServer,
    pub eligibility: RunningServer,
    pub db: TestDatabase,
    _eligibility_db: TestDatabase,
    pub clock: OffsetClock,
    pub channel: Channel,
}

pub async fn spawn() -> TestApp {
    testing::init_logs();
    let eligibility_db = TestDatabase::create("sf_elig").await;
    let eligibility = xiaopu_testkit::in_process::eligibility(&eligibility_db).await;
    spawn_with(eligibility, eligibility_db).await
}

/// A storefront whose eligibility upstream is `eligibility_url` (e.g. nothing listening).
pub async fn spawn_with(eligibility: RunningServer, eligibility_db: TestDatabase) -> TestApp {
    let db = TestDatabase::create("sf").await;
    let clock = OffsetClock::default();
    let storefront =
        xiaopu_testkit::in_process::storefront(&db, eligibility.local_addr, Arc::new(clock.clone()), None).await;
    let channel = testing::channel(storefront.local_addr).await;
    TestApp { _storefront: storefront, eligibility, db, _eligibility_db: eligibility_db, clock, channel }
}

pub fn cny(minor_units: i64) -> Option<Money> {
    Some(Money { minor_units, currency: "CNY".into() })
}

/// The shared world-building reaches this app's eligibility and storefront.
impl xiaopu_testkit::world::Connect for TestApp {
    fn client(&self, service: &str, role: Role, subject: &str) -> Upstream {
        let addr = match service {
            "eligibility" => self.eligibility.local_addr,
            "storefront" => self._storefront.local_addr,
            other => panic!("no service {other} in the storefront's test app"),
        };
        xiaopu_testkit::world::client_at(addr, role, subject)
    }
}

impl TestApp {
    pub fn client(&self) -> StorefrontServiceClient<Channel> {
        StorefrontServiceClient::new(self.channel.clone())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Records a credit score for `person` with the real eligibility service.
    pub async fn score(&self, person: &str, score: i32) {
        xiaopu_testkit::world::score(self, person, score).await;
    }

    pub async fn publish(&self, supplier: &str, title: &str, price: i64) -> pb::Product {
        let request = pb::PublishProductRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            title: title.into(),
            description: format!("{title}, fresh from the supplier"),
            price: cny(price),
            image_urls: vec!["https://img.example/1.jpg".into()],
            category: "tea".into(),
            stock_status: pb::StockStatus::InStock.into(),
        };
        let answer = self.client().publish_product(authed(request, Role::Supplier, supplier)).await.expect("publish");
        answer.into_inner().product.expect("product")
    }

    pub async fn set_rate(
        &self,
        supplier: &str,
        product_id: &str,
        rate_bps: i32,
        effective_from: Option<DateTime<Utc>>,
    ) -> Result<pb::CommissionRate, Status> {
        let request = pb::SetCommissionRateRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            product_id: product_id.into(),
            rate_bps,
            effective_from: effective_from.map(to_timestamp),
        };
        let answer = self.client().set_commission_rate(authed(request, Role::Supplier, supplier)).await?;
        Ok(answer.into_inner().rate.expect("rate"))
    }

    /// An eligible promoter with an open shop.
    pub async fn shop(&self, promoter: &str) -> pb::Shop {
        self.score(promoter, 720).await;
        let request = pb::OpenShopRequest { name: format!("{promoter}'s picks"), description: "好物推荐".into() };
        let answer = self.client().open_shop(authed(request, Role::Promoter, promoter)).await.expect("open shop");
        answer.into_inner().shop.expect("shop")
    }

    pub async fn add(
        &self,
        promoter: &str,
        shop_id: &str,
        product_id: &str,
        reason: &str,
    ) -> Result<pb::Listing, Status> {
        let request = pb::AddListingRequest {
            shop_id: shop_id.into(),
            product_id: product_id.into(),
            recommendation_reason: reason.into(),
            position: 0,
        };
        let answer = self.client().add_listing(authed(request, Role::Promoter, promoter)).await?;
        Ok(answer.into_inner().listing.expect("listing"))
    }

    pub async fn page(&self, shop_id: &str) -> pb::GetShopPageResponse {
        let request = pb::GetShopPageRequest { shop_id: shop_id.into(), page_size: 100, page_token: String::new() };
        self.client().get_shop_page(authed(request, Role::Service, "web")).await.expect("page").into_inner()
    }

    pub async fn pool(&self) -> sqlx::PgPool {
        self.db.connect().await
    }

    /// Waits until `check` holds (feeds are asynchronous), for at most 10 s.
    pub async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        xiaopu_common::testing::eventually(what, Duration::from_secs(10), || async { check().await.then_some(()) })
            .await;
    }
}
