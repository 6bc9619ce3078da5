use chrono::{Duration as Days, Utc};
use hyper::StatusCode;
use xiaopu_api::settlement::{self as st, settlement_service_client::SettlementServiceClient};
use xiaopu_common::{
    auth::Role,
    testing::{authed, token},
};
use xiaopu_testkit::{
    Options,
    events::{confirmed, line, paid},
};

use crate::harness::Web;

#[tokio::test]
async fn only_finance_signs_in_and_every_form_needs_the_csrf_token() {
    let web = Web::start(Options::default()).await;
    let away = web.get("/console", &[]).await;
    assert_eq!((away.status, away.location()), (StatusCode::SEE_OTHER, "/console/sign-in"));

    let promoter = web.post("/console/sign-in", &[("token", &token(Role::Promoter, "p1"))], &[]).await;
    assert_eq!(promoter.status, StatusCode::FORBIDDEN, "{}", promoter.body);
    assert!(promoter.body.contains("只对财务角色开放") && promoter.cookies().iter().all(|c| c.ends_with('=')));
    let forged = web.post("/console/sign-in", &[("token", "not.a.token")], &[]).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let signed_in = web.post("/console/sign-in", &[("token", &token(Role::Finance, "fiona"))], &[]).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let cookies = signed_in.cookies();
    let home = web.get("/console", &cookies).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("付款批次") && home.body.contains("fiona"));

    // A form without the token, or with another's, changes nothing.
    for csrf in ["", "forged"] {
        let hold = web
            .post("/console/holds", &[("csrf", csrf), ("promoter_id", "p1"), ("reason", "fraud review")], &cookies)
            .await;
        assert_eq!(hold.status, StatusCode::FORBIDDEN, "{}", hold.body);
    }
    let holds = SettlementServiceClient::new(web.stack.channels.settlement.clone())
        .list_holds(authed(
            st::ListHoldsRequest { include_released: true, ..Default::default() },
            Role::Finance,
            "fiona",
        ))
        .await
        .expect("holds");
    assert!(holds.into_inner().holds.is_empty(), "a refused form placed a hold");

    // A promoter settlement has never heard of is refused, with the reason shown.
    let csrf = home.csrf();
    let unknown = web
        .post("/console/holds", &[("csrf", &csrf), ("promoter_id", "p1"), ("reason", "fraud review")], &cookies)
        .await;
    let page = web.get(unknown.location(), &cookies).await;
    assert!(
        page.body.contains("结算中没有这个推广者的任何记录") && page.body.contains("UNKNOWN_PROMOTER"),
        "{}",
        page.body
    );

    // With it, the hold on a known promoter is placed and shown, with the reason.
    web.stack.payee("p1").await;
    let hold = web
        .post("/console/holds", &[("csrf", &csrf), ("promoter_id", "p1"), ("reason", "fraud review")], &cookies)
        .await;
    assert_eq!(hold.status, StatusCode::SEE_OTHER);
    let page = web.get(hold.location(), &cookies).await;
    assert!(page.body.contains("已冻结 p1") && page.body.contains("fraud review"), "{}", page.body);
    // Releasing needs a reason: the service's refusal is shown as it gave it.
    let refused =
        web.post("/console/holds/release", &[("csrf", &csrf), ("promoter_id", "p1"), ("reason", "")], &cookies).await;
    let page = web.get(refused.location(), &cookies).await;
    assert!(page.body.contains("class=\"flash error\"") && page.body.contains("reason"), "{}", page.body);
}

#[tokio::test]
async fn finance_closes_a_period_a_second_user_approves_exports_pays_and_reconciles() {
    // ¥9.85 is under the default minimum payout: this run pays from ¥1.
    let web = Web::start(Options { hold_hours: 0, min_payout_minor: 100, ..Options::default() }).await;
    let world = web.stack.world().await;
    let now = web.stack.now();
    let lines = vec![line("l1", &world.product, &world.supplier, 19900)];
    web.stack.ingest(vec![paid("o1", "buyer-1", now, &world.code, lines), confirmed("o1", now)]).await;
    web.stack.feeds_caught_up().await;
    let mut settlement = SettlementServiceClient::new(web.stack.channels.settlement.clone());
    settlement
        .run_settleable_sweep(authed(st::RunSettleableSweepRequest {}, Role::Finance, "fiona"))
        .await
        .expect("sweep");

    // The period ends the day after tomorrow: three days on, it has ended.
    web.stack.clock.advance(chrono::TimeDelta::days(3));
    let fiona = web.sign_in("fiona").await;
    let home = web.get("/console", &fiona).await;
    let (from, to) = ((Utc::now() - Days::days(2)).date_naive(), (Utc::now() + Days::days(2)).date_naive());
    let close = [("csrf", home.csrf()), ("from", from.to_string()), ("to", to.to_string())];
    let close: Vec<(&str, &str)> = close.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let closed = web.post("/console/periods/close", &close, &fiona).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    let batch_path = closed.location().split('?').next().expect("path").to_owned();
    let batch = web.get(closed.location(), &fiona).await;
    // 10.94 commission, 1.09 fee: p1 is paid 9.85.
    assert!(
        batch.body.contains("待审批") && batch.body.contains("p1") && batch.body.contains("¥9.85"),
        "{}",
        batch.body
    );

    // Fiona may not approve her own batch: she is not offered to, and a forged form
    // gets settlement's refusal, in its words.
    assert!(!batch.body.contains("/approve\"") && batch.body.contains("须由另一位财务审批"), "{}", batch.body);
    let own = web.post(&format!("{batch_path}/approve"), &[("csrf", &batch.csrf())], &fiona).await;
    let page = web.get(own.location(), &fiona).await;
    assert!(page.body.contains("flash error") && page.body.contains("待审批"), "{}", page.body);

    let gao = web.sign_in("gao").await;
    let page = web.get(&batch_path, &gao).await;
    let approved = web.post(&format!("{batch_path}/approve"), &[("csrf", &page.csrf())], &gao).await;
    let page = web.get(approved.location(), &gao).await;
    assert!(page.body.contains("批次已审批") && page.body.contains("已审批"), "{}", page.body);

    assert!(!page.body.contains("/payout\""), "no payment forms before the file is exported: {}", page.body);
    let csv = web.get(&format!("{batch_path}/export.csv"), &gao).await;
    assert_eq!(csv.status, StatusCode::OK);
    let page = web.get(&batch_path, &gao).await;
    assert!(csv.headers[hyper::header::CONTENT_TYPE].to_str().unwrap_or("").starts_with("text/csv"));
    assert!(csv.body.lines().any(|row| row.contains(",p1,") && row.contains("9.85")), "{}", csv.body);

    let line_id = page
        .body
        .split("/lines/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("a payout form for the line")
        .to_owned();
    let payout = [("csrf", page.csrf()), ("outcome", "paid".into()), ("note", "ICBC-0001".into())];
    let payout: Vec<(&str, &str)> = payout.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let paid = web.post(&format!("{batch_path}/lines/{line_id}/payout"), &payout, &gao).await;
    let page = web.get(paid.location(), &gao).await;
    assert!(page.body.contains("已记为已付") && page.body.contains("ICBC-0001"), "{}", page.body);

    let statement = web.get(&format!("/console/reconcile?from={from}&to={to}"), &gao).await;
    assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
    assert!(
        statement.body.contains("账实相符") && statement.body.contains("逐笔核对订单行 1 笔"),
        "{}",
        statement.body
    );
    let explained = web.get("/console/lines/l1", &gao).await;
    assert!(explained.body.contains("¥10.94") && explained.body.contains(&world.code), "{}", explained.body);
}
