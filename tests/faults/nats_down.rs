//! NATS down under a system that carries its events on JetStream: every service that
//! needs it reports NOT_SERVING, writes still commit (their events wait in the
//! outbox), and once NATS is back the services serve again and the events written
//! meanwhile arrive: a promoter scored below the threshold while NATS was down has
//! their shop suspended after.
use std::time::Duration;

use xiaopu_api::{
    eligibility::{RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient},
    storefront::{self as sf, storefront_service_client::StorefrontServiceClient},
};
use xiaopu_common::{
    auth::Role,
    config::FeedTransportKind,
    testing::{eventually, process::ServingStatus},
};
use xiaopu_e2e::{system::System, world::onboard};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_makes_services_unready_and_loses_no_event() {
    xiaopu_common::testing::init_logs();
    let mut system = System::new(FeedTransportKind::Jetstream, None).await;
    system.add("eligibility", "eligibility", None, &[("XIAOPU_SERVER__HEALTH_CHECK_INTERVAL_MS", "200")]).await;
    system
        .add("storefront", "storefront", Some("eligibility"), &[("XIAOPU_SERVER__HEALTH_CHECK_INTERVAL_MS", "200")])
        .await;
    let (shop_id, _) = onboard(&system, "p-nats", &[]).await;

    system.nats.as_mut().expect("nats").nodes[0].kill();
    for name in ["eligibility", "storefront"] {
        system.processes[name].wait_health(ServingStatus::NotServing, Duration::from_secs(10)).await;
    }
    // The credit bureau's write commits all the same; its event waits in the outbox.
    let mut bureau = EligibilityServiceClient::new(system.client("eligibility", Role::Service, "credit-bureau"));
    let score = RecordCreditScoreRequest {
        request_id: "score-p-nats-low".into(),
        person_id: "p-nats".into(),
        score: 610,
        source: "zhima".into(),
        observed_at: None,
    };
    bureau.record_credit_score(score).await.expect("a write while NATS is down");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(system.processes["storefront"].health().await, Some(ServingStatus::NotServing), "still down");

    system.nats.as_mut().expect("nats").nodes[0].restart();
    for name in ["eligibility", "storefront"] {
        system.processes[name].wait_serving(Duration::from_secs(30)).await;
    }
    let storefront = StorefrontServiceClient::new(system.client("storefront", Role::Service, "web"));
    eventually("the shop is suspended by the event written while NATS was down", Duration::from_secs(30), || {
        let (mut storefront, shop_id) = (storefront.clone(), shop_id.clone());
        async move {
            let request = sf::GetShopPageRequest { shop_id, page_size: 10, page_token: String::new() };
            let page = storefront.get_shop_page(request).await.ok()?.into_inner();
            (page.status() == sf::ShopStatus::Suspended).then_some(())
        }
    })
    .await;
}
