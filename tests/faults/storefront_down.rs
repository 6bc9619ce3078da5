//! The storefront down during ingest: attribution keeps attributing from its own read
//! model of the catalog, and after the storefront is back it catches up with what
//! changed there (a new product listed, a new rate) and attributes by it.
use std::time::Duration;

use chrono::Utc;
use xiaopu_api::{
    attribution::{self as at, attribution_service_client::AttributionServiceClient},
    storefront::{self as sf, storefront_service_client::StorefrontServiceClient},
};
use xiaopu_common::{auth::Role, config::FeedTransportKind, testing::process::ServingStatus, transport_matrix};
use xiaopu_e2e::{
    system::System,
    world::{ingest_until_applied, minor, onboard, publish},
};
use xiaopu_testkit::events::{line, paid};

async fn explain(
    client: &mut AttributionServiceClient<xiaopu_common::grpc_client::Upstream>,
    line: &str,
) -> (at::AttributionReason, i64) {
    let answer =
        client.explain_line(at::ExplainLineRequest { line_id: line.into() }).await.expect("explain").into_inner();
    (answer.explanation.expect("explanation").reason(), minor(&answer.line.expect("line").commission))
}

transport_matrix!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    attribution_attributes_while_the_storefront_is_down_and_catches_up_after
);
async fn attribution_attributes_while_the_storefront_is_down_and_catches_up_after(transport: FeedTransportKind) {
    xiaopu_common::testing::init_logs();
    let mut system = System::up_to_attribution(transport).await;
    let tea = publish(&system, "s-down", "White tea", 20_000, 700).await;
    let (shop, code) = onboard(&system, "p-down", std::slice::from_ref(&tea)).await;
    system.caught_up("storefront", "attribution").await;

    system.process("storefront").kill();
    let mut orders = AttributionServiceClient::new(system.client("attribution", Role::Service, "order-system"));
    let now = Utc::now();
    let batch: Vec<_> = (0..50)
        .map(|i| {
            paid(&format!("o{i}"), &format!("b{i}"), now, &code, vec![line(&format!("l{i}"), &tea, "s-down", 20_000)])
        })
        .collect();
    ingest_until_applied(&mut orders, &batch).await;
    let mut support = AttributionServiceClient::new(system.client("attribution", Role::Service, "support"));
    for i in [0, 49] {
        assert_eq!(explain(&mut support, &format!("l{i}")).await, (at::AttributionReason::OrderCode, 1_400));
    }
    assert_eq!(
        system.processes["attribution"].health().await,
        Some(ServingStatus::Serving),
        "attribution stays ready without the storefront"
    );

    // Back up: a second product is listed with its rate; attribution learns of it
    // from the feed and attributes the next order by it.
    system.restart("storefront").await;
    let pot = publish(&system, "s-down", "Teapot", 30_000, 1_000).await;
    let mut promoter = StorefrontServiceClient::new(system.client("storefront", Role::Promoter, "p-down"));
    let add = sf::AddListingRequest {
        shop_id: shop,
        product_id: pot.clone(),
        recommendation_reason: "配白茶".into(),
        position: 0,
    };
    promoter.add_listing(add).await.expect("listed");
    system.caught_up("storefront", "attribution").await;
    let later = Utc::now() + Duration::from_millis(10);
    ingest_until_applied(
        &mut orders,
        &[paid("o-pot", "b-pot", later, &code, vec![line("l-pot", &pot, "s-down", 30_000)])],
    )
    .await;
    assert_eq!(explain(&mut support, "l-pot").await, (at::AttributionReason::OrderCode, 3_000));
}
