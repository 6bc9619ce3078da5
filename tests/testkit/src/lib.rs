//! The whole system in one test process: the four real servers on loopback ports,
//! each with its own database, talking gRPC and following each other's feeds —
//! plus the clocks tests move and builders for the order system's events.
pub mod events;
pub mod in_process;
pub mod processes;
pub mod webhooks;
pub mod world;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tonic::transport::Channel;
use xiaopu_api::{
    attribution::{self as pb, attribution_service_client::AttributionServiceClient},
    settlement::{self as st, settlement_service_client::SettlementServiceClient},
    storefront::storefront_service_client::StorefrontServiceClient,
};
use xiaopu_common::{
    auth::Role,
    grpc_client::Upstream,
    server::RunningServer,
    testing::{self, TestDatabase, authed, eventually},
    time::{Clock, OffsetClock, SystemClock},
};

/// What settlement is configured with in a test.
#[derive(Debug, Clone)]
pub struct Options {
    pub hold_hours: u32,
    pub min_payout_minor: i64,
    pub fee_bps: i32,
    /// `settlement.withholding`.
    pub withholding: &'static str,
    /// `settlement.webhook_allow_private_addresses`: on, for receivers on loopback.
    pub webhooks_to_private_addresses: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            hold_hours: 7 * 24,
            min_payout_minor: 1000,
            fee_bps: 1000,
            withholding: "none",
            webhooks_to_private_addresses: true,
        }
    }
}

/// The four services, running.
pub struct Stack {
    pub eligibility: RunningServer,
    pub storefront: RunningServer,
    pub attribution: RunningServer,
    pub settlement: RunningServer,
    pub storefront_db: TestDatabase,
    pub attribution_db: TestDatabase,
    pub settlement_db: TestDatabase,
    _eligibility_db: TestDatabase,
    /// Attribution's and settlement's clock: tests move it to let holds pass.
    pub clock: OffsetClock,
    pub channels: Channels,
}

pub struct Channels {
    pub eligibility: Channel,
    pub storefront: Channel,
    pub attribution: Channel,
    pub settlement: Channel,
}

/// A product at 550 bps listed in promoter `p1`'s shop with a share link.
#[derive(Debug, Clone)]
pub struct World {
    pub product: String,
    pub supplier: String,
    pub shop: String,
    pub code: String,
    pub since: DateTime<Utc>,
}

impl world::Connect for Stack {
    fn client(&self, service: &str, role: Role, subject: &str) -> Upstream {
        let server = match service {
            "eligibility" => &self.eligibility,
            "storefront" => &self.storefront,
            "attribution" => &self.attribution,
            "settlement" => &self.settlement,
            other => panic!("no service {other} in the stack"),
        };
        world::client_at(server.local_addr, role, subject)
    }
}

impl Stack {
    pub async fn spawn(options: Options) -> Self {
        testing::init_logs();
        let eligibility_db = TestDatabase::create("k_elig").await;
        let storefront_db = TestDatabase::create("k_sf").await;
        let attribution_db = TestDatabase::create("k_at").await;
        let settlement_db = TestDatabase::create("k_st").await;
        let clock = OffsetClock::default();
        let eligibility = in_process::eligibility(&eligibility_db).await;
        let storefront =
            in_process::storefront(&storefront_db, eligibility.local_addr, Arc::new(SystemClock), None).await;
        let attribution =
            in_process::attribution(&attribution_db, storefront.local_addr, Arc::new(clock.clone()), |_| {}).await;
        let settlement =
            in_process::settlement(&settlement_db, attribution.local_addr, Arc::new(clock.clone()), &options).await;
        let channels = Channels {
            eligibility: testing::channel(eligibility.local_addr).await,
            storefront: testing::channel(storefront.local_addr).await,
            attribution: testing::channel(attribution.local_addr).await,
            settlement: testing::channel(settlement.local_addr).await,
        };
        Self {
            eligibility,
            storefront,
            attribution,
            settlement,
            storefront_db,
            attribution_db,
            settlement_db,
            _eligibility_db: eligibility_db,
            clock,
            channels,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn storefront(&self) -> StorefrontServiceClient<Channel> {
        StorefrontServiceClient::new(self.channels.storefront.clone())
    }

    pub fn attribution(&self) -> AttributionServiceClient<Channel> {
        AttributionServiceClient::new(self.channels.attribution.clone())
    }

    pub fn settlement(&self) -> SettlementServiceClient<Channel> {
        SettlementServiceClient::new(self.channels.settlement.clone())
    }

    /// `promoter`'s payout profile: paid by Alipay.
    pub async fn payee(&self, promoter: &str) {
        let profile = st::SetPayoutProfileRequest {
            legal_name: "王小明".into(),
            method: st::PayoutMethod::Alipay.into(),
            account: "13800138000".into(),
            bank_name: String::new(),
        };
        self.settlement().set_payout_profile(authed(profile, Role::Promoter, promoter)).await.expect("payee");
    }

    /// An eligible promoter's shop listing `product`, with a whole-shop share code and
    /// a payout profile.
    pub async fn shop(&self, promoter: &str, product: &str) -> (String, String) {
        self.payee(promoter).await;
        self.shop_without_payee(promoter, product).await
    }

    /// The same, but the promoter never says where to pay them.
    pub async fn shop_without_payee(&self, promoter: &str, product: &str) -> (String, String) {
        world::onboard(self, promoter, &format!("{promoter}'s shop"), &[product.to_owned()]).await
    }

    /// A supplier's product at 550 bps in promoter `p1`'s shop, known to attribution.
    pub async fn world(&self) -> World {
        let since = SystemClock.now();
        let product = world::publish(self, "s1", "Longjing tea", 19900, 550).await;
        let (shop, code) = self.shop("p1", &product).await;
        self.feeds_caught_up().await;
        World { product, supplier: "s1".into(), shop, code, since }
    }

    pub async fn ingest(&self, events: Vec<pb::OrderEvent>) -> Vec<pb::EventResult> {
        let request = pb::IngestEventsRequest { events };
        self.attribution()
            .ingest_events(authed(request, Role::Service, "order-system"))
            .await
            .expect("ingest")
            .into_inner()
            .results
    }

    /// Waits until attribution has applied the storefront's feed and settlement
    /// attribution's, up to everything each published so far.
    pub async fn feeds_caught_up(&self) {
        caught_up(&self.storefront_db, &self.attribution_db, "storefront").await;
        caught_up(&self.attribution_db, &self.settlement_db, "attribution").await;
    }
}

/// Waits until `consumer` has applied `producer`'s whole outbox (feed name `feed`).
pub async fn caught_up(producer: &TestDatabase, consumer: &TestDatabase, feed: &str) {
    let producer = producer.connect().await;
    let consumer = consumer.connect().await;
    let last: Option<(i64, i64)> =
        sqlx::query_as("SELECT xid::text::bigint, seq FROM outbox ORDER BY xid DESC, seq DESC LIMIT 1")
            .fetch_optional(&producer)
            .await
            .expect("producer outbox");
    let Some((xid, seq)) = last else { return };
    // Generous: a fault test's consumer may have ten thousand events to apply.
    eventually(&format!("the {feed} feed is applied"), Duration::from_secs(60), || async {
        let cursor: Option<(String,)> = sqlx::query_as("SELECT position FROM feed_cursor WHERE feed = $1")
            .bind(feed)
            .fetch_optional(&consumer)
            .await
            .expect("cursor");
        cursor_reached(&cursor, xid, seq).then_some(())
    })
    .await;
}

/// Whether a stored cursor is at or past (xid, seq).
fn cursor_reached(cursor: &Option<(String,)>, xid: i64, seq: i64) -> bool {
    cursor
        .as_ref()
        .and_then(|(p,)| p.split_once('.'))
        .and_then(|(x, s)| Some((x.parse::<i64>().ok()?, s.parse::<i64>().ok()?)))
        .is_some_and(|(x, s)| (x, s) >= (xid, seq))
}
