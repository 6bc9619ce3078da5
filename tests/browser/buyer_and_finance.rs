use std::time::Duration;

use chrono::{TimeDelta, Utc};
use xiaopu_api::attribution::attribution_service_client::AttributionServiceClient;
use xiaopu_common::{
    auth::Role,
    config::FeedTransportKind,
    testing::{eventually, token},
};
use xiaopu_e2e::{
    system::System,
    world::{ingest_until_applied, onboard, publish},
};
use xiaopu_testkit::events::{confirmed, line, paid};

use crate::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_opens_a_share_link_and_finance_pays_the_promoter_in_the_browser() {
    xiaopu_common::testing::init_logs();
    let mut system = System::start(FeedTransportKind::Outbox, None).await;
    let web = system.add_web().await;
    let tea = publish(&system, "west-lake", "西湖龙井 250g", 19_900, 550).await;
    let pot = publish(&system, "west-lake", "紫砂壶", 38_800, 1_000).await;
    let (_, code) = onboard(&system, "alice", &[tea.clone(), pot.clone()]).await;
    system.caught_up("storefront", "attribution").await;

    // A buyer on a phone opens Alice's link: her shop, her reasons, no commission.
    let browser = Browser::phone().await;
    browser.client.goto(&format!("{web}/s/{code}")).await.expect("open the link");
    assert_eq!(browser.text("h1").await, "alice 的小店");
    let titles = browser.texts(".item h2").await;
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.iter().all(|t| t == "西湖龙井 250g" || t == "紫砂壶"), "{titles:?}");
    assert!(browser.texts(".reason").await.iter().all(|r| r.contains("好物")));
    assert_eq!(browser.texts(".price").await.len(), 2);
    let page = browser.client.source().await.expect("source");
    assert!(!page.contains("佣金") && !page.contains("550"), "the shop page shows commission");
    let shot = browser.screenshot("shop-page-phone").await;
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "an empty screenshot");
    let attribution = system.pool("attribution").await;
    let (clicks,): (i64,) = sqlx::query_as("SELECT count(*) FROM click WHERE share_code = $1")
        .bind(&code)
        .fetch_one(&attribution)
        .await
        .expect("clicks");
    assert_eq!(clicks, 1, "the click was recorded for attribution");

    // An unknown code: a page that says so.
    browser.client.goto(&format!("{web}/s/no-such-code")).await.expect("open");
    assert_eq!(browser.text("h1").await, "链接不存在或已失效");

    // The buyer pays and confirms; the zero hold passes.
    let mut orders = AttributionServiceClient::new(system.client("attribution", Role::Service, "order-system"));
    let now = Utc::now();
    ingest_until_applied(
        &mut orders,
        &[
            paid(
                "o1",
                "buyer-1",
                now,
                &code,
                vec![line("l1", &tea, "west-lake", 19_900), line("l2", &pot, "west-lake", 38_800)],
            ),
            confirmed("o1", now),
        ],
    )
    .await;
    system.caught_up("attribution", "settlement").await;
    let settlement = system.pool("settlement").await;
    eventually("both lines are settleable", Duration::from_secs(10), || async {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM position WHERE stage = 'settleable'")
            .fetch_one(&settlement)
            .await
            .expect("positions");
        (n == 2).then_some(())
    })
    .await;

    // Finance works on a desktop. Fiona signs in and closes the period.
    browser.quit().await;
    let browser = Browser::desktop().await;
    browser.client.goto(&format!("{web}/console")).await.expect("console");
    browser.fill("#name", "fiona").await;
    browser.submit("form[action='/console/dev-sign-in'] button").await;
    browser.until_text("nav .me", "fiona").await;
    // A period closes once it has ended: from two days ago to this second, in the
    // finance team's time (UTC+8), a second after the lines became settleable.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let local = |t: chrono::DateTime<Utc>| (t + TimeDelta::hours(8)).format("%Y-%m-%dT%H:%M:%S").to_string();
    let (from, to) = (local(now - TimeDelta::days(2)), local(Utc::now()));
    browser.set("input[name=from]", &from).await;
    browser.set("input[name=to]", &to).await;
    browser.submit("form[action='/console/periods/close'] button").await;
    browser.until_text(".flash.done", "批次已生成").await;
    let batch_url =
        browser.client.current_url().await.expect("url").as_str().split('?').next().unwrap_or("").to_owned();
    assert!(browser.text("table").await.contains("alice"));

    // She may not approve her own batch, so she is not offered to; nor may anyone
    // record payments on a draft.
    assert!(browser.texts("form[action$='/approve'] button").await.is_empty(), "approve offered to its creator");
    assert!(browser.text("main").await.contains("须由另一位财务审批"));
    assert!(browser.texts("input[value=paid]").await.is_empty(), "payment forms on a draft");
    assert!(browser.text("h1").await.contains("待审批"));

    // Gao, a second finance user, approves, downloads the CSV and records the payment.
    browser.submit("nav form button").await;
    browser.fill("#name", "gao").await;
    browser.submit("form[action='/console/dev-sign-in'] button").await;
    browser.until_text("nav .me", "gao").await;
    browser.client.goto(&batch_url).await.expect("batch");
    browser.submit("form[action$='/approve'] button").await;
    browser.until_text(".flash.done", "批次已审批").await;
    assert!(browser.texts("input[value=paid]").await.is_empty(), "payment forms before the file is exported");
    let csv = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector('a[download]').href).then(r => r.text()).then(done);",
            vec![],
        )
        .await
        .expect("download the CSV");
    let csv = csv.as_str().unwrap_or_default().to_owned();
    // (fetch decodes the BOM away; settlement's own tests read it.)
    assert!(csv.starts_with("批次号,"), "Chinese headers: {csv}");
    let rows: Vec<&str> = csv.lines().filter(|r| r.contains(",alice,")).collect();
    assert!(rows.iter().any(|r| r.contains("6222020200112233445")), "the approver's file pays in full: {csv}");
    browser.client.goto(&batch_url).await.expect("the exported batch");
    // 10.94 + 38.80 commission less the 10% fee (1.09 + 3.88): Alice is paid 44.77.
    let shown = browser.text("table").await;
    assert!(shown.contains("¥44.77"), "{shown}");
    assert!(!rows.is_empty() && rows.iter().any(|r| r.contains("44.77")), "{csv}");
    browser.fill("input[name=note][placeholder='付款流水号']", "ICBC-0001").await;
    browser.submit("input[value=paid] ~ button").await;
    browser.until_text(".flash.done", "已记为已付").await;
    assert!(browser.text("table").await.contains("ICBC-0001"));
    browser.screenshot("console-batch").await;

    // The periods, the paid batch found by a filter, and Alice's page.
    browser.client.goto(&format!("{web}/console/periods")).await.expect("periods");
    browser.until_text("#periods", "已付款").await;
    browser.screenshot("console-periods").await;
    browser.client.goto(&format!("{web}/console?status=draft")).await.expect("drafts");
    browser.until_text("#batches", "还没有批次").await;
    browser.set("select[name=status]", "paid").await;
    browser.submit("#filters button").await;
    browser.until_text("#batches", "¥44.77").await;
    browser.client.goto(&format!("{web}/console/promoters/alice")).await.expect("alice");
    browser.until_text("#balances", "¥44.77").await;
    assert!(browser.text("#payee").await.contains("李** · 银行卡 ****3445"), "{}", browser.text("#payee").await);
    assert!(browser.text("#lines").await.contains("l2"));
    browser.screenshot("console-promoter").await;
    browser.client.goto(&format!("{web}/console/lines/l2")).await.expect("line");
    browser.until_text("#journals", "supplier_charges").await;

    // The reconciliation statement of the period is clean.
    browser.client.goto(&format!("{web}/console/reconcile?from={from}&to={to}")).await.expect("reconcile");
    browser.until_text("main", "账实相符").await;
    browser.screenshot("console-reconciliation").await;

    // A promoter's token does not open the console.
    browser.submit("nav form button").await;
    browser.fill("#token", &token(Role::Promoter, "alice")).await;
    browser.submit("form[action='/console/sign-in'] button").await;
    browser.until_text(".flash.error", "只对财务角色开放").await;
    browser.quit().await;
}
