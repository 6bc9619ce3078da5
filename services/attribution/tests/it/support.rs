use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use tonic::transport::Channel;
use xiaopu_api::{
    attribution::{self as pb, attribution_service_client::AttributionServiceClient},
    feed::{GetBacklogRequest, feed_service_client::FeedServiceClient},
    storefront::{self as sf, storefront_service_client::StorefrontServiceClient},
};
use xiaopu_common::{
    auth::Role,
    grpc_client::Upstream,
    server::RunningServer,
    testing::{self, TestDatabase, authed},
    time::{Clock, OffsetClock},
};
use xiaopu_testkit::{in_process, world};

pub struct TestApp {
    pub eligibility: RunningServer,
    pub storefront: Option<RunningServer>,
    pub _attribution: RunningServer,
    /// The storefront's own database: started and restarted with it; tests never read it.
    storefront_db: TestDatabase,
    pub db: TestDatabase,
    _eligibility_db: TestDatabase,
    /// The storefront's clock: listings, links and rates take their times from it.
    pub shop_clock: OffsetClock,
    /// Attribution's clock: events may not be later than it.
    pub clock: OffsetClock,
    pub storefront_channel: Channel,
    storefront_addr: std::net::SocketAddr,
    pub channel: Channel,
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// The same, with `adjust` applied to attribution's settings.
pub async fn spawn_with(adjust: impl FnOnce(&mut xiaopu_attribution::Settings)) -> TestApp {
    testing::init_logs();
    let eligibility_db = TestDatabase::create("at_elig").await;
    let eligibility = in_process::eligibility(&eligibility_db).await;
    let storefront_db = TestDatabase::create("at_sf").await;
    let shop_clock = OffsetClock::default();
    let storefront =
        in_process::storefront(&storefront_db, eligibility.local_addr, Arc::new(shop_clock.clone()), None).await;
    let db = TestDatabase::create("at").await;
    let clock = OffsetClock::default();
    let attribution = in_process::attribution(&db, storefront.local_addr, Arc::new(clock.clone()), |settings| {
        settings.common.server.concurrency_limit = 64;
        adjust(settings);
    })
    .await;
    let storefront_channel = testing::channel(storefront.local_addr).await;
    let channel = testing::channel(attribution.local_addr).await;
    TestApp {
        eligibility,
        storefront_addr: storefront.local_addr,
        storefront: Some(storefront),
        _attribution: attribution,
        storefront_db,
        db,
        _eligibility_db: eligibility_db,
        shop_clock,
        clock,
        storefront_channel,
        channel,
    }
}

/// What the storefront holds for a test: a supplier's product with a rate, and a
/// promoter's shop listing it with a share link.
#[derive(Debug, Clone)]
pub struct World {
    pub product: String,
    pub shop: String,
    pub code: String,
    pub since: DateTime<Utc>,
}

/// The shared world-building reaches the services of this app; the storefront at
/// its address even while stopped (a test restarts it there).
impl world::Connect for TestApp {
    fn client(&self, service: &str, role: Role, subject: &str) -> Upstream {
        let addr = match service {
            "eligibility" => self.eligibility.local_addr,
            "storefront" => self.storefront_addr,
            "attribution" => self._attribution.local_addr,
            other => panic!("no service {other} in attribution's test app"),
        };
        world::client_at(addr, role, subject)
    }
}

impl TestApp {
    pub fn client(&self) -> AttributionServiceClient<Channel> {
        AttributionServiceClient::new(self.channel.clone())
    }

    pub fn storefront(&self) -> StorefrontServiceClient<Channel> {
        StorefrontServiceClient::new(self.storefront_channel.clone())
    }

    pub async fn stop_storefront(&mut self) -> std::net::SocketAddr {
        let server = self.storefront.take().expect("storefront running");
        let addr = server.local_addr;
        server.stop().await.expect("storefront stops");
        addr
    }

    pub async fn restart_storefront(&mut self, addr: std::net::SocketAddr) {
        self.storefront = Some(
            in_process::storefront(
                &self.storefront_db,
                self.eligibility.local_addr,
                Arc::new(self.shop_clock.clone()),
                Some(addr),
            )
            .await,
        );
        self.storefront_channel = testing::channel(addr).await;
    }

    pub async fn publish(&self, supplier: &str, title: &str, rate_bps: i32) -> String {
        world::publish(self, supplier, title, 19900, rate_bps).await
    }

    pub async fn set_rate(&self, supplier: &str, product: &str, rate_bps: i32, from: Option<DateTime<Utc>>) {
        world::set_rate(self, supplier, product, rate_bps, from).await;
    }

    /// An eligible promoter's shop with a whole-shop share link.
    pub async fn shop(&self, promoter: &str) -> (String, String) {
        let shop = world::open_shop(self, promoter, &format!("{promoter}'s shop")).await;
        let code = world::share_shop(self, promoter, &shop).await;
        (shop, code)
    }

    pub async fn list(&self, promoter: &str, shop: &str, product: &str) -> String {
        world::list(self, promoter, shop, product).await
    }

    pub async fn unlist(&self, promoter: &str, listing: &str) {
        let remove = sf::RemoveListingRequest { listing_id: listing.into() };
        self.storefront().remove_listing(authed(remove, Role::Promoter, promoter)).await.expect("removed");
    }

    /// A supplier product at 550 bps listed in promoter `p1`'s shop, with a link.
    pub async fn world(&self) -> World {
        let since = self.shop_clock.now();
        let product = self.publish("s1", "Longjing tea", 550).await;
        let (shop, code) = self.shop("p1").await;
        self.list("p1", &shop, &product).await;
        self.caught_up().await;
        World { product, shop, code, since }
    }

    /// Waits until attribution has applied everything the storefront published: the
    /// storefront, asked over gRPC from attribution's own cursor, has no backlog left.
    pub async fn caught_up(&self) {
        let attribution = self.db.connect().await;
        let feed = FeedServiceClient::new(self.storefront_channel.clone());
        testing::eventually("attribution catches up with the storefront's feed", Duration::from_secs(10), || {
            let (attribution, mut feed) = (&attribution, feed.clone());
            async move {
                let cursor: Option<(String,)> =
                    sqlx::query_as("SELECT position FROM feed_cursor WHERE feed = 'storefront'")
                        .fetch_optional(attribution)
                        .await
                        .expect("cursor");
                let after = cursor.map(|(position,)| position).unwrap_or_default();
                let request = GetBacklogRequest { after, topics: Vec::new(), max_keys: 1 };
                let backlog = feed.get_backlog(authed(request, Role::Service, "attribution")).await.ok()?;
                (backlog.into_inner().events == 0).then_some(())
            }
        })
        .await;
    }

    pub async fn ingest(&self, events: Vec<pb::OrderEvent>) -> Vec<pb::EventResult> {
        let request = pb::IngestEventsRequest { events };
        self.client()
            .ingest_events(authed(request, Role::Service, "order-system"))
            .await
            .expect("ingest")
            .into_inner()
            .results
    }

    pub async fn line(&self, line_id: &str) -> (pb::OrderLine, pb::Explanation) {
        let request = pb::ExplainLineRequest { line_id: line_id.into() };
        let answer =
            self.client().explain_line(authed(request, Role::Admin, "support")).await.expect("explain").into_inner();
        (answer.line.expect("line"), answer.explanation.expect("explanation"))
    }

    pub fn shop_clock_now(&self) -> DateTime<Utc> {
        self.shop_clock.now()
    }

    pub async fn pool(&self) -> sqlx::PgPool {
        self.db.connect().await
    }
}

// The order system's events, shared with the other services' tests.
pub use xiaopu_testkit::events::{click, cny, confirmed, line, paid, refund};

pub fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}
