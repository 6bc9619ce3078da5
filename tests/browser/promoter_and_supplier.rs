//! A promoter's whole job in the app on a phone, a supplier's rates in the portal,
//! and a walk through every page in zh-CN that fails on any code shown raw.
use chrono::{TimeDelta, Utc};
use fantoccini::Locator;
use xiaopu_api::{
    attribution::attribution_service_client::AttributionServiceClient,
    eligibility::{RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient},
    reasons::{CATALOGUE, Language, describe},
    storefront::{self as sf, storefront_service_client::StorefrontServiceClient},
};
use xiaopu_common::{auth::Role, config::FeedTransportKind, time::to_timestamp};
use xiaopu_e2e::{
    system::System,
    world::{ingest_until_applied, payee, publish},
};
use xiaopu_testkit::events::paid;

use crate::browser::Browser;

/// The text of a QR code in a PNG screenshot.
fn read_qr(png_bytes: &[u8]) -> String {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a PNG of a sane size")];
    let frame = reader.next_frame(&mut pixels).expect("its pixels");
    let channels = frame.color_type.samples();
    let (width, height) = (frame.width as usize, frame.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        let at = (y * width + x) * channels;
        let rgb = &pixels[at..at + channels.min(3)];
        (rgb.iter().map(|&c| u32::from(c)).sum::<u32>() / rgb.len() as u32) as u8
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().expect("a readable QR code").1
}

/// Fails on any code a person would see raw: an enum value's name, or a refusal's
/// reason code shown without its words.
fn assert_all_in_words(language: Language, page: &str, text: &str) {
    for token in text.split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')) {
        if token.len() < 4 || !token.contains('_') || !token.starts_with(|c: char| c.is_ascii_uppercase()) {
            continue;
        }
        if CATALOGUE.iter().any(|(code, ..)| *code == token) {
            let words = describe(token, language).unwrap_or_default();
            assert!(text.contains(words), "{page}: reason code {token} shown without its words");
        } else {
            panic!("{page}: `{token}` is shown untranslated:\n{text}");
        }
    }
}

/// Every page of the promoter app (the order line is the one the test pays).
const APP_PAGES: &[&str] = &[
    "/app",
    "/app/supply",
    "/app/listings",
    "/app/links",
    "/app/orders",
    "/app/orders/l1",
    "/app/earnings",
    "/app/stats",
];

async fn walk(browser: &Browser, language: Language, base: &str, paths: &[&str]) {
    for path in paths {
        browser.client.goto(&format!("{base}{path}")).await.expect("open");
        let text = browser.text("body").await;
        assert!(!text.trim().is_empty(), "{path} is empty");
        assert_all_in_words(language, path, &text);
        if language == Language::English {
            // Chinese left in an English page is page text without English (product
            // titles and shop names are the users' own words).
            let users_words = [
                "西湖龙井",
                "紫砂壶",
                "白瓷杯",
                "小美的茶铺",
                "明前龙井",
                "宜兴原矿",
                "配茶正好",
                "赣南脐橙 5斤",
                "水果",
                "中文",
                // Mei's payee, masked, and her bank.
                "李*",
                "中国工商银行",
            ];
            let mut rest = text.clone();
            for words in users_words {
                rest = rest.replace(words, "");
            }
            let chinese: String = rest.chars().filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c)).collect();
            assert!(chinese.is_empty(), "{path} in English still shows {chinese:?}:\n{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoter_runs_a_shop_from_the_app_and_a_supplier_cancels_a_scheduled_rate() {
    xiaopu_common::testing::init_logs();
    let mut system = System::start(FeedTransportKind::Outbox, None).await;
    let web = system.add_web().await;
    let tea = publish(&system, "west-lake", "西湖龙井 250g", 19_900, 550).await;
    let pot = publish(&system, "west-lake", "紫砂壶", 38_800, 1_000).await;
    let cup = publish(&system, "west-lake", "白瓷杯", 5_900, 800).await;
    // The credit bureau's score and the promoter's payee details are facts the app
    // does not enter.
    let mut bureau = EligibilityServiceClient::new(system.client("eligibility", Role::Service, "credit-bureau"));
    let score = RecordCreditScoreRequest {
        request_id: "score-mei".into(),
        person_id: "mei".into(),
        score: 720,
        source: "zhima".into(),
        observed_at: None,
    };
    bureau.record_credit_score(score).await.expect("score");
    payee(&system, "settlement", "mei").await;

    // Mei signs in on her phone: eligible, with what to do next.
    let phone = Browser::phone().await;
    phone.client.goto(&format!("{web}/app")).await.expect("the app");
    phone.fill("#name", "mei").await;
    phone.submit("#dev-sign-in").await;
    phone.until_text("#status .status", "已通过").await;
    assert!(phone.text("#status .next").await.contains("开店"));
    phone.fill("#shop-name", "小美的茶铺").await;
    phone.submit("#open-shop button").await;
    phone.until_text(".flash.done", "小店已开张").await;
    assert!(phone.text("#shop").await.contains("0 / 1000"));

    // She browses the supply: commission per unit after the 10% fee (19900 at 5.5%:
    // 10.94, less 1.09), and lists three products with her reasons.
    phone.client.goto(&format!("{web}/app/supply")).await.expect("supply");
    let supply = phone.text("main").await;
    assert!(supply.contains("¥9.85") && supply.contains("10.00% 技术服务费"), "{supply}");
    phone.screenshot("app-supply-phone").await;
    for (product, reason) in [(&tea, "明前龙井，回甘好"), (&pot, "宜兴原矿"), (&cup, "配茶正好")] {
        let form = format!("form.add:has(input[value='{product}'])");
        phone.fill(&format!("{form} input[name=reason]"), reason).await;
        phone.submit(&format!("{form} button")).await;
        phone.until_text(".flash.done", "已加入小店").await;
    }
    phone.client.goto(&format!("{web}/app/listings")).await.expect("listings");
    assert_eq!(phone.text(".count").await, "3");
    let reasons: Vec<String> = {
        let mut out = Vec::new();
        for field in phone.client.find_all(Locator::Css(".listing input[name=reason]")).await.expect("reasons") {
            out.push(field.prop("value").await.expect("value").unwrap_or_default());
        }
        out
    };
    assert_eq!(reasons, ["明前龙井，回甘好", "宜兴原矿", "配茶正好"]);
    phone.submit(".listing:nth-of-type(3) form[action$='/up'] button").await;
    phone.until_text(".flash.done", "顺序已调整").await;
    assert!(phone.texts(".listing .title").await[1].contains("白瓷杯"), "moved up one place");

    // A WeChat link to the whole shop: its URL, copy button and QR code.
    phone.client.goto(&format!("{web}/app/links")).await.expect("links");
    phone.submit("#new-link button").await;
    phone.until_text(".flash.done", "链接已生成").await;
    let card = phone.client.find(Locator::Css(".link")).await.expect("the link");
    assert!(card.text().await.expect("text").contains("微信群 · 整个小店"));
    let url = phone
        .client
        .find(Locator::Css(".link input.url"))
        .await
        .expect("url")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    let code = card.attr("data-code").await.expect("code").unwrap_or_default();
    assert!(url.ends_with(&format!("/s/{code}")), "{url}");
    assert_eq!(phone.texts(".link button.copy").await, ["复制链接"]);
    let qr = phone.client.find(Locator::Css(".link img.qr")).await.expect("qr");
    assert_eq!(read_qr(&qr.screenshot().await.expect("the QR code")), url, "the QR code is the share URL");
    phone.screenshot("app-links-phone").await;

    // A buyer opens the link and pays (the order system's event, carrying the code).
    let buyer = Browser::phone().await;
    let path = url.find("/s/").map(|at| &url[at..]).unwrap_or_default();
    buyer.client.goto(&format!("{web}{path}")).await.expect("the shared shop");
    assert_eq!(buyer.text("h1").await, "小美的茶铺");
    buyer.quit().await;
    let mut orders = AttributionServiceClient::new(system.client("attribution", Role::Service, "order-system"));
    let line = xiaopu_testkit::events::line("l1", &tea, "west-lake", 19_900);
    ingest_until_applied(&mut orders, &[paid("o1", "buyer-4711", Utc::now(), &code, vec![line])]).await;
    system.caught_up("attribution", "settlement").await;

    // Mei sees the order with its title and, in Chinese, why it is hers.
    phone.client.goto(&format!("{web}/app/orders")).await.expect("orders");
    phone.until_text(".order .title", "西湖龙井 250g").await;
    assert_eq!(phone.text(".order .why").await, "订单带有您的分享码，佣金归您");
    assert!(phone.text(".order").await.contains("b***1"), "the buyer is masked");
    assert!(phone.text(".order .money").await.contains("到手 ¥9.85"));
    phone.screenshot("app-orders-phone").await;
    phone.submit(".order").await;
    phone.until_text("main", "为什么归您").await;

    // Her earnings moved (estimated, after the fee), and the link's figures count it.
    phone.client.goto(&format!("{web}/app/earnings")).await.expect("earnings");
    phone.until_text("#earnings .estimated", "¥9.85").await;
    phone.client.goto(&format!("{web}/app/stats")).await.expect("stats");
    let by_channel = phone.text("#by-channel").await;
    assert!(by_channel.contains("微信群 1 1 ¥10.94"), "{by_channel}");
    phone.screenshot("app-stats-phone").await;
    walk(&phone, Language::Chinese, &web, APP_PAGES).await;

    // The same app in English, chosen from its header.
    phone.client.goto(&format!("{web}/app/orders")).await.expect("orders");
    phone.submit("header a.lang").await;
    phone.until_text(".order .why", "The order carried your share code").await;
    assert!(phone.text("nav.tabs").await.contains("Orders"));
    assert!(phone.text(".order .money").await.contains("you keep ¥9.85"));
    walk(&phone, Language::English, &web, APP_PAGES).await;
    phone.screenshot("app-orders-phone-english").await;
    // A buyer who chose English sees the shop page in English too.
    phone.client.goto(&format!("{web}{path}")).await.expect("the shared shop");
    assert_eq!(phone.text(".by").await, "mei's shop · 3 picks");
    assert_eq!(phone.texts("a.buy").await, ["Buy", "Buy", "Buy"]);
    phone.quit().await;

    // The supplier schedules a rate for the day after tomorrow, then cancels it.
    let desk = Browser::desktop().await;
    desk.client.goto(&format!("{web}/supplier")).await.expect("portal");
    desk.fill("#name", "west-lake").await;
    desk.submit("#dev-sign-in").await;
    let products = desk.until_text("#products", "西湖龙井 250g").await;
    assert!(products.contains("5.50%"), "{products}");
    desk.client.goto(&format!("{web}/supplier/products/{tea}")).await.expect("tea");
    let later = (Utc::now() + TimeDelta::days(2) + TimeDelta::hours(8)).format("%Y-%m-%dT%H:%M").to_string();
    desk.fill("#set-rate input[name=rate]", "8").await;
    desk.set("#set-rate input[name=effective_from]", &later).await;
    desk.submit("#set-rate button").await;
    desk.until_text(".flash.done", "佣金率已设置").await;
    assert_eq!(desk.texts("#rates .state").await, ["待生效", "生效中"]);
    desk.screenshot("supplier-rate-scheduled").await;
    desk.submit("#rates button.cancel").await;
    desk.until_text(".flash.done", "待生效的佣金率已取消").await;
    assert_eq!(desk.texts("#rates .state").await, ["已取消", "生效中"]);
    assert!(desk.texts("#rates button.cancel").await.is_empty());
    desk.screenshot("supplier-rate-cancelled").await;
    let mut storefront = StorefrontServiceClient::new(system.client("storefront", Role::Service, "check"));
    let at = Utc::now() + TimeDelta::days(3);
    let rate = sf::GetCommissionRateRequest { product_id: tea.clone(), at: Some(to_timestamp(at)) };
    let rate = storefront.get_commission_rate(rate).await.expect("rate").into_inner().rate.expect("rate");
    assert_eq!(rate.rate_bps, 550, "the cancelled rate never applies");

    // A product in a Chinese category, and the charges with their order lines.
    desk.client.goto(&format!("{web}/supplier")).await.expect("portal");
    desk.fill("#publish input[name=title]", "赣南脐橙 5斤").await;
    desk.fill("#publish input[name=price]", "39.9").await;
    desk.fill("#publish input[name=category]", "水果").await;
    desk.submit("#publish button").await;
    desk.until_text(".flash.done", "商品已发布").await;
    desk.client.goto(&format!("{web}/supplier")).await.expect("portal");
    let products = desk.text("#products").await;
    assert!(products.contains("赣南脐橙 5斤 水果 ¥39.90"), "{products}");
    let today = (Utc::now() + TimeDelta::hours(8)).date_naive();
    let period = format!("from={}&to={}", today - TimeDelta::days(1), today + TimeDelta::days(1));
    desk.client.goto(&format!("{web}/supplier/charges?{period}")).await.expect("charges");
    desk.until_text("#lines", "西湖龙井 250g").await;
    let (product, charges) = (format!("/supplier/products/{tea}"), format!("/supplier/charges?{period}"));
    let portal_pages = ["/supplier", product.as_str(), charges.as_str()];
    walk(&desk, Language::Chinese, &web, &portal_pages).await;
    desk.client.goto(&format!("{web}/lang/en?back=/supplier")).await.expect("English");
    desk.until_text("#products", "Shops listing it").await;
    walk(&desk, Language::English, &web, &portal_pages).await;
    desk.client.goto(&format!("{web}/lang/zh?back=/console")).await.expect("Chinese again");

    // And the finance console, in the same words.
    desk.client.goto(&format!("{web}/console")).await.expect("console");
    desk.fill("#name", "fiona").await;
    desk.submit("#dev-sign-in").await;
    desk.until_text("nav .me", "fiona").await;
    let console_pages = [
        "/console",
        "/console/periods",
        "/console/holds",
        "/console/reconcile",
        "/console/promoters/mei",
        "/console/lines/l1",
    ];
    walk(&desk, Language::Chinese, &web, &console_pages).await;
    desk.client.goto(&format!("{web}/lang/en?back=/console")).await.expect("English");
    desk.until_text("nav", "Payout batches").await;
    walk(&desk, Language::English, &web, &console_pages).await;
    desk.quit().await;
}
