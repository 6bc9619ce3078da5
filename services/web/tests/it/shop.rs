use std::time::Duration;

use hyper::StatusCode;
use xiaopu_api::{
    eligibility::{RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient},
    storefront as sf,
    types::Money,
};
use xiaopu_common::{
    auth::Role,
    testing::{authed, eventually},
};
use xiaopu_testkit::Options;

use crate::harness::Web;

async fn clicks(web: &Web, code: &str) -> Vec<String> {
    let pool = web.stack.attribution_db.connect().await;
    sqlx::query_as::<_, (String,)>("SELECT visitor_id FROM click WHERE share_code = $1 ORDER BY clicked_at")
        .bind(code)
        .fetch_all(&pool)
        .await
        .expect("clicks")
        .into_iter()
        .map(|(v,)| v)
        .collect()
}

#[tokio::test]
async fn a_share_link_opens_the_shop_records_the_click_and_shows_no_commission() {
    let web = Web::start(Options::default()).await;
    let world = web.stack.world().await;
    let page = web.get(&format!("/s/{}", world.code), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("p1&#39;s shop"), "the shop's name, escaped: {}", page.body);
    assert!(page.body.contains("Longjing tea") && page.body.contains("¥199.00"), "{}", page.body);
    assert!(
        page.body.contains(&format!("/item/{}?share_code={}", world.product, world.code)),
        "buy link carries the code"
    );
    // 550 bps of 199.00 is 10.94: neither the rate nor the commission appears (as a
    // rate or amount would be shown: a bare "550" can be part of a random id).
    for secret in ["5.5%", "5.50%", "550 bps", ">550<", "10.94", "佣金", "commission"] {
        assert!(!page.body.contains(secret), "the page shows {secret}");
    }
    let visitor =
        page.cookies().into_iter().find_map(|c| c.strip_prefix("xv=").map(str::to_owned)).expect("a visitor cookie");
    assert_eq!(clicks(&web, &world.code).await, vec![visitor.clone()]);

    // The same visitor again: the cookie is kept, the click recorded under it.
    let again = web.get(&format!("/s/{}", world.code), &[format!("xv={visitor}")]).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.cookies().is_empty(), "no new visitor id");
    assert_eq!(clicks(&web, &world.code).await, vec![visitor.clone(), visitor]);
}

#[tokio::test]
async fn an_unknown_or_malformed_code_is_a_404_page() {
    let web = Web::start(Options::default()).await;
    for code in ["nosuchcode", "%E7%A0%81", "'--"] {
        let page = web.get(&format!("/s/{code}"), &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{code}: {}", page.body);
        assert!(page.body.contains("链接不存在或已失效"), "{}", page.body);
    }
}

#[tokio::test]
async fn a_listing_link_shows_its_product_until_the_product_is_withdrawn() {
    let web = Web::start(Options::default()).await;
    let world = web.stack.world().await;
    let listings = sf::ListShopListingsRequest { shop_id: world.shop.clone(), ..Default::default() };
    let listings =
        web.stack.storefront().list_shop_listings(authed(listings, Role::Promoter, "p1")).await.expect("listings");
    let listing = listings.into_inner().listings.remove(0).listing.expect("listing").listing_id;
    let link = sf::CreateShareLinkRequest {
        request_id: "one-product".into(),
        shop_id: world.shop.clone(),
        listing_id: listing,
        channel: sf::Channel::Douyin.into(),
    };
    let link = web.stack.storefront().create_share_link(authed(link, Role::Promoter, "p1")).await.expect("link");
    let code = link.into_inner().share_link.expect("link").code;
    let page = web.get(&format!("/s/{code}"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Longjing tea") && page.body.contains("去购买"), "{}", page.body);

    let withdraw =
        sf::WithdrawProductRequest { product_id: world.product.clone(), reason: "sold out for the season".into() };
    web.stack.storefront().withdraw_product(authed(withdraw, Role::Supplier, "s1")).await.expect("withdrawn");
    let page = web.get(&format!("/s/{code}"), &[]).await;
    assert_eq!(page.status, StatusCode::GONE, "{}", page.body);
    assert!(page.body.contains("商品已下架"), "{}", page.body);
}

#[tokio::test]
async fn a_suspended_promoters_shop_says_it_is_closed() {
    let web = Web::start(Options::default()).await;
    let world = web.stack.world().await;
    let score = RecordCreditScoreRequest {
        request_id: "drop".into(),
        person_id: "p1".into(),
        score: 650,
        source: "zhima".into(),
        observed_at: None,
    };
    EligibilityServiceClient::new(web.stack.channels.eligibility.clone())
        .record_credit_score(authed(score, Role::Service, "bureau"))
        .await
        .expect("score");
    let path = format!("/s/{}", world.code);
    let page = eventually("the suspended shop's page is refused", Duration::from_secs(5), || async {
        let page = web.get(&path, &[]).await;
        (page.status == StatusCode::FORBIDDEN).then_some(page)
    })
    .await;
    assert!(page.body.contains("小店暂停营业"), "{}", page.body);
}

#[tokio::test]
async fn pages_follow_the_promoters_order_and_turning_one_is_not_another_click() {
    let web = Web::start(Options::default()).await;
    let world = web.stack.world().await;
    let mut titles = Vec::new();
    for i in 1..25 {
        let publish = sf::PublishProductRequest {
            request_id: format!("p-{i}"),
            title: format!("好物 {i:02}"),
            price: Some(Money { minor_units: 1000 + i, currency: "CNY".into() }),
            category: "tea".into(),
            image_urls: vec![format!("https://img.example/{i}.jpg")],
            ..Default::default()
        };
        let product =
            web.stack.storefront().publish_product(authed(publish, Role::Supplier, "s1")).await.expect("publish");
        let add = sf::AddListingRequest {
            shop_id: world.shop.clone(),
            product_id: product.into_inner().product.expect("product").product_id,
            recommendation_reason: format!("理由 {i:02}"),
            position: 0,
        };
        web.stack.storefront().add_listing(authed(add, Role::Promoter, "p1")).await.expect("listed");
        titles.push(format!("好物 {i:02}"));
    }
    let first = web.get(&format!("/s/{}", world.code), &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    // 25 listings, 20 a page, in the order they were listed (position order).
    let shown: Vec<usize> = titles.iter().filter_map(|t| first.body.find(t.as_str())).collect();
    assert_eq!(shown.len(), 19, "the first page holds the tea and 19 more");
    assert!(shown.windows(2).all(|w| w[0] < w[1]), "in the promoter's order");
    assert!(first.body.contains("理由 01") && first.body.contains("loading=\"lazy\""));
    let next =
        first.body.split("class=\"more\" href=\"").nth(1).and_then(|s| s.split('"').next()).expect("a next page");
    let visitor = first.cookies().remove(0);
    let second = web.get(&next.replace("&amp;", "&"), &[visitor]).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert!(second.body.contains("好物 24") && !second.body.contains("好物 01"), "{}", second.body);
    assert!(!second.body.contains("class=\"more\""), "the last page");
    assert_eq!(clicks(&web, &world.code).await.len(), 1, "one visit, one click");
}

#[tokio::test]
async fn every_answer_carries_the_browser_defences() {
    let web = Web::start(Options::default()).await;
    let world = web.stack.world().await;
    let paths = ["/s/nosuchcode", "/console", "/app", "/app/sign-in", "/supplier/sign-in", "/healthz"];
    for path in std::iter::once(format!("/s/{}", world.code)).chain(paths.map(String::from)) {
        let page = web.get(&path, &[]).await;
        let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{path}: {csp}");
        // The one script is the app's copy button, from this origin: never inline.
        let scripts: Vec<&str> = csp.split(';').map(str::trim).filter(|d| d.starts_with("script-src")).collect();
        assert_eq!(scripts, ["script-src 'self'"], "{path}: scripts from this origin only: {csp}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "strict-origin-when-cross-origin", "{path}");
        // Served over plain HTTP here (secure cookies off): no HSTS.
        assert_eq!(header("strict-transport-security"), "", "{path}");
    }
}

#[tokio::test]
async fn a_request_whose_headers_stall_is_dropped_when_idle() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let web = Web::start_with(Options::default(), |s| s.common.server.idle_timeout_ms = 500).await;
    let mut client = tokio::net::TcpStream::connect(web.addr).await.expect("connect");
    client.write_all(b"GET /healthz HTTP/1.1\r\nHost: x").await.expect("half the headers");
    let started = std::time::Instant::now();
    let mut buf = [0_u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "not closed: {closed:?}");
    assert!(started.elapsed() >= Duration::from_millis(400), "closed before it was idle: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_share_links_qr_code_encodes_its_full_url_and_records_no_click() {
    let web = Web::start(Options::default()).await;
    let world = web.stack.world().await;
    let listed = web
        .stack
        .storefront()
        .list_share_links(authed(
            sf::ListShareLinksRequest { shop_id: world.shop.clone(), ..Default::default() },
            Role::Promoter,
            "p1",
        ))
        .await
        .expect("links")
        .into_inner();
    let url = listed.share_links[0].url.clone();
    assert_eq!(url, format!("http://127.0.0.1:8080/s/{}", world.code), "the storefront names the full URL");

    let qr = web.get(&format!("/s/{}/qr.svg", world.code), &[]).await;
    assert_eq!(qr.status, StatusCode::OK, "{}", qr.body);
    assert_eq!(qr.headers[hyper::header::CONTENT_TYPE], "image/svg+xml");
    // The same URL drawn by the same crate: the picture encodes exactly the link.
    let expected = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .expect("encodes")
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    assert_eq!(qr.body, expected);
    assert!(clicks(&web, &world.code).await.is_empty(), "a QR code is not a visit");
    let unknown = web.get("/s/nosuchcode/qr.svg", &[]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
