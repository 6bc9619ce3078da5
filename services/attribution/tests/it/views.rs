use tonic::Code;
use xiaopu_api::attribution as pb;
use xiaopu_common::{auth::Role, testing::authed, time::to_timestamp};

use crate::support::{click, days, line, paid, spawn};

#[tokio::test]
async fn promoters_see_their_own_lines_with_buyers_masked() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    app.clock.advance(days(5));
    app.ingest(vec![
        paid("o1", "buyer-4711", s + days(1), &w.code, vec![line("l1", &w.product, "s1", 19900)]),
        click("c2", &w.code, "buyer-2", s + days(1)),
        paid("o2", "buyer-2", s + days(2), "", vec![line("l2", &w.product, "s1", 12345)]),
        paid("o3", "buyer-3", s + days(2), "", vec![line("l3", &w.product, "s1", 12345)]),
    ])
    .await;
    let request = pb::ListPromoterLinesRequest { promoter_id: "p1".into(), page_size: 1, page_token: String::new() };
    let first =
        app.client().list_promoter_lines(authed(request, Role::Promoter, "p1")).await.expect("own").into_inner();
    assert_eq!(first.lines.len(), 1);
    assert_eq!(first.lines[0].line_id, "l2", "newest payment first");
    let request =
        pb::ListPromoterLinesRequest { promoter_id: "p1".into(), page_size: 10, page_token: first.next_page_token };
    let rest = app.client().list_promoter_lines(authed(request, Role::Promoter, "p1")).await.expect("own").into_inner();
    assert_eq!(rest.lines.iter().map(|l| l.line_id.as_str()).collect::<Vec<_>>(), ["l1"]);
    assert_eq!(rest.lines[0].buyer_id, "b***1");

    let other = pb::ListPromoterLinesRequest { promoter_id: "p1".into(), ..Default::default() };
    let err = app.client().list_promoter_lines(authed(other, Role::Promoter, "p2")).await.expect_err("other's");
    assert_eq!(err.code(), Code::PermissionDenied);
    let explain = pb::ExplainLineRequest { line_id: "l1".into() };
    let err = app.client().explain_line(authed(explain.clone(), Role::Promoter, "p2")).await.expect_err("other's");
    assert_eq!(err.code(), Code::PermissionDenied);
    let own = app.client().explain_line(authed(explain, Role::Promoter, "p1")).await.expect("own").into_inner();
    assert_eq!(own.explanation.expect("why").reason(), pb::AttributionReason::OrderCode);
    let unattributed = pb::ExplainLineRequest { line_id: "l3".into() };
    let err = app.client().explain_line(authed(unattributed, Role::Promoter, "p1")).await.expect_err("not theirs");
    assert_eq!(err.code(), Code::PermissionDenied);

    let totals = pb::GetPeriodTotalsRequest { from: Some(to_timestamp(s)), to: Some(to_timestamp(s + days(3))) };
    let totals =
        app.client().get_period_totals(authed(totals, Role::Finance, "f1")).await.expect("totals").into_inner();
    assert_eq!(totals.unattributed_lines, 1);
    let p1 = &totals.promoters[0];
    assert_eq!(p1.party_id, "p1");
    assert_eq!(p1.by_state[0].lines, 2);
    assert_eq!(p1.by_state[0].commission.as_ref().expect("c").minor_units, 1094 + 679);
    assert_eq!(totals.suppliers[0].party_id, "s1");
}

#[tokio::test]
async fn suppliers_see_their_lines_and_promoters_their_links_figures() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    app.clock.advance(days(5));
    app.ingest(vec![
        click("c1", &w.code, "buyer-1", s + days(1)),
        paid("o1", "buyer-4711", s + days(1), &w.code, vec![line("l1", &w.product, "s1", 19900)]),
        paid("o2", "buyer-1", s + days(2), "", vec![line("l2", &w.product, "s1", 12345)]),
        click("c3", &w.code, "buyer-3", s + days(2)),
        paid("o3", "buyer-9", s + days(2), "", vec![line("l3", &w.product, "s1", 500)]),
        click("c4", &w.code, "buyer-4", s + days(4)),
    ])
    .await;
    let (from, to) = (Some(to_timestamp(s)), Some(to_timestamp(s + days(3))));

    let request = pb::ListSupplierLinesRequest { supplier_id: "s1".into(), from, to, ..Default::default() };
    let own = app.client().list_supplier_lines(authed(request.clone(), Role::Supplier, "s1")).await.expect("own");
    let own = own.into_inner();
    assert_eq!(own.lines.iter().map(|l| l.line_id.as_str()).collect::<Vec<_>>(), ["l2", "l1"], "attributed only");
    assert_eq!(own.lines[1].buyer_id, "b***1", "buyers masked for suppliers");
    let err = app.client().list_supplier_lines(authed(request, Role::Supplier, "s2")).await.expect_err("other's");
    assert_eq!(err.code(), Code::PermissionDenied);

    let request = pb::GetLinkStatsRequest { promoter_id: "p1".into(), from, to };
    let stats = app.client().get_link_stats(authed(request.clone(), Role::Promoter, "p1")).await.expect("own");
    let stats = stats.into_inner();
    assert_eq!(stats.links.len(), 1);
    let link = &stats.links[0];
    assert_eq!((link.share_code.as_str(), link.channel.as_str()), (w.code.as_str(), "CHANNEL_WECHAT"));
    assert_eq!((link.clicks, link.orders, link.lines), (2, 2, 2), "the click after the period is not counted");
    assert_eq!(link.commission.iter().map(|m| m.minor_units).collect::<Vec<_>>(), [1094 + 679]);
    assert_eq!(stats.channels.len(), 1);
    assert_eq!((stats.channels[0].clicks, stats.channels[0].lines), (2, 2));
    let err = app.client().get_link_stats(authed(request, Role::Promoter, "p2")).await.expect_err("other's");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_cancelled_scheduled_rate_never_reaches_a_line() {
    let app = spawn().await;
    let w = app.world().await;
    let later = app.shop_clock_now() + chrono::TimeDelta::hours(1);
    let scheduled = xiaopu_api::storefront::SetCommissionRateRequest {
        request_id: "raise".into(),
        product_id: w.product.clone(),
        rate_bps: 900,
        effective_from: Some(to_timestamp(later)),
    };
    let rate = app.storefront().set_commission_rate(authed(scheduled, Role::Supplier, "s1")).await.expect("rate");
    let rate_id = rate.into_inner().rate.expect("rate").rate_id;
    app.caught_up().await;
    let cancel = xiaopu_api::storefront::CancelScheduledRateRequest { rate_id };
    app.storefront().cancel_scheduled_rate(authed(cancel, Role::Supplier, "s1")).await.expect("cancel");
    app.caught_up().await;
    app.clock.advance(days(1));
    app.ingest(vec![paid(
        "o1",
        "buyer-1",
        later + chrono::TimeDelta::minutes(1),
        &w.code,
        vec![line("l1", &w.product, "s1", 10000)],
    )])
    .await;
    let (line, _) = app.line("l1").await;
    assert_eq!(line.rate_bps, 550, "the rate in force before the cancelled one");
}

#[tokio::test]
async fn a_stored_state_this_build_does_not_know_is_an_error_not_a_guess() {
    let app = spawn().await;
    let w = app.world().await;
    app.clock.advance(days(2));
    app.ingest(vec![paid("o1", "buyer-1", w.since + days(1), &w.code, vec![line("l1", &w.product, "s1", 10000)])])
        .await;
    let pool = app.pool().await;
    // As if a newer build had written a state this one does not know.
    sqlx::query("ALTER TABLE order_line DROP CONSTRAINT order_line_state_check").execute(&pool).await.expect("drop");
    sqlx::query("UPDATE order_line SET state = 'disputed' WHERE line_id = 'l1'").execute(&pool).await.expect("set");

    let request = pb::ListPromoterLinesRequest { promoter_id: "p1".into(), ..Default::default() };
    let err = app.client().list_promoter_lines(authed(request, Role::Promoter, "p1")).await.expect_err("unknown");
    assert_eq!(err.code(), Code::Internal, "never shown as paid: {err:?}");
    let explain = pb::ExplainLineRequest { line_id: "l1".into() };
    let err = app.client().explain_line(authed(explain, Role::Admin, "support")).await.expect_err("unknown");
    assert_eq!(err.code(), Code::Internal);
}
