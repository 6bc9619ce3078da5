use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tonic::Code;
use xiaopu_api::{
    attribution::{self as at, attribution_service_client::AttributionServiceClient},
    eligibility::{RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient},
    settlement::{self as st, settlement_service_client::SettlementServiceClient},
    storefront::{self as sf, storefront_service_client::StorefrontServiceClient},
};
use xiaopu_common::{
    auth::Role, config::FeedTransportKind, error::status_details, testing::eventually, time::to_timestamp,
    transport_matrix,
};
use xiaopu_testkit::events::{confirmed, line, paid, refund};

use xiaopu_e2e::{
    otlp::Receiver,
    system::System,
    world::{ingest_until_applied, minor, payee, publish},
};

transport_matrix!(
    #[tokio::test]
    suppliers_promoters_buyers_and_finance_end_to_end_with_one_trace
);
async fn suppliers_promoters_buyers_and_finance_end_to_end_with_one_trace(transport: FeedTransportKind) {
    xiaopu_common::testing::init_logs();
    let (otlp, otlp_addr) = Receiver::start().await;
    let mut system = System::start(transport, Some(otlp_addr)).await;

    // A supplier publishes products and sets rates.
    let mut products = Vec::new();
    for (title, price, bps) in [("Longjing tea", 19900, 550), ("Yixing teapot", 38800, 1000)] {
        products.push(publish(&system, "west-lake", title, price, bps).await);
    }

    // The bureau scores two people; 720 opens a shop, 690 is refused with the reason.
    let mut bureau = EligibilityServiceClient::new(system.client("eligibility", Role::Service, "credit-bureau"));
    for (person, score) in [("alice", 720), ("bob", 690)] {
        let request = RecordCreditScoreRequest {
            request_id: format!("score-{person}"),
            person_id: person.into(),
            score,
            source: "zhima".into(),
            observed_at: None,
        };
        bureau.record_credit_score(request).await.expect("score");
    }
    // Alice says where her payouts go (sealed at rest; the approver's file pays it).
    payee(&system, "settlement", "alice").await;
    let mut alice = StorefrontServiceClient::new(system.client("storefront", Role::Promoter, "alice"));
    let shop = alice
        .open_shop(sf::OpenShopRequest { name: "Alice 的茶铺".into(), description: "好茶".into() })
        .await
        .expect("alice opens")
        .into_inner()
        .shop
        .expect("shop");
    let mut bob = StorefrontServiceClient::new(system.client("storefront", Role::Promoter, "bob"));
    let refused =
        bob.open_shop(sf::OpenShopRequest { name: "Bob's".into(), description: String::new() }).await.expect_err("bob");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(status_details(&refused).0.as_deref(), Some("NOT_ELIGIBLE"));
    assert!(refused.message().contains("690"), "{}", refused.message());
    for (product, reason) in products.iter().zip(["明前茶", "泡绿茶不闷香"]) {
        let add = sf::AddListingRequest {
            shop_id: shop.shop_id.clone(),
            product_id: product.clone(),
            recommendation_reason: reason.into(),
            position: 0,
        };
        alice.add_listing(add).await.expect("listed");
    }
    let link = sf::CreateShareLinkRequest {
        request_id: "alice-wechat".into(),
        shop_id: shop.shop_id.clone(),
        listing_id: String::new(),
        channel: sf::Channel::Wechat.into(),
    };
    let code = alice.create_share_link(link).await.expect("link").into_inner().share_link.expect("link").code;

    // A buyer clicks and pays; the order is confirmed. Attribution knows the link by
    // then (a line whose code it learns later is decided again, asynchronously, and
    // the explanation below would race that).
    system.caught_up("storefront", "attribution").await;
    let mut orders = AttributionServiceClient::new(system.client("attribution", Role::Service, "order-system"));
    let now = Utc::now();
    let click = at::Click {
        event_id: "click-1".into(),
        share_code: code.clone(),
        visitor_id: "buyer-1".into(),
        clicked_at: Some(to_timestamp(now)),
    };
    orders.record_click(at::RecordClickRequest { click: Some(click) }).await.expect("click");
    ingest_until_applied(
        &mut orders,
        &[
            paid(
                "order-1",
                "buyer-1",
                now,
                "",
                vec![
                    line("line-1", &products[0], "west-lake", 19900),
                    line("line-2", &products[1], "west-lake", 38800),
                ],
            ),
            confirmed("order-1", now),
        ],
    )
    .await;
    let mut alice_orders = AttributionServiceClient::new(system.client("attribution", Role::Promoter, "alice"));
    let explained = alice_orders
        .explain_line(at::ExplainLineRequest { line_id: "line-1".into() })
        .await
        .expect("explain")
        .into_inner();
    assert_eq!(explained.explanation.expect("why").reason(), at::AttributionReason::LastClick);
    let first = explained.line.expect("line");
    assert_eq!(minor(&first.commission), 1094);
    // Clicked and paid in the same second: the fast-click risk rule holds the lines
    // until finance looks; fiona releases both, with a note.
    assert_eq!((first.risk_state(), first.risk_rule.as_str()), (at::RiskState::Held, "fast_click"));
    let mut review = AttributionServiceClient::new(system.client("attribution", Role::Finance, "fiona"));
    assert_eq!(release_held(&mut review).await, 2);

    // The hold (zero here) passes; finance closes, a second user approves, exports, pays.
    system.caught_up("attribution", "settlement").await;
    let mut fiona = SettlementServiceClient::new(system.client("settlement", Role::Finance, "fiona"));
    let mut gao = SettlementServiceClient::new(system.client("settlement", Role::Finance, "gao"));
    let alice_money = SettlementServiceClient::new(system.client("settlement", Role::Promoter, "alice"));
    let earnings = || async {
        alice_money
            .clone()
            .get_promoter_earnings(st::GetPromoterEarningsRequest { promoter_id: "alice".into() })
            .await
            .expect("earnings")
            .into_inner()
    };
    // 1094 (fee 109) and 3880 (fee 388): shares 985 + 3492.
    eventually("alice's lines are settleable", Duration::from_secs(10), || async {
        (minor(&earnings().await.settleable) == 985 + 3492).then_some(())
    })
    .await;
    // A period must have ended to close: it ends now, after the lines became settleable.
    let (from, to) = (now - TimeDelta::days(1), Utc::now());
    let close = |from, to, id: &str| st::ClosePeriodRequest {
        request_id: id.into(),
        from: Some(to_timestamp(from)),
        to: Some(to_timestamp(to)),
    };
    let batch = fiona.close_period(close(from, to, "close-1")).await.expect("close").into_inner().batch.expect("batch");
    let approve = st::ApproveBatchRequest { batch_id: batch.batch_id.clone() };
    let own = fiona.approve_batch(approve.clone()).await.expect_err("four eyes");
    assert_eq!(own.code(), Code::FailedPrecondition);
    gao.approve_batch(approve).await.expect("second finance user approves");
    let export = |file: st::BatchFile| {
        let (mut gao, batch_id) = (gao.clone(), batch.batch_id.clone());
        async move {
            let request = st::ExportBatchRequest { batch_id, file: file.into(), ..Default::default() };
            let mut stream = gao.export_batch(request).await.expect("export").into_inner();
            let mut csv = Vec::new();
            while let Some(chunk) = stream.message().await.expect("chunk") {
                csv.extend(chunk.data);
            }
            String::from_utf8(csv).expect("utf-8")
        }
    };
    let (csv, detail) = (export(st::BatchFile::Payouts).await, export(st::BatchFile::Detail).await);
    let lines = gao
        .list_batch_lines(st::ListBatchLinesRequest { batch_id: batch.batch_id.clone(), ..Default::default() })
        .await
        .expect("lines")
        .into_inner()
        .lines;
    assert_eq!(lines.len(), 1);
    assert_eq!(minor(&lines[0].amount), 4477);
    assert!(
        csv.lines().any(|r| r.contains(&lines[0].batch_line_id)
            && r.contains(",alice,李小红,银行卡,6222020200112233445,中国工商银行,44.77,CNY,")),
        "the approver's payout file pays alice in full: {csv}"
    );
    assert_eq!(detail.lines().filter(|r| r.contains(",line-")).count(), 2, "order-line detail");
    let pay = st::RecordPayoutRequest {
        batch_line_id: lines[0].batch_line_id.clone(),
        outcome: st::PayoutOutcome::Paid.into(),
        reference: "ICBC-0001".into(),
    };
    gao.record_payout(pay).await.expect("paid");
    let books = gao
        .reconcile(st::ReconcileRequest { from: Some(to_timestamp(from)), to: Some(to_timestamp(to)) })
        .await
        .expect("reconcile")
        .into_inner();
    assert!(books.clean, "{:?}", books.discrepancies);
    assert_eq!(books.lines_checked, 2);

    // A refund after payout becomes a clawback netted in the next period.
    ingest_until_applied(&mut orders, &[refund("refund-1", "order-1", "line-2", 19400, Utc::now())]).await;
    let later = Utc::now();
    ingest_until_applied(
        &mut orders,
        &[
            paid("order-2", "buyer-1", later, &code, vec![line("line-3", &products[1], "west-lake", 38800)]),
            confirmed("order-2", later),
        ],
    )
    .await;
    // The same buyer's first click is seconds old still: held again, released again.
    assert_eq!(release_held(&mut review).await, 1);
    system.caught_up("attribution", "settlement").await;
    eventually("alice's lines are settleable", Duration::from_secs(10), || async {
        (minor(&earnings().await.settleable) > 0).then_some(())
    })
    .await;
    // line-2 keeps 19400 at 1000 bps: 1940, fee 194, share 1746; the clawback is 3492 − 1746.
    assert_eq!(minor(&earnings().await.clawbacks_owed), 3492 - 1746);
    let next =
        fiona.close_period(close(to, Utc::now(), "close-2")).await.expect("close").into_inner().batch.expect("batch");
    let next_lines = fiona
        .list_batch_lines(st::ListBatchLinesRequest { batch_id: next.batch_id, ..Default::default() })
        .await
        .expect("lines")
        .into_inner()
        .lines;
    assert_eq!((minor(&next_lines[0].clawback_netted), minor(&next_lines[0].amount)), (1746, 3492 - 1746));
    let ledger = gao.verify_ledger(st::VerifyLedgerRequest {}).await.expect("verify").into_inner();
    assert_eq!(minor(&ledger.total), 0);

    // One trace spans the storefront and eligibility for the shop opening.
    let shared = eventually("a trace spans the storefront and eligibility", Duration::from_secs(10), || async {
        let spans = otlp.spans();
        let opening =
            spans.iter().filter(|s| s.service == "storefront" && s.name.ends_with("StorefrontService/OpenShop"));
        opening.clone().find_map(|open| {
            spans
                .iter()
                .find(|s| {
                    s.service == "eligibility"
                        && s.name.ends_with("EligibilityService/CheckEligibility")
                        && s.trace_id == open.trace_id
                })
                .map(|_| open.trace_id.clone())
        })
    })
    .await;
    assert!(shared.iter().any(|b| *b != 0), "no trace shared by storefront and eligibility: {:?}", otlp.spans());

    // SIGTERM: every service drains and exits cleanly.
    // Callers first: settlement, attribution, storefront, eligibility.
    for name in ["settlement", "attribution", "storefront", "eligibility"] {
        let process = system.process(name);
        assert!(process.terminate(Duration::from_secs(20)).await, "{name} did not exit cleanly on SIGTERM");
    }
}

/// Finance releases every line a risk rule holds, with a note; how many.
async fn release_held(review: &mut AttributionServiceClient<xiaopu_common::grpc_client::Upstream>) -> usize {
    let held = review.list_risk_holds(at::ListRiskHoldsRequest::default()).await.expect("holds").into_inner();
    for hold in &held.holds {
        let line_id = hold.line.as_ref().expect("line").line_id.clone();
        let note = "the buyer is a known customer".to_owned();
        review.release_risk_hold(at::ReleaseRiskHoldRequest { line_id, note }).await.expect("released");
    }
    held.holds.len()
}
