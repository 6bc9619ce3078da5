//! Webhooks through real clients: a promoter's and a supplier's systems are told of
//! their events, signed; a receiver that fails gets the same delivery again; a
//! delivery that failed for good is logged and sent again on request.
use std::time::Duration;

use tonic::Code;
use xiaopu_api::settlement as pb;
use xiaopu_common::{auth::Role, testing::authed, webhook};
use xiaopu_testkit::webhooks::Receiver;

use crate::support::{Stack, World, days, refund, sale, spawn};

async fn subscribe(
    stack: &Stack,
    role: Role,
    owner: &str,
    url: &str,
    events: &[pb::WebhookEvent],
) -> pb::CreateWebhookResponse {
    let request = pb::CreateWebhookRequest {
        request_id: format!("hook-{owner}"),
        url: url.into(),
        events: events.iter().map(|e| (*e).into()).collect(),
    };
    stack.settlement().create_webhook(authed(request, role, owner)).await.expect("create webhook").into_inner()
}

async fn deliveries(stack: &Stack, role: Role, owner: &str, webhook_id: &str) -> Vec<pb::WebhookDelivery> {
    let request = pb::ListWebhookDeliveriesRequest { webhook_id: webhook_id.into(), page_size: 0 };
    let answer = stack.settlement().list_webhook_deliveries(authed(request, role, owner)).await;
    answer.expect("deliveries").into_inner().deliveries
}

/// Waits until `receiver` has accepted `n` distinct deliveries.
async fn accepted(receiver: &Receiver, n: usize) -> Vec<String> {
    xiaopu_common::testing::eventually(&format!("{n} deliveries accepted"), Duration::from_secs(20), || async {
        let ids = receiver.accepted_ids();
        (ids.len() >= n).then_some(ids)
    })
    .await
}

async fn world_with_sale(stack: &Stack) -> World {
    let w = stack.world().await;
    stack.clock.advance(days(1));
    sale(stack, &w, "o1", 19900, w.since + chrono::TimeDelta::hours(1), w.since + chrono::TimeDelta::hours(2)).await;
    w
}

#[tokio::test]
async fn the_promoter_and_the_supplier_are_told_of_a_line_signed_and_a_failed_attempt_comes_again_with_its_id() {
    let stack = spawn().await;
    let promoter_system = Receiver::start().await;
    let supplier_system = Receiver::start().await;
    let events = [pb::WebhookEvent::LineAttributed, pb::WebhookEvent::LineVoided];
    let hook = subscribe(&stack, Role::Promoter, "p1", &promoter_system.url(), &events).await;
    promoter_system.set_secret(&hook.secret);
    let supplier_hook = subscribe(&stack, Role::Supplier, "s1", &supplier_system.url(), &events).await;
    supplier_system.set_secret(&supplier_hook.secret);
    // The promoter's system is down for its first attempt.
    promoter_system.fail_next(1);

    let w = world_with_sale(&stack).await;
    let ids = accepted(&promoter_system, 1).await;
    let received = promoter_system.received();
    assert_eq!(received.len(), 2, "refused once, then delivered: {received:?}");
    assert_eq!(received[0].id, received[1].id, "a retry carries the same delivery id");
    let body = received[1].json();
    assert_eq!(body["type"], "line.attributed");
    assert_eq!(body["id"], ids[0].as_str());
    assert_eq!(body["data"]["line_id"], "o1-l");
    assert_eq!(body["data"]["promoter_id"], "p1");
    assert_eq!(body["data"]["commission"]["minor_units"], 1094);
    let supplier_ids = accepted(&supplier_system, 1).await;
    assert_eq!(supplier_system.received()[0].json()["data"]["supplier_id"], "s1");
    assert_ne!(supplier_ids[0], ids[0], "each webhook has its own delivery");

    let webhook_id = hook.webhook.as_ref().expect("webhook").webhook_id.clone();
    let log = xiaopu_common::testing::eventually("the log says delivered", Duration::from_secs(10), || async {
        let log = deliveries(&stack, Role::Promoter, "p1", &webhook_id).await;
        (log.first().is_some_and(|d| d.status() == pb::DeliveryStatus::Delivered)).then_some(log)
    })
    .await;
    assert_eq!((log.len(), log[0].attempts, log[0].last_status_code), (1, 2, 200));
    assert_eq!(log[0].delivery_id, ids[0]);

    // A captured delivery replayed later is refused by the receiver's check.
    let first = &received[1];
    let later = chrono::Utc::now().timestamp() + webhook::TOLERANCE_SECS + 60;
    let replayed = webhook::verify(
        &promoter_system_secret(&hook),
        &first.id,
        &first.timestamp,
        &first.body,
        &first.signature,
        later,
    );
    assert!(matches!(replayed, Err(webhook::Refusal::Stale { .. })), "{replayed:?}");

    // A full refund voids the line: both are told, once each.
    let order_refund = refund("r1", "o1", "o1-l", 19900, w.since + chrono::TimeDelta::hours(3));
    stack.ingest(vec![order_refund]).await;
    stack.feeds_caught_up().await;
    let ids = accepted(&promoter_system, 2).await;
    let voided = promoter_system.received().into_iter().find(|r| r.id == ids[1]).expect("the second delivery");
    assert_eq!(voided.json()["type"], "line.voided");
    accepted(&supplier_system, 2).await;
}

fn promoter_system_secret(hook: &pb::CreateWebhookResponse) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(&hook.secret).expect("base64")
}

#[tokio::test]
async fn a_delivery_that_failed_for_good_is_logged_and_sent_again_on_request_only_by_its_owner() {
    let stack = spawn().await;
    let system = Receiver::start().await;
    system.set_down(true);
    let hook = subscribe(&stack, Role::Promoter, "p1", &system.url(), &[pb::WebhookEvent::LineAttributed]).await;
    system.set_secret(&hook.secret);
    let webhook_id = hook.webhook.as_ref().expect("webhook").webhook_id.clone();
    world_with_sale(&stack).await;

    let failed = xiaopu_common::testing::eventually("the delivery fails for good", Duration::from_secs(20), || async {
        let log = deliveries(&stack, Role::Promoter, "p1", &webhook_id).await;
        log.into_iter().find(|d| d.status() == pb::DeliveryStatus::Failed)
    })
    .await;
    assert_eq!(failed.attempts, 3, "the configured attempts, then failed");
    assert_eq!(failed.last_status_code, 500);
    assert!(failed.last_error.contains("500"), "{}", failed.last_error);

    // Nobody else sees or resends it.
    let redeliver = || pb::RedeliverWebhookRequest { delivery_id: failed.delivery_id.clone() };
    let other = stack.settlement().redeliver_webhook(authed(redeliver(), Role::Promoter, "p2")).await;
    assert_eq!(other.expect_err("not theirs").code(), Code::NotFound);
    let listing = pb::ListWebhookDeliveriesRequest { webhook_id: webhook_id.clone(), page_size: 0 };
    let other = stack.settlement().list_webhook_deliveries(authed(listing, Role::Promoter, "p2")).await;
    assert_eq!(other.expect_err("not theirs").code(), Code::NotFound);

    system.set_down(false);
    let again = stack.settlement().redeliver_webhook(authed(redeliver(), Role::Promoter, "p1")).await;
    assert_eq!(
        again.expect("redeliver").into_inner().delivery.expect("delivery").status(),
        pb::DeliveryStatus::Pending
    );
    let ids = accepted(&system, 1).await;
    assert_eq!(ids, std::slice::from_ref(&failed.delivery_id), "sent again under its own id");
    let twice = stack.settlement().redeliver_webhook(authed(redeliver(), Role::Promoter, "p1")).await;
    assert_eq!(twice.expect_err("delivered").code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_webhook_is_checked_before_it_is_stored_and_a_retry_answers_the_same() {
    let stack = spawn().await;
    let create = |url: &str, events: Vec<i32>, request_id: &str| pb::CreateWebhookRequest {
        request_id: request_id.into(),
        url: url.into(),
        events,
    };
    let payouts = vec![pb::WebhookEvent::PayoutPaid.into()];
    let refused = stack
        .settlement()
        .create_webhook(authed(create("https://erp.example.com/h", payouts.clone(), "r1"), Role::Supplier, "s1"))
        .await
        .expect_err("a supplier has no payouts");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("events[0]"), "{}", refused.message());
    for (url, events) in [
        ("ftp://erp.example.com", payouts.clone()),
        ("https://erp.example.com", vec![]),
        ("https://erp.example.com", vec![0]),
    ] {
        let answer = stack.settlement().create_webhook(authed(create(url, events, "r2"), Role::Promoter, "p1")).await;
        assert_eq!(answer.expect_err("refused").code(), Code::InvalidArgument);
    }
    let finance = stack
        .settlement()
        .create_webhook(authed(create("https://e.example.com", payouts.clone(), "r3"), Role::Finance, "f1"))
        .await;
    assert_eq!(finance.expect_err("finance has no webhooks").code(), Code::PermissionDenied);

    let first = stack
        .settlement()
        .create_webhook(authed(create("https://erp.example.com/h", payouts.clone(), "r4"), Role::Promoter, "p1"))
        .await
        .expect("first")
        .into_inner();
    let retry = stack
        .settlement()
        .create_webhook(authed(create("https://erp.example.com/h", payouts.clone(), "r4"), Role::Promoter, "p1"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry.webhook, first.webhook);
    assert_eq!(retry.secret, first.secret);
    let reused = stack
        .settlement()
        .create_webhook(authed(create("https://other.example.com/h", payouts, "r4"), Role::Promoter, "p1"))
        .await;
    assert_eq!(reused.expect_err("another webhook under the same id").code(), Code::FailedPrecondition);

    let mine = stack
        .settlement()
        .list_webhooks(authed(pb::ListWebhooksRequest {}, Role::Promoter, "p1"))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(mine.webhooks.len(), 1);
    let theirs = stack
        .settlement()
        .list_webhooks(authed(pb::ListWebhooksRequest {}, Role::Promoter, "p2"))
        .await
        .expect("list")
        .into_inner();
    assert!(theirs.webhooks.is_empty());
    let id = first.webhook.expect("webhook").webhook_id;
    let delete = |who| authed(pb::DeleteWebhookRequest { webhook_id: id.clone() }, Role::Promoter, who);
    assert_eq!(stack.settlement().delete_webhook(delete("p2")).await.expect_err("not theirs").code(), Code::NotFound);
    let deleted = stack.settlement().delete_webhook(delete("p1")).await.expect("delete").into_inner();
    assert!(deleted.webhook.expect("webhook").deleted_at.is_some());
}

#[tokio::test]
async fn a_webhook_may_not_point_into_the_platforms_own_network() {
    let stack =
        Stack::spawn(xiaopu_testkit::Options { webhooks_to_private_addresses: false, ..Default::default() }).await;
    for url in ["http://127.0.0.1:50053/", "http://localhost/hook", "http://169.254.169.254/latest", "http://[::1]/"] {
        let request = pb::CreateWebhookRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            url: url.into(),
            events: vec![pb::WebhookEvent::LineAttributed.into()],
        };
        let refused = stack.settlement().create_webhook(authed(request, Role::Promoter, "p1")).await;
        let refused = refused.expect_err("an address inside");
        assert_eq!(refused.code(), Code::InvalidArgument, "{url}");
        assert!(refused.message().starts_with("`url` must not point at"), "{url}: {}", refused.message());
    }
}

#[tokio::test]
async fn a_supplier_hears_once_when_a_budget_nears_its_cap_and_a_promoter_may_not_ask_to() {
    let stack = spawn().await;
    let system = Receiver::start().await;
    let hook = subscribe(&stack, Role::Supplier, "s1", &system.url(), &[pb::WebhookEvent::BudgetAlert]).await;
    system.set_secret(&hook.secret);
    let budget = xiaopu_api::attribution::SetBudgetRequest {
        request_id: "budget".into(),
        supplier_id: "s1".into(),
        product_id: String::new(),
        cap: xiaopu_testkit::events::cny(1200),
    };
    stack.attribution().set_budget(authed(budget, Role::Supplier, "s1")).await.expect("budget");
    // One sale earns 1094 of the 1200: past 80 %, not spent.
    let w = world_with_sale(&stack).await;
    stack.feeds_caught_up().await;
    let ids = accepted(&system, 1).await;
    let body = system.received()[0].json();
    assert_eq!(body["type"], "budget.alert");
    assert_eq!(body["id"], ids[0].as_str());
    assert_eq!(
        (body["data"]["level"].as_str(), body["data"]["spent"]["minor_units"].as_i64()),
        (Some("warning"), Some(1094))
    );
    // A second sale does not fit: the month is spent, said once more.
    sale(&stack, &w, "o2", 19900, w.since + chrono::TimeDelta::hours(1), w.since + chrono::TimeDelta::hours(2)).await;
    stack.feeds_caught_up().await;
    let ids = accepted(&system, 2).await;
    let spent = system.received().into_iter().find(|r| r.id == ids[1]).expect("the second alert");
    assert_eq!(spent.json()["data"]["level"], "exhausted");
    assert_eq!(system.accepted_ids().len(), 2, "each level once");

    let request = pb::CreateWebhookRequest {
        request_id: "promoter-budget".into(),
        url: system.url(),
        events: vec![pb::WebhookEvent::BudgetAlert.into()],
    };
    let refused = stack.settlement().create_webhook(authed(request, Role::Promoter, "p1")).await.expect_err("refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("events[0]"), "{}", refused.message());
}
