//! Suppliers' commission budgets through the real server: a cap that concurrent
//! ingest cannot pass by one fen, refusals with their reason, refunds giving back,
//! alerts on the feed once each, and who may set, see and lift a budget.
use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::Code;
use xiaopu_api::{
    attribution::{self as pb, AttributionReason as R, BudgetAlert, BudgetStatus, EventOutcome},
    feed::{WatchEventsRequest, feed_service_client::FeedServiceClient},
    topics,
};
use xiaopu_common::{auth::Role, feed::decode_payload, testing::authed};

use crate::support::{TestApp, cny, confirmed, days, line, paid, refund, spawn};

fn set(request_id: &str, supplier: &str, product: &str, cap: i64) -> pb::SetBudgetRequest {
    pb::SetBudgetRequest {
        request_id: request_id.into(),
        supplier_id: supplier.into(),
        product_id: product.into(),
        cap: cny(cap),
    }
}

impl TestApp {
    async fn set_budget(&self, supplier: &str, request: pb::SetBudgetRequest) -> Result<pb::Budget, tonic::Status> {
        let answer = self.client().set_budget(authed(request, Role::Supplier, supplier)).await?;
        Ok(answer.into_inner().budget.expect("budget"))
    }

    async fn budgets(&self, supplier: &str) -> Vec<pb::Budget> {
        let request = pb::ListBudgetsRequest { supplier_id: supplier.into(), month: String::new() };
        self.client().list_budgets(authed(request, Role::Supplier, supplier)).await.expect("list").into_inner().budgets
    }
}

fn minor(m: Option<&xiaopu_api::types::Money>) -> i64 {
    m.expect("money").minor_units
}

#[tokio::test]
async fn thirty_two_concurrent_batches_end_within_the_budget_to_the_fen() {
    let app = spawn().await;
    let w = app.world().await;
    let cap = 100_000;
    let budget = app.set_budget("s1", set("b1", "s1", "", cap)).await.expect("set");
    assert_eq!((minor(budget.spent.as_ref()), budget.status()), (0, BudgetStatus::Open));
    app.clock.advance(days(1));
    let at = w.since + chrono::TimeDelta::hours(1);

    // 32 batches of 20 one-line orders, amounts varied so lines of every size meet
    // the cap: far more commission than the budget holds.
    let batches: Vec<Vec<pb::OrderEvent>> = (0..32)
        .map(|b| {
            (0..20)
                .map(|i| {
                    let n = b * 20 + i;
                    let amount = 5_000 + (n * 7919) % 30_000;
                    let lines = vec![line(&format!("l{n}"), &w.product, "s1", amount)];
                    paid(&format!("o{n}"), &format!("buyer{n}"), at, &w.code, lines)
                })
                .collect()
        })
        .collect();
    let runs = batches.into_iter().map(|events| app.ingest(events));
    let results: Vec<pb::EventResult> = futures::future::join_all(runs).await.into_iter().flatten().collect();
    assert_eq!(results.len(), 640);
    assert!(results.iter().all(|r| r.outcome() == EventOutcome::Applied), "{results:?}");

    let pool = app.pool().await;
    let (earned, earning_lines): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(commission_minor), 0)::bigint, count(*) FROM order_line WHERE supplier_id = 's1' AND attributed",
    )
    .fetch_one(&pool)
    .await
    .expect("sums");
    let refused: Vec<(String, i64)> = sqlx::query_as(
        "SELECT line_id, paid_minor FROM order_line WHERE reason = 'budget_exhausted' AND NOT attributed AND commission_minor = 0",
    )
    .fetch_all(&pool)
    .await
    .expect("refused");
    let listed = app.budgets("s1").await;
    let b = &listed[0];
    let spent = minor(b.spent.as_ref());
    assert!(spent <= cap, "spent {spent} past the cap {cap}");
    assert_eq!(spent, earned, "the month's spend is exactly what its lines earn");
    assert_eq!(earning_lines + refused.len() as i64, 640);
    assert!(!refused.is_empty() && earning_lines > 0);
    assert_eq!(b.refused_lines, refused.len() as i64);
    assert_eq!(b.status(), BudgetStatus::Exhausted);
    // Spend only grew, so what is left now is at most what was left at each refusal:
    // no line was refused that would have fitted.
    let remaining = minor(b.remaining.as_ref());
    assert_eq!(remaining, cap - spent);
    for (line_id, paid_minor) in &refused {
        let commission = xiaopu_money::Minor::new(*paid_minor).at(xiaopu_money::Bps::clamped(550)).get();
        assert!(commission > remaining, "{line_id} (commission {commission}) fits the {remaining} left");
    }
    let (_, why) = app.line(&refused[0].0).await;
    assert_eq!(why.reason(), R::BudgetExhausted);
    assert!(why.summary.contains("budget"), "{}", why.summary);

    // The feed says it once at 80 % and once when spent.
    let mut feed = FeedServiceClient::new(app.channel.clone());
    let request = WatchEventsRequest { topics: vec![topics::BUDGET.into()], ..Default::default() };
    let mut stream = feed.watch_events(authed(request, Role::Service, "settlement")).await.expect("watch").into_inner();
    let mut alerts = Vec::new();
    while alerts.len() < 2 {
        let batch = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("alerts").expect("open");
        for event in batch.expect("ok").events {
            let alert: BudgetAlert = decode_payload(&event).expect("payload");
            assert_eq!((alert.supplier_id.as_str(), alert.budget_id.as_str()), ("s1", budget.budget_id.as_str()));
            alerts.push(alert.level());
        }
    }
    // The feed orders events by transaction, not by when each level was reached.
    alerts.sort_by_key(|level| *level as i32);
    assert_eq!(alerts, [BudgetStatus::Warning, BudgetStatus::Exhausted]);
    let announced: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE topic = 'attribution.budget'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(announced, 2, "each level once");
}

#[tokio::test]
async fn refunds_give_back_and_a_refused_line_stays_refused() {
    let app = spawn().await;
    let w = app.world().await;
    let other = app.publish("s1", "Cup", 550).await;
    app.list("p1", &w.shop, &other).await;
    app.caught_up().await;
    app.clock.advance(days(1));
    let at = w.since + chrono::TimeDelta::hours(1);
    let p = w.product.as_str();
    // A line before the budget counts towards its month when it is set.
    app.ingest(vec![paid("o1", "b1", at, &w.code, vec![line("l1", p, "s1", 19900)])]).await;
    let budget = app.set_budget("s1", set("b1", "s1", p, 2000)).await.expect("set");
    assert_eq!(minor(budget.spent.as_ref()), 1094);
    assert_eq!(budget.status(), BudgetStatus::Open);

    // 1094 more does not fit in the 906 left; a line of another product is not
    // covered by this product's budget.
    app.ingest(vec![
        paid("o2", "b2", at, &w.code, vec![line("l2", p, "s1", 19900)]),
        paid("o3", "b3", at, &w.code, vec![line("l3", &other, "s1", 19900)]),
    ])
    .await;
    let (l2, why) = app.line("l2").await;
    assert_eq!((l2.attributed, minor(l2.commission.as_ref()), why.reason()), (false, 0, R::BudgetExhausted));
    assert_eq!(l2.promoter_id, "p1", "the refused line still names its promoter");
    assert!(app.line("l3").await.0.attributed);
    assert_eq!(app.budgets("s1").await[0].status(), BudgetStatus::Exhausted);

    // A full refund of l1 gives its 1094 back; a new line then fits, but l2 stays
    // refused when it is touched again.
    app.ingest(vec![refund("r1", "o1", "l1", 19900, at + chrono::TimeDelta::hours(1))]).await;
    assert_eq!(minor(app.budgets("s1").await[0].spent.as_ref()), 0);
    app.ingest(vec![
        paid("o4", "b4", at, &w.code, vec![line("l4", p, "s1", 19900)]),
        confirmed("o2", at + chrono::TimeDelta::hours(1)),
    ])
    .await;
    let (l4, _) = app.line("l4").await;
    assert_eq!((l4.attributed, minor(l4.commission.as_ref())), (true, 1094));
    let (l2, why) = app.line("l2").await;
    assert_eq!((l2.attributed, why.reason()), (false, R::BudgetExhausted));
    let listed = app.budgets("s1").await;
    assert_eq!((minor(listed[0].spent.as_ref()), listed[0].refused_lines), (1094, 1));

    // Lifted: new lines are not capped.
    let remove = pb::RemoveBudgetRequest { budget_id: budget.budget_id.clone() };
    app.client().remove_budget(authed(remove, Role::Supplier, "s1")).await.expect("lifted");
    app.ingest(vec![paid("o5", "b5", at, &w.code, vec![line("l5", p, "s1", 19900)])]).await;
    assert!(app.line("l5").await.0.attributed);
    assert!(app.budgets("s1").await.is_empty());
}

#[tokio::test]
async fn budgets_are_the_suppliers_own_and_checked_field_by_field() {
    let app = spawn().await;
    let w = app.world().await;
    let others = app.publish("s2", "Bowl", 300).await;
    app.caught_up().await;
    let code = |r: Result<pb::Budget, tonic::Status>| r.expect_err("refused").code();

    assert_eq!(code(app.set_budget("s2", set("x", "s1", "", 100)).await), Code::PermissionDenied);
    let refused = app.set_budget("s1", set("x", "s1", "", 0)).await.expect_err("zero");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("cap.minor_units"), "{}", refused.message());
    let usd = pb::SetBudgetRequest {
        cap: Some(xiaopu_api::types::Money { minor_units: 1, currency: "USD".into() }),
        ..set("x", "s1", "", 1)
    };
    assert!(app.set_budget("s1", usd).await.expect_err("usd").message().contains("cap.currency"));
    assert!(app.set_budget("s1", set("", "s1", "", 1)).await.expect_err("id").message().contains("request_id"));
    assert_eq!(code(app.set_budget("s1", set("x", "s1", &others, 100)).await), Code::NotFound);
    assert_eq!(code(app.set_budget("s1", set("x", "s1", "not-a-uuid", 100)).await), Code::InvalidArgument);

    // A retry answers the same budget; the same id for another cap is refused; the
    // same scope again changes the cap of the one budget.
    let first = app.set_budget("s1", set("a", "s1", &w.product, 5000)).await.expect("set");
    assert_eq!(app.set_budget("s1", set("a", "s1", &w.product, 5000)).await.expect("retry"), first);
    assert_eq!(code(app.set_budget("s1", set("a", "s1", &w.product, 6000)).await), Code::FailedPrecondition);
    let changed = app.set_budget("s1", set("b", "s1", &w.product, 7000)).await.expect("change");
    assert_eq!((changed.budget_id.as_str(), minor(changed.cap.as_ref())), (first.budget_id.as_str(), 7000));
    assert_eq!(app.budgets("s1").await.len(), 1);

    let list =
        |supplier: &str, month: &str| pb::ListBudgetsRequest { supplier_id: supplier.into(), month: month.into() };
    let denied = app.client().list_budgets(authed(list("s1", ""), Role::Supplier, "s2")).await.expect_err("other");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let finance = app.client().list_budgets(authed(list("s1", ""), Role::Finance, "f1")).await.expect("finance");
    assert_eq!(finance.into_inner().budgets.len(), 1);
    let bad = app.client().list_budgets(authed(list("s1", "2026-13"), Role::Supplier, "s1")).await.expect_err("month");
    assert!(bad.message().contains("month"), "{}", bad.message());
    let before = app.client().list_budgets(authed(list("s1", "2001-01"), Role::Supplier, "s1")).await.expect("old");
    assert!(before.into_inner().budgets.is_empty(), "a budget does not cover months before it was set");

    let remove = |id: &str| pb::RemoveBudgetRequest { budget_id: id.into() };
    let hidden = app.client().remove_budget(authed(remove(&first.budget_id), Role::Supplier, "s2")).await;
    assert_eq!(hidden.expect_err("not theirs").code(), Code::NotFound);
    app.client().remove_budget(authed(remove(&first.budget_id), Role::Supplier, "s1")).await.expect("lift");
    app.client().remove_budget(authed(remove(&first.budget_id), Role::Supplier, "s1")).await.expect("again");
    assert!(app.budgets("s1").await.is_empty());
}
