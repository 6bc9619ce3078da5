//! Scheduled rates cancelled before they apply; what suppliers see of their catalog;
//! products fetched by id for a page of order lines.
use chrono::TimeDelta;
use tonic::Code;
use xiaopu_api::{reasons, storefront as pb};
use xiaopu_common::{auth::Role, error::status_details, testing::authed, time::to_timestamp};

use crate::support::{cny, spawn};

#[tokio::test]
async fn a_scheduled_rate_is_cancelled_into_history_and_never_applies() {
    let app = spawn().await;
    let tea = app.publish("s1", "Tea", 10000).await;
    let t0 = app.now();
    let in_force = app.set_rate("s1", &tea.product_id, 500, Some(t0)).await.expect("now");
    let t1 = t0 + TimeDelta::hours(2);
    let scheduled = app.set_rate("s1", &tea.product_id, 800, Some(t1)).await.expect("later");
    let cancel = |rate_id: &str, who: &str| {
        let request = pb::CancelScheduledRateRequest { rate_id: rate_id.into() };
        let mut client = app.client();
        let who = who.to_owned();
        async move { client.cancel_scheduled_rate(authed(request, Role::Supplier, &who)).await }
    };

    let err = cancel(&scheduled.rate_id, "s2").await.expect_err("another supplier's rate");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = cancel(&in_force.rate_id, "s1").await.expect_err("already in force");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(status_details(&err).0.as_deref(), Some(reasons::RATE_IN_FORCE));

    let cancelled = cancel(&scheduled.rate_id, "s1").await.expect("cancel").into_inner().rate.expect("rate");
    assert!(cancelled.cancelled_at.is_some());
    let again = cancel(&scheduled.rate_id, "s1").await.expect("cancel again").into_inner().rate.expect("rate");
    assert_eq!(again, cancelled, "cancelling twice answers the same");

    let at_t1 = pb::GetCommissionRateRequest { product_id: tea.product_id.clone(), at: Some(to_timestamp(t1)) };
    let rate = app.client().get_commission_rate(authed(at_t1, Role::Service, "attribution")).await.expect("rate");
    assert_eq!(rate.into_inner().rate.expect("rate").rate_bps, 500, "the cancelled rate never applies");

    let history =
        pb::ListCommissionRatesRequest { product_id: tea.product_id.clone(), page_size: 10, page_token: String::new() };
    let rates = app.client().list_commission_rates(authed(history, Role::Supplier, "s1")).await.expect("history");
    let rates = rates.into_inner().rates;
    let seen: Vec<(i32, bool)> = rates.iter().map(|r| (r.rate_bps, r.cancelled_at.is_some())).collect();
    assert_eq!(seen, [(800, true), (500, false)], "history keeps the cancelled rate, marked");

    // Its time is free again, and attribution hears of the cancellation.
    app.set_rate("s1", &tea.product_id, 700, Some(t1)).await.expect("rescheduled at the same time");
    let pool = app.pool().await;
    let events: Vec<String> =
        sqlx::query_scalar("SELECT type_url FROM outbox WHERE topic = 'storefront.rate' ORDER BY seq")
            .fetch_all(&pool)
            .await
            .expect("outbox");
    assert_eq!(events.len(), 4);
    assert!(events[2].ends_with("xiaopu.storefront.v1.CommissionRateCancelled"), "{events:?}");
}

#[tokio::test]
async fn suppliers_see_how_many_shops_list_each_product_and_its_rate() {
    let app = spawn().await;
    let tea = app.publish("s1", "Tea", 10000).await;
    let cup = app.publish("s1", "Cup", 2000).await;
    app.set_rate("s1", &tea.product_id, 650, None).await.expect("rate");
    for promoter in ["p1", "p2"] {
        let shop = app.shop(promoter).await;
        app.add(promoter, &shop.shop_id, &tea.product_id, "好喝").await.expect("list");
    }
    let request =
        pb::ListSupplierProductsRequest { supplier_id: "s1".into(), page_size: 10, page_token: String::new() };
    let answer = app.client().list_supplier_products(authed(request, Role::Supplier, "s1")).await.expect("list");
    let answer = answer.into_inner();
    assert_eq!(answer.products.len(), 2);
    assert_eq!(answer.active_listings.get(&tea.product_id), Some(&2));
    assert_eq!(answer.active_listings.get(&cup.product_id), None, "listed nowhere");
    assert_eq!(answer.current_rate_bps.get(&tea.product_id), Some(&650));
    assert_eq!(answer.current_rate_bps.get(&cup.product_id), None, "no rate in force");

    let ids = vec![tea.product_id.clone(), uuid::Uuid::new_v4().to_string(), cup.product_id.clone()];
    let request = pb::BatchGetProductsRequest { product_ids: ids };
    let found = app.client().batch_get_products(authed(request, Role::Promoter, "p1")).await.expect("batch");
    let mut titles: Vec<String> = found.into_inner().products.into_iter().map(|p| p.title).collect();
    titles.sort();
    assert_eq!(titles, ["Cup", "Tea"], "unknown ids are left out");
    let request = pb::BatchGetProductsRequest { product_ids: vec!["nope".into()] };
    let err = app.client().batch_get_products(authed(request, Role::Promoter, "p1")).await.expect_err("bad id");
    assert_eq!(status_details(&err).1[0].field, "product_ids[0]");
}

#[tokio::test]
async fn categories_may_be_chinese() {
    let app = spawn().await;
    let request = pb::PublishProductRequest {
        request_id: "fruit-1".into(),
        title: "赣南脐橙 5斤".into(),
        price: cny(3990),
        category: "水果".into(),
        stock_status: pb::StockStatus::InStock.into(),
        ..Default::default()
    };
    let product = app.client().publish_product(authed(request, Role::Supplier, "s1")).await.expect("publish");
    let product = product.into_inner().product.expect("product");
    app.set_rate("s1", &product.product_id, 800, None).await.expect("rate");
    let search = pb::SearchProductsRequest { category: "水果".into(), ..Default::default() };
    let offers = app.client().search_products(authed(search, Role::Promoter, "p1")).await.expect("search");
    let titles: Vec<String> =
        offers.into_inner().offers.into_iter().filter_map(|o| o.product).map(|p| p.title).collect();
    assert_eq!(titles, ["赣南脐橙 5斤"]);
    let bad = pb::SearchProductsRequest { category: "<script>".into(), ..Default::default() };
    let err = app.client().search_products(authed(bad, Role::Promoter, "p1")).await.expect_err("markup");
    assert_eq!(status_details(&err).1[0].field, "category");
}
