use std::{sync::Arc, time::Duration};

use tonic::Code;
use xiaopu_api::{
    eligibility::{PromoterStatus, PromoterStatusChanged},
    feed::{Event, WatchEventsResponse},
    storefront as pb, topics,
};
use xiaopu_common::{
    auth::Role,
    error::status_details,
    feed::{Cursor, Delivery, FeedConsumer, FeedSubscription, FeedTransport, TransportError},
    testing::{TestDatabase, authed},
    time::{SystemClock, to_timestamp},
};
use xiaopu_storefront::feeds::PromoterStatusHandler;

use crate::support::{spawn, spawn_with};

#[tokio::test]
async fn an_eligible_promoter_opens_one_shop_and_opening_again_returns_it() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    assert_eq!(shop.status(), pb::ShopStatus::Active);
    let again = pb::OpenShopRequest { name: "Another name".into(), description: String::new() };
    let answer = app.client().open_shop(authed(again, Role::Promoter, "p1")).await.expect("again").into_inner();
    assert!(!answer.created);
    assert_eq!(answer.shop.expect("shop").shop_id, shop.shop_id);
    let mine = app.client().get_my_shop(authed(pb::GetMyShopRequest {}, Role::Promoter, "p1")).await.expect("mine");
    assert_eq!(mine.into_inner().shop.expect("shop").name, "p1's picks");
}

#[tokio::test]
async fn an_ineligible_promoter_is_refused_with_the_eligibility_reason() {
    let app = spawn().await;
    app.score("p2", 690).await;
    let request = pb::OpenShopRequest { name: "Bob's".into(), description: String::new() };
    let err = app.client().open_shop(authed(request.clone(), Role::Promoter, "p2")).await.expect_err("refused");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(status_details(&err).0.as_deref(), Some("NOT_ELIGIBLE"));
    assert!(err.message().contains("690") && err.message().contains("threshold of 700"), "{}", err.message());

    let err = app.client().open_shop(authed(request, Role::Promoter, "nobody")).await.expect_err("no score");
    assert!(err.message().contains("no credit score"), "{}", err.message());
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM shop").fetch_one(&app.pool().await).await.expect("count");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn eligibility_down_makes_opening_unavailable_not_a_hang() {
    let app = spawn().await;
    app.score("p1", 720).await;
    app.eligibility.shutdown_token().cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let request = pb::OpenShopRequest { name: "Shop".into(), description: String::new() };
    let err = app.client().open_shop(authed(request, Role::Promoter, "p1")).await.expect_err("down");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered in {:?}", started.elapsed());
}

#[tokio::test]
async fn a_promoter_cannot_touch_another_promoters_shop() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    app.shop("p2").await;
    let tea = app.publish("s1", "Tea", 1000).await;
    let err = app.add("p2", &shop.shop_id, &tea.product_id, "mine now").await.expect_err("other's shop");
    assert_eq!(err.code(), Code::PermissionDenied);
    let update =
        pb::UpdateShopRequest { shop_id: shop.shop_id.clone(), name: "Hijacked".into(), description: String::new() };
    let err = app.client().update_shop(authed(update, Role::Promoter, "p2")).await.expect_err("other's shop");
    assert_eq!(err.code(), Code::PermissionDenied);
    let link = pb::CreateShareLinkRequest {
        request_id: "r1".into(),
        shop_id: shop.shop_id.clone(),
        listing_id: String::new(),
        channel: pb::Channel::Wechat.into(),
    };
    let err = app.client().create_share_link(authed(link, Role::Promoter, "p2")).await.expect_err("other's shop");
    assert_eq!(err.code(), Code::PermissionDenied);
    let listings = pb::ListShopListingsRequest { shop_id: shop.shop_id.clone(), ..Default::default() };
    let err = app.client().list_shop_listings(authed(listings, Role::Promoter, "p2")).await.expect_err("other's shop");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn suspension_from_the_eligibility_feed_suspends_the_shop_and_reinstatement_reopens_it() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let tea = app.publish("s1", "Tea", 1000).await;
    let listing = app.add("p1", &shop.shop_id, &tea.product_id, "好喝").await.expect("listed");
    let link = pb::CreateShareLinkRequest {
        request_id: "r1".into(),
        shop_id: shop.shop_id.clone(),
        listing_id: listing.listing_id.clone(),
        channel: pb::Channel::Moments.into(),
    };
    let link = app.client().create_share_link(authed(link, Role::Promoter, "p1")).await.expect("link").into_inner();
    let code = link.share_link.expect("link").code;

    app.score("p1", 650).await;
    let shop_id = shop.shop_id.clone();
    app.eventually("the shop is suspended", || async {
        app.page(&shop_id).await.status() == pb::ShopStatus::Suspended
    })
    .await;
    let page = app.page(&shop.shop_id).await;
    assert!(page.listings.is_empty());
    assert!(!page.notice.is_empty(), "the page says why it is empty");
    let resolve = pb::ResolveShareCodeRequest { code: code.clone(), visitor_key: String::new() };
    let err = app
        .client()
        .resolve_share_code(authed(resolve.clone(), Role::Service, "attribution"))
        .await
        .expect_err("suspended");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(status_details(&err).0.as_deref(), Some("SHOP_SUSPENDED"));

    app.score("p1", 760).await;
    app.eventually("the shop is active again", || async {
        app.page(&shop_id).await.status() == pb::ShopStatus::Active
    })
    .await;
    assert_eq!(app.page(&shop.shop_id).await.listings.len(), 1);
    app.client().resolve_share_code(authed(resolve, Role::Service, "attribution")).await.expect("resolves again");
}

/// A transport that never delivers: the test drives the consumer's batches itself.
struct NoSource;

#[tonic::async_trait]
impl FeedTransport for NoSource {
    async fn subscribe(
        &self,
        _producer: &str,
        _from: &Cursor,
        _topics: &[String],
    ) -> Result<Box<dyn FeedSubscription>, TransportError> {
        Err(TransportError::new("test", "no source"))
    }
}

fn suspension(event_id: &str, person: &str, cursor: &str) -> Delivery {
    let change = PromoterStatusChanged {
        person_id: person.into(),
        previous_status: PromoterStatus::Approved.into(),
        status: PromoterStatus::Suspended.into(),
        decision_id: "d1".into(),
        score: 650,
        changed_at: Some(to_timestamp(chrono::Utc::now())),
    };
    let event = Event {
        event_id: event_id.into(),
        topic: topics::PROMOTER_STATUS.into(),
        key: person.into(),
        occurred_at: None,
        payload: Some(prost_types::Any::from_msg(&change).expect("any")),
        cursor: cursor.into(),
    };
    WatchEventsResponse { events: vec![event], cursor: cursor.into() }.into()
}

#[tokio::test]
async fn the_suspension_event_applied_twice_suspends_once() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let consumer = FeedConsumer::new(
        "eligibility-test",
        app.pool().await,
        Arc::new(NoSource),
        &[topics::PROMOTER_STATUS],
        PromoterStatusHandler { clock: Arc::new(SystemClock) },
    );
    let first = uuid::Uuid::new_v4().to_string();
    consumer.apply_batch(&suspension(&first, "p1", "1.1")).await.expect("apply");
    // The same event redelivered, and the same change under another event id.
    consumer.apply_batch(&suspension(&first, "p1", "1.1")).await.expect("redelivered");
    consumer.apply_batch(&suspension(&uuid::Uuid::new_v4().to_string(), "p1", "1.2")).await.expect("again");
    assert_eq!(app.page(&shop.shop_id).await.status(), pb::ShopStatus::Suspended);
    let (shop_events,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM outbox WHERE topic = 'storefront.shop' AND key = $1")
            .bind(&shop.shop_id)
            .fetch_one(&app.pool().await)
            .await
            .expect("count");
    assert_eq!(shop_events, 2, "opened, then suspended once however often the change is applied");
}

#[tokio::test]
async fn a_shop_opened_after_the_feed_said_suspended_opens_suspended() {
    // Eligibility is down for the storefront's feed consumer, so the test feeds it.
    let eligibility_db = TestDatabase::create("sf_elig").await;
    let eligibility = xiaopu_testkit::in_process::eligibility(&eligibility_db).await;
    let app = spawn_with(eligibility, eligibility_db).await;
    app.score("p1", 720).await;
    let consumer = FeedConsumer::new(
        "eligibility-test",
        app.pool().await,
        Arc::new(NoSource),
        &[topics::PROMOTER_STATUS],
        PromoterStatusHandler { clock: Arc::new(SystemClock) },
    );
    consumer.apply_batch(&suspension(&uuid::Uuid::new_v4().to_string(), "p1", "9.9")).await.expect("apply");
    let request = pb::OpenShopRequest { name: "Shop".into(), description: String::new() };
    let shop = app.client().open_shop(authed(request, Role::Promoter, "p1")).await.expect("opens").into_inner();
    assert_eq!(shop.shop.expect("shop").status(), pb::ShopStatus::Suspended);
}
