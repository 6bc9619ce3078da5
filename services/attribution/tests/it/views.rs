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
