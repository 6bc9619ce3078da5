use chrono::TimeDelta;
use tonic::Code;
use xiaopu_api::storefront as pb;
use xiaopu_common::{auth::Role, error::status_details, testing::authed, time::to_timestamp};

use crate::support::{cny, spawn};

#[tokio::test]
async fn only_the_owning_supplier_changes_a_product_or_its_rate() {
    let app = spawn().await;
    let tea = app.publish("supplier-a", "Longjing tea", 19900).await;
    app.set_rate("supplier-a", &tea.product_id, 550, None).await.expect("owner sets rate");

    let err = app.set_rate("supplier-b", &tea.product_id, 900, None).await.expect_err("other supplier");
    assert_eq!(err.code(), Code::PermissionDenied);

    let update = || pb::UpdateProductRequest {
        product_id: tea.product_id.clone(),
        product: Some(pb::Product { title: "Cheap tea".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
    };
    for (role, who) in [(Role::Promoter, "p1"), (Role::Supplier, "supplier-b"), (Role::Admin, "ops")] {
        let err = app.client().update_product(authed(update(), role, who)).await.expect_err("not the owner");
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
        let withdraw = pb::WithdrawProductRequest { product_id: tea.product_id.clone(), reason: String::new() };
        let err = app.client().withdraw_product(authed(withdraw, role, who)).await.expect_err("not the owner");
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
    }
    let rate = pb::SetCommissionRateRequest {
        request_id: "r1".into(),
        product_id: tea.product_id.clone(),
        rate_bps: 9000,
        effective_from: None,
    };
    let err = app.client().set_commission_rate(authed(rate, Role::Promoter, "p1")).await.expect_err("promoter");
    assert_eq!(err.code(), Code::PermissionDenied);

    let updated = app.client().update_product(authed(update(), Role::Supplier, "supplier-a")).await.expect("owner");
    assert_eq!(updated.into_inner().product.expect("product").title, "Cheap tea");
    let get = pb::GetProductRequest { product_id: tea.product_id.clone() };
    let current = app.client().get_product(authed(get, Role::Promoter, "p1")).await.expect("get").into_inner();
    assert_eq!(current.current_rate_bps, 550);
    assert_eq!(current.product.expect("product").title, "Cheap tea");
}

#[tokio::test]
async fn the_rate_at_just_before_and_just_after_each_change() {
    let app = spawn().await;
    let tea = app.publish("s1", "Tea", 10000).await;
    let t0 = app.now();
    let first = app.set_rate("s1", &tea.product_id, 500, Some(t0)).await.expect("now");
    let t1 = t0 + TimeDelta::hours(1);
    app.set_rate("s1", &tea.product_id, 800, Some(t1)).await.expect("later");
    let t2 = t0 + TimeDelta::days(2);
    app.set_rate("s1", &tea.product_id, 300, Some(t2)).await.expect("later still");

    let rate_at = |at: chrono::DateTime<chrono::Utc>| {
        let app = &app;
        let product_id = tea.product_id.clone();
        async move {
            let request = pb::GetCommissionRateRequest { product_id, at: Some(to_timestamp(at)) };
            match app.client().get_commission_rate(authed(request, Role::Service, "attribution")).await {
                Ok(answer) => Some(answer.into_inner().rate.expect("rate").rate_bps),
                Err(status) if status.code() == Code::NotFound => None,
                Err(status) => panic!("{status:?}"),
            }
        }
    };
    let us = TimeDelta::microseconds(1);
    assert_eq!(rate_at(t0 - us).await, None, "before the first rate there is none");
    assert_eq!(rate_at(t0).await, Some(500));
    assert_eq!(rate_at(t1 - us).await, Some(500));
    assert_eq!(rate_at(t1).await, Some(800));
    assert_eq!(rate_at(t1 + us).await, Some(800));
    assert_eq!(rate_at(t2 - us).await, Some(800));
    assert_eq!(rate_at(t2).await, Some(300));
    assert_eq!(rate_at(t2 + TimeDelta::days(400)).await, Some(300));

    let history =
        pb::ListCommissionRatesRequest { product_id: tea.product_id.clone(), page_size: 2, page_token: String::new() };
    let page =
        app.client().list_commission_rates(authed(history, Role::Supplier, "s1")).await.expect("history").into_inner();
    assert_eq!(page.rates.iter().map(|r| r.rate_bps).collect::<Vec<_>>(), [300, 800]);
    assert!(!page.next_page_token.is_empty());

    // Rates are history: the same effective time twice is refused, not overwritten.
    let err = app.set_rate("s1", &tea.product_id, 900, Some(t1)).await.expect_err("same time");
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(rate_at(t1).await, Some(800));
    assert_eq!(first.rate_bps, 500);
}

#[tokio::test]
async fn rates_outside_the_bounds_or_in_the_past_name_the_rule() {
    let app = spawn().await;
    let tea = app.publish("s1", "Tea", 10000).await;
    for (bps, rule) in [(0, "at least 1 bps"), (9001, "at most 9000 bps"), (-5, "at least 1 bps")] {
        let err = app.set_rate("s1", &tea.product_id, bps, None).await.expect_err("out of bounds");
        assert_eq!(err.code(), Code::InvalidArgument);
        let (_, fields) = status_details(&err);
        assert_eq!(fields[0].field, "rate_bps");
        assert!(fields[0].rule.contains(rule), "{}", fields[0].rule);
    }
    let err = app.set_rate("s1", &tea.product_id, 500, Some(app.now() - TimeDelta::hours(1))).await.expect_err("past");
    assert_eq!(status_details(&err).1[0].field, "effective_from");
}

#[tokio::test]
async fn bad_products_are_refused_naming_each_field() {
    let app = spawn().await;
    let request = pb::PublishProductRequest {
        request_id: "r1".into(),
        title: String::new(),
        description: "d".into(),
        price: Some(xiaopu_api::types::Money { minor_units: -1, currency: "XXX".into() }),
        image_urls: vec!["ftp://nope".into()],
        category: "tea".into(),
        stock_status: 42,
    };
    let err = app.client().publish_product(authed(request, Role::Supplier, "s1")).await.expect_err("bad");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = status_details(&err).1.into_iter().map(|f| f.field).collect();
    assert_eq!(fields, ["title", "price.minor_units", "image_urls[0]", "stock_status"]);

    let request = pb::PublishProductRequest {
        request_id: "r2".into(),
        title: "Tea".into(),
        price: cny(100),
        category: "tea".into(),
        ..Default::default()
    };
    let err = app.client().publish_product(authed(request, Role::Promoter, "p1")).await.expect_err("promoter");
    assert_eq!(err.code(), Code::PermissionDenied, "promoters never publish");
}

#[tokio::test]
async fn promoters_search_by_keyword_category_and_rate_with_commission_per_unit() {
    let app = spawn().await;
    let mut ids = Vec::new();
    for (title, price, rate) in
        [("绿茶 Green tea", 19900, 550), ("Black tea", 12345, 1000), ("Teapot", 250, 250), ("Cup", 1050, 1000)]
    {
        let p = app.publish("s1", title, price).await;
        app.set_rate("s1", &p.product_id, rate, None).await.expect("rate");
        ids.push(p.product_id);
    }
    let unrated = app.publish("s1", "Unrated tea", 500).await;
    let withdrawn = app.publish("s1", "Withdrawn tea", 500).await;
    app.set_rate("s1", &withdrawn.product_id, 5000, None).await.expect("rate");
    let withdraw = pb::WithdrawProductRequest { product_id: withdrawn.product_id.clone(), reason: "recalled".into() };
    app.client().withdraw_product(authed(withdraw, Role::Supplier, "s1")).await.expect("withdraw");

    let search = |query: &str, min: i32, sort: pb::ProductSort, token: String| pb::SearchProductsRequest {
        query: query.into(),
        category: String::new(),
        min_rate_bps: min,
        max_rate_bps: 0,
        sort: sort.into(),
        page_size: 2,
        page_token: token,
    };
    let mut titles = Vec::new();
    let mut token = String::new();
    loop {
        let request = search("tea", 0, pb::ProductSort::Rate, token);
        let page =
            app.client().search_products(authed(request, Role::Promoter, "p1")).await.expect("search").into_inner();
        for offer in &page.offers {
            let product = offer.product.as_ref().expect("product");
            titles.push((
                product.title.clone(),
                offer.current_rate_bps,
                offer.commission_per_unit.as_ref().expect("commission").minor_units,
            ));
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    // Rate order; withdrawn and unrated products never appear; commission rounds half-even.
    assert_eq!(
        titles,
        [
            ("Black tea".to_string(), 1000, 1234),
            ("绿茶 Green tea".to_string(), 550, 1094),
            ("Teapot".to_string(), 250, 6)
        ]
    );
    assert!(!titles.iter().any(|(t, ..)| t == &unrated.title));

    let request = search("绿茶", 0, pb::ProductSort::Newest, String::new());
    let page = app.client().search_products(authed(request, Role::Promoter, "p1")).await.expect("search").into_inner();
    assert_eq!(page.offers.len(), 1);
    let request = search("", 1000, pb::ProductSort::Newest, String::new());
    let page = app.client().search_products(authed(request, Role::Promoter, "p1")).await.expect("search").into_inner();
    let newest: Vec<String> = page.offers.iter().map(|o| o.product.as_ref().expect("p").title.clone()).collect();
    assert_eq!(newest, ["Cup", "Black tea"]);

    let request = search("%", 0, pb::ProductSort::Rate, String::new());
    let page = app.client().search_products(authed(request, Role::Promoter, "p1")).await.expect("search").into_inner();
    assert!(page.offers.is_empty(), "a % in the query matches literally");
    let mut bad = search("", 0, pb::ProductSort::Rate, "garbage".into());
    bad.min_rate_bps = 500;
    bad.max_rate_bps = 100;
    let err = app.client().search_products(authed(bad, Role::Promoter, "p1")).await.expect_err("bad");
    assert_eq!(err.code(), Code::InvalidArgument);
}
