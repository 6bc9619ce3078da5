//! Webhook settings in the promoter app and the supplier portal: add one (the secret
//! shown once, on the answer), see its deliveries, send a failed one again, delete.
use std::time::Duration;

use hyper::StatusCode;
use xiaopu_common::testing::{eventually, token};
use xiaopu_testkit::{Options, webhooks::Receiver, world};

use crate::harness::Web;

#[tokio::test]
async fn a_promoter_adds_a_webhook_sees_it_fail_and_sends_it_again_and_a_supplier_sees_line_and_budget_events() {
    let web = Web::start(Options::default()).await;
    let receiver = Receiver::start().await;
    receiver.set_down(true);
    let signed_in =
        web.post("/app/sign-in", &[("token", &token(xiaopu_common::auth::Role::Promoter, "p1"))], &[]).await;
    let cookies = signed_in.cookies();
    let page = web.get("/app/webhooks", &cookies).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("还没有推送地址") && page.body.contains("佣金已到账"), "{}", page.body);

    let form = [
        ("csrf", page.csrf()),
        ("url", receiver.url()),
        ("webhook_event_line_attributed", "on".to_owned()),
        ("webhook_event_payout_paid", "on".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let added = web.post("/app/webhooks", &form, &cookies).await;
    assert_eq!(added.status, StatusCode::OK, "answered in place, not redirected: {}", added.body);
    let secret = added.body.split("aria-label=\"签名密钥\"").next().and_then(|s| s.rsplit("value=\"").next());
    let secret = secret.and_then(|s| s.split('"').next()).expect("the secret on the page").to_owned();
    assert_eq!(secret.len(), 44, "32 bytes in base64: {secret}");
    receiver.set_secret(&secret);
    assert!(added.body.contains("订单计入佣金、佣金已到账"), "{}", added.body);
    let again = web.get("/app/webhooks", &cookies).await;
    assert!(!again.body.contains(&secret), "the secret is shown once");

    // A sale: the receiver is down, so the delivery fails after its attempts.
    let product = world::publish(&web.stack, "s1", "Longjing tea", 19900, 550).await;
    let (_, code) = world::onboard(&web.stack, "p1", "p1's shop", std::slice::from_ref(&product)).await;
    web.stack.feeds_caught_up().await;
    let paid_at = chrono::Utc::now();
    let lines = vec![xiaopu_testkit::events::line("o1-l", &product, "s1", 19900)];
    web.stack.ingest(vec![xiaopu_testkit::events::paid("o1", "b1", paid_at, &code, lines)]).await;
    web.stack.feeds_caught_up().await;
    let failed = eventually("the delivery fails", Duration::from_secs(20), || async {
        let page = web.get("/app/webhooks", &cookies).await;
        page.body.contains("发送失败").then_some(page)
    })
    .await;
    assert!(failed.body.contains("HTTP 500"), "{}", failed.body);
    let resend =
        failed.body.split("/webhooks/deliveries/").nth(1).and_then(|s| s.split('/').next()).expect("a resend button");
    receiver.set_down(false);
    let queued =
        web.post(&format!("/app/webhooks/deliveries/{resend}/resend"), &[("csrf", &failed.csrf())], &cookies).await;
    assert_eq!(queued.status, StatusCode::SEE_OTHER);
    assert!(web.get(queued.location(), &cookies).await.body.contains("已重新排队发送"));
    eventually("delivered", Duration::from_secs(20), || async {
        (receiver.accepted_ids() == [resend.to_owned()]).then_some(())
    })
    .await;

    // A supplier is offered line events and budget alerts, never payouts.
    let supplier =
        web.post("/supplier/sign-in", &[("token", &token(xiaopu_common::auth::Role::Supplier, "s1"))], &[]).await;
    let portal = web.get("/supplier/webhooks", &supplier.cookies()).await;
    assert_eq!(portal.status, StatusCode::OK, "{}", portal.body);
    assert!(
        portal.body.contains("订单计入佣金") && portal.body.contains("佣金预算") && !portal.body.contains("佣金已到账")
    );
    assert!(portal.body.contains("还没有推送地址"), "the promoter's webhook is not theirs");

    // Deleted: the list says so and offers no more resends.
    let webhook = again.body.split("data-webhook=\"").nth(1).and_then(|s| s.split('"').next()).expect("webhook id");
    let deleted = web.post(&format!("/app/webhooks/{webhook}/delete"), &[("csrf", &again.csrf())], &cookies).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(web.get(deleted.location(), &cookies).await.body.contains("已删除"));
}
