use chrono::TimeDelta;
use tonic::Code;
use xiaopu_api::storefront as pb;
use xiaopu_common::{auth::Role, error::status_details, testing::authed, time::to_timestamp};

use crate::support::spawn;

#[tokio::test]
async fn fifty_concurrent_adds_to_a_shop_of_990_end_at_exactly_1000() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let pool = app.pool().await;
    // Setup through SQL for speed: 1040 products, 990 of them already listed.
    sqlx::query(
        "INSERT INTO product (product_id, supplier_id, title, description, price_minor, currency, image_urls,
                              category, stock_status, status, published_at, updated_at, request_id)
         SELECT gen_random_uuid(), 's1', 'Product ' || n, '', 1000, 'CNY', '{}', 'tea', 'in_stock', 'active',
                now(), now(), 'seed-' || n
         FROM generate_series(1, 1040) AS n",
    )
    .execute(&pool)
    .await
    .expect("seed products");
    sqlx::query(
        "INSERT INTO listing (listing_id, shop_id, product_id, recommendation_reason, position, listed_at)
         SELECT gen_random_uuid(), $1, product_id, '', row_number() OVER (ORDER BY request_id), now()
         FROM (SELECT product_id, request_id FROM product ORDER BY request_id LIMIT 990) p",
    )
    .bind(uuid::Uuid::parse_str(&shop.shop_id).expect("uuid"))
    .execute(&pool)
    .await
    .expect("seed listings");
    sqlx::query("UPDATE shop SET listing_count = 990").execute(&pool).await.expect("count");
    let unlisted: Vec<(uuid::Uuid,)> =
        sqlx::query_as("SELECT product_id FROM product WHERE product_id NOT IN (SELECT product_id FROM listing)")
            .fetch_all(&pool)
            .await
            .expect("unlisted");
    assert_eq!(unlisted.len(), 50);

    let adds = unlisted.iter().map(|(product_id,)| {
        let client = app.client();
        let request = pb::AddListingRequest {
            shop_id: shop.shop_id.clone(),
            product_id: product_id.to_string(),
            recommendation_reason: "好物".into(),
            position: 0,
        };
        async move { client.clone().add_listing(authed(request, Role::Promoter, "p1")).await }
    });
    let results = futures::future::join_all(adds).await;
    let added = results.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<&tonic::Status> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(added, 10);
    assert_eq!(refused.len(), 40);
    for status in &refused {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.message().contains("1000"), "names the limit: {}", status.message());
        assert_eq!(status_details(status).0.as_deref(), Some("LISTING_LIMIT_REACHED"));
    }
    let (active,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM listing WHERE removed_at IS NULL").fetch_one(&pool).await.expect("count");
    assert_eq!(active, 1000);
    let shop_now = app.client().get_my_shop(authed(pb::GetMyShopRequest {}, Role::Promoter, "p1")).await.expect("shop");
    assert_eq!(shop_now.into_inner().shop.expect("shop").listing_count, 1000);

    // Removing one lets exactly one more in.
    let (one,): (uuid::Uuid,) = sqlx::query_as("SELECT listing_id FROM listing WHERE removed_at IS NULL LIMIT 1")
        .fetch_one(&pool)
        .await
        .expect("one");
    let remove = pb::RemoveListingRequest { listing_id: one.to_string() };
    app.client().remove_listing(authed(remove, Role::Promoter, "p1")).await.expect("remove");
    let refused_ids: Vec<String> = unlisted
        .iter()
        .map(|(id,)| id.to_string())
        .filter(|id| {
            results
                .iter()
                .all(|r| r.as_ref().map_or(true, |l| l.get_ref().listing.as_ref().is_none_or(|l| &l.product_id != id)))
        })
        .collect();
    let retry =
        futures::future::join_all(refused_ids.iter().take(5).map(|id| app.add("p1", &shop.shop_id, id, ""))).await;
    assert_eq!(retry.iter().filter(|r| r.is_ok()).count(), 1);
}

#[tokio::test]
async fn a_withdrawn_product_leaves_pages_and_search_but_keeps_its_history() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let tea = app.publish("s1", "Tea", 1000).await;
    let cup = app.publish("s1", "Cup", 500).await;
    app.set_rate("s1", &tea.product_id, 500, None).await.expect("rate");
    let listed = app.add("p1", &shop.shop_id, &tea.product_id, "the best").await.expect("tea");
    app.add("p1", &shop.shop_id, &cup.product_id, "").await.expect("cup");
    assert_eq!(app.page(&shop.shop_id).await.listings.len(), 2);
    let listed_at = app.now();
    app.clock.advance(TimeDelta::minutes(1));

    let withdraw = pb::WithdrawProductRequest { product_id: tea.product_id.clone(), reason: "recalled".into() };
    let answer =
        app.client().withdraw_product(authed(withdraw, Role::Supplier, "s1")).await.expect("withdraw").into_inner();
    assert_eq!(answer.listings_ended, 1);
    let page = app.page(&shop.shop_id).await;
    assert_eq!(page.listings.iter().map(|l| l.title.as_str()).collect::<Vec<_>>(), ["Cup"]);
    assert_eq!(page.listing_count, 1);
    let search = pb::SearchProductsRequest { query: "Tea".into(), ..Default::default() };
    let found = app.client().search_products(authed(search, Role::Promoter, "p1")).await.expect("search").into_inner();
    assert!(found.offers.is_empty());

    let check = |at| pb::CheckListingRequest {
        shop_id: shop.shop_id.clone(),
        product_id: tea.product_id.clone(),
        at: Some(to_timestamp(at)),
    };
    let then = app
        .client()
        .check_listing(authed(check(listed_at), Role::Service, "attribution"))
        .await
        .expect("check")
        .into_inner();
    assert!(then.listed, "history: it was listed before the withdrawal");
    assert_eq!(then.listing.expect("listing").listing_id, listed.listing_id);
    let now = app
        .client()
        .check_listing(authed(check(app.now()), Role::Service, "attribution"))
        .await
        .expect("check")
        .into_inner();
    assert!(!now.listed);
    let err = app.add("p1", &shop.shop_id, &tea.product_id, "again").await.expect_err("withdrawn");
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn listings_keep_the_promoters_order_and_reasons() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let mut ids = Vec::new();
    for title in ["A", "B", "C", "D"] {
        let p = app.publish("s1", title, 1000).await;
        ids.push(app.add("p1", &shop.shop_id, &p.product_id, &format!("why {title}")).await.expect("add").listing_id);
    }
    let titles = |page: pb::GetShopPageResponse| page.listings.iter().map(|l| l.title.clone()).collect::<Vec<_>>();
    assert_eq!(titles(app.page(&shop.shop_id).await), ["A", "B", "C", "D"]);

    let reorder =
        pb::ReorderListingsRequest { shop_id: shop.shop_id.clone(), listing_ids: vec![ids[3].clone(), ids[1].clone()] };
    app.client().reorder_listings(authed(reorder, Role::Promoter, "p1")).await.expect("reorder");
    assert_eq!(titles(app.page(&shop.shop_id).await), ["D", "B", "A", "C"]);

    let edit = pb::UpdateListingRequest { listing_id: ids[0].clone(), recommendation_reason: "新理由".into() };
    app.client().update_listing(authed(edit, Role::Promoter, "p1")).await.expect("edit");
    let page = app.page(&shop.shop_id).await;
    assert_eq!(page.listings[2].recommendation_reason, "新理由");

    let e = app.publish("s1", "E", 1000).await;
    let first = pb::AddListingRequest {
        shop_id: shop.shop_id.clone(),
        product_id: e.product_id.clone(),
        recommendation_reason: String::new(),
        position: 1,
    };
    app.client().add_listing(authed(first, Role::Promoter, "p1")).await.expect("insert first");
    assert_eq!(titles(app.page(&shop.shop_id).await), ["E", "D", "B", "A", "C"]);

    let too_long = pb::UpdateListingRequest { listing_id: ids[0].clone(), recommendation_reason: "好".repeat(201) };
    let err = app.client().update_listing(authed(too_long, Role::Promoter, "p1")).await.expect_err("too long");
    assert_eq!(status_details(&err).1[0].field, "recommendation_reason");
    let bad =
        pb::ReorderListingsRequest { shop_id: shop.shop_id.clone(), listing_ids: vec![ids[0].clone(), ids[0].clone()] };
    let err = app.client().reorder_listings(authed(bad, Role::Promoter, "p1")).await.expect_err("duplicate");
    assert_eq!(status_details(&err).1[0].field, "listing_ids[1]");
    let err = app.add("p1", &shop.shop_id, &e.product_id, "").await.expect_err("twice");
    assert_eq!(err.code(), Code::AlreadyExists);

    // The public page never shows commission; the promoter's own view does.
    let own = pb::ListShopListingsRequest { shop_id: shop.shop_id.clone(), ..Default::default() };
    let own = app.client().list_shop_listings(authed(own, Role::Promoter, "p1")).await.expect("own").into_inner();
    assert_eq!(own.listings.len(), 5);
    assert!(own.listings.iter().all(|l| l.commission_per_unit.is_some()));
}

#[tokio::test]
async fn a_suppliers_edit_shows_at_once_on_every_page_listing_it() {
    let app = spawn().await;
    let tea = app.publish("s1", "Tea", 1000).await;
    let mut shops = Vec::new();
    for promoter in ["p1", "p2"] {
        let shop = app.shop(promoter).await;
        app.add(promoter, &shop.shop_id, &tea.product_id, "").await.expect("listed");
        assert_eq!(app.page(&shop.shop_id).await.listings[0].title, "Tea", "page read (and cached)");
        shops.push(shop.shop_id);
    }
    let update = pb::UpdateProductRequest {
        product_id: tea.product_id.clone(),
        product: Some(pb::Product { title: "Tea, new harvest".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
    };
    app.client().update_product(authed(update, Role::Supplier, "s1")).await.expect("update");
    for shop in &shops {
        assert_eq!(app.page(shop).await.listings[0].title, "Tea, new harvest");
    }
}

#[tokio::test]
async fn one_product_added_ten_times_at_once_is_listed_once_and_counted_once() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let product = app.publish("s1", "Longjing tea", 19900).await;
    // All ten pass the unlocked "already listed?" check together; the slot claim and
    // the active-listing index let exactly one in.
    let adds = (0..10).map(|_| {
        let client = app.client();
        let request = pb::AddListingRequest {
            shop_id: shop.shop_id.clone(),
            product_id: product.product_id.clone(),
            recommendation_reason: String::new(),
            position: 0,
        };
        async move { client.clone().add_listing(authed(request, Role::Promoter, "p1")).await }
    });
    let results = futures::future::join_all(adds).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for status in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
        assert_eq!(status_details(status).0.as_deref(), Some("ALREADY_LISTED"));
    }
    let mine = app.client().get_my_shop(authed(pb::GetMyShopRequest {}, Role::Promoter, "p1")).await.expect("shop");
    assert_eq!(mine.into_inner().shop.expect("shop").listing_count, 1, "the refused adds counted nothing");
}

#[tokio::test]
async fn adds_arriving_together_are_each_answered_on_their_own_and_positions_stay_a_sequence() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    for title in ["first", "second", "third"] {
        let product = app.publish("s1", title, 1000).await;
        app.add("p1", &shop.shop_id, &product.product_id, "").await.expect("listed");
    }
    let mut products = Vec::new();
    for n in 0..18 {
        products.push(app.publish("s1", &format!("product {n}"), 1000).await.product_id);
    }
    // 12 appends, 6 inserts at the top, one product twice, another promoter's three
    // attempts and three unknown products, all at once: they share transactions.
    let mut requests: Vec<(&str, String, i32)> = Vec::new();
    requests.extend(products[..12].iter().map(|p| ("p1", p.clone(), 0)));
    requests.extend(products[12..].iter().map(|p| ("p1", p.clone(), 1)));
    requests.push(("p1", products[0].clone(), 0));
    requests.extend(products[..3].iter().map(|p| ("p2", p.clone(), 0)));
    requests.extend((0..3).map(|_| ("p1", uuid::Uuid::now_v7().to_string(), 0)));
    let adds = requests.into_iter().map(|(promoter, product_id, position)| {
        let client = app.client();
        let request = pb::AddListingRequest {
            shop_id: shop.shop_id.clone(),
            product_id,
            recommendation_reason: String::new(),
            position,
        };
        async move { client.clone().add_listing(authed(request, Role::Promoter, promoter)).await }
    });
    let results = futures::future::join_all(adds).await;
    let codes = |code: Code| results.iter().filter(|r| r.as_ref().err().is_some_and(|s| s.code() == code)).count();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 18, "{results:?}");
    assert_eq!(codes(Code::AlreadyExists), 1, "the product sent twice is listed once");
    assert_eq!(codes(Code::PermissionDenied), 3, "another promoter's adds are refused");
    assert_eq!(codes(Code::NotFound), 3, "unknown products are refused");

    let pool = app.pool().await;
    let positions: Vec<(i32,)> = sqlx::query_as(
        "SELECT position FROM listing WHERE shop_id = $1::uuid AND removed_at IS NULL ORDER BY position",
    )
    .bind(&shop.shop_id)
    .fetch_all(&pool)
    .await
    .expect("positions");
    assert_eq!(positions, (1..=21).map(|p| (p,)).collect::<Vec<_>>(), "one listing per place, no gaps");
    let top: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT product_id FROM listing WHERE shop_id = $1::uuid AND removed_at IS NULL AND position <= 6",
    )
    .bind(&shop.shop_id)
    .fetch_all(&pool)
    .await
    .expect("top");
    let top: std::collections::HashSet<String> = top.into_iter().map(|(p,)| p.to_string()).collect();
    let inserted: std::collections::HashSet<String> = products[12..].iter().cloned().collect();
    assert_eq!(top, inserted, "the six inserted at the top hold the top six places");
    let mine = app.client().get_my_shop(authed(pb::GetMyShopRequest {}, Role::Promoter, "p1")).await.expect("shop");
    assert_eq!(mine.into_inner().shop.expect("shop").listing_count, 21, "counted once each");
}
