use std::sync::Arc;

use xiaopu_api::settlement::{self as pb, settlement_service_client::SettlementServiceClient};
use xiaopu_common::{auth::Role, testing};
use xiaopu_testkit::{Options, in_process};

use crate::support::{as_finance, days, earnings, minor, refund, sale, spawn, sweep, verify};

#[tokio::test]
async fn a_line_becomes_settleable_exactly_when_the_hold_has_passed() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(10));
    let confirmed_at = stack.now() - days(7) + chrono::TimeDelta::minutes(1);
    sale(&stack, &w, "o1", 19900, w.since + days(1), confirmed_at).await;
    let before = earnings(&stack, "p1").await;
    assert_eq!(minor(&before.estimated), 985, "1094 commission less the 109 fee");
    assert_eq!(sweep(&stack).await, 0, "one minute short of the hold");
    assert_eq!(minor(&earnings(&stack, "p1").await.settleable), 0);

    stack.clock.advance(chrono::TimeDelta::minutes(1));
    assert_eq!(sweep(&stack).await, 1);
    let after = earnings(&stack, "p1").await;
    assert_eq!((minor(&after.estimated), minor(&after.settleable)), (0, 985));
    assert_eq!(sweep(&stack).await, 0, "a line moves once");
    assert_eq!(minor(&verify(&stack).await.total), 0);
}

#[tokio::test]
async fn refunds_before_settlement_reduce_and_then_void() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(10));
    sale(&stack, &w, "o1", 19900, w.since + days(1), w.since + days(2)).await;
    stack.ingest(vec![refund("r1", "o1", "o1-l", 9950, w.since + days(3))]).await;
    stack.feeds_caught_up().await;
    assert_eq!(minor(&earnings(&stack, "p1").await.estimated), 492, "547 less its 55 fee");
    stack.ingest(vec![refund("r2", "o1", "o1-l", 9950, w.since + days(4))]).await;
    stack.feeds_caught_up().await;
    assert_eq!(minor(&earnings(&stack, "p1").await.estimated), 0);
    assert_eq!(sweep(&stack).await, 0, "nothing left to settle");
    assert_eq!(minor(&verify(&stack).await.total), 0);
}

#[tokio::test]
async fn the_sweep_run_by_two_instances_at_once_moves_each_line_once() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(30));
    let mut events = Vec::new();
    for i in 0..40 {
        let order = format!("o{i}");
        events.push(crate::support::paid(
            &order,
            &format!("buyer{i}"),
            w.since + days(1),
            &w.code,
            vec![crate::support::line(&format!("l{i}"), &w.product, "s1", 10_000 + i)],
        ));
        events.push(crate::support::confirmed(&order, w.since + days(2)));
    }
    stack.ingest(events).await;
    stack.feeds_caught_up().await;

    // A second settlement server on the same database, as a second replica.
    let replica = in_process::settlement(
        &stack.settlement_db,
        stack.attribution.local_addr,
        Arc::new(stack.clock.clone()),
        &Options::default(),
    )
    .await;
    let replica = SettlementServiceClient::new(testing::channel(replica.local_addr).await);
    let runs = (0..8).map(|i| {
        let mut client = if i % 2 == 0 { stack.settlement() } else { replica.clone() };
        async move {
            client
                .run_settleable_sweep(as_finance(pb::RunSettleableSweepRequest {}, "f1"))
                .await
                .expect("sweep")
                .into_inner()
                .moved
        }
    });
    let moved: i64 = futures::future::join_all(runs).await.into_iter().sum();
    assert_eq!(moved, 40, "every line moved, none twice");
    let pool = stack.settlement_db.connect().await;
    let (settleable_credit, sweeps): (i64, i64) = sqlx::query_as(
        "SELECT -COALESCE(sum(p.amount), 0)::bigint, count(DISTINCT j.journal_id) FROM posting p JOIN journal j USING (journal_id)
         WHERE j.kind = 'sweep' AND p.account = 'promoter_settleable'",
    )
    .fetch_one(&pool)
    .await
    .expect("sweeps");
    let (expected,): (i64,) = sqlx::query_as("SELECT sum(share)::bigint FROM position WHERE stage = 'settleable'")
        .fetch_one(&pool)
        .await
        .expect("positions");
    assert_eq!(settleable_credit, expected, "posted once per line");
    assert!(sweeps >= 1);
    assert_eq!(minor(&verify(&stack).await.total), 0);
    let _ = Role::Finance;
}

/// A line the fast-click risk rule holds stays estimated through every sweep; once
/// finance releases it at attribution it becomes settleable, closes into a batch and
/// is paid. A voided one leaves the ledger as if it never earned.
#[tokio::test]
async fn a_held_line_settles_only_once_released_and_is_then_paid_and_a_voided_one_earns_nothing() {
    use xiaopu_api::attribution as at;
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(10));
    let s = w.since;
    let paid_at = s + days(1);
    let click_then_pay = |order: &str| {
        let buyer = format!("{order}-buyer");
        vec![
            crate::support::click(&format!("{order}-c"), &w.code, &buyer, paid_at - chrono::TimeDelta::seconds(3)),
            crate::support::paid(
                order,
                &buyer,
                paid_at,
                "",
                vec![crate::support::line(&format!("{order}-l"), &w.product, "s1", 39800)],
            ),
            crate::support::confirmed(order, s + days(2)),
        ]
    };
    stack.ingest([click_then_pay("o1"), click_then_pay("o2")].concat()).await;
    stack.feeds_caught_up().await;
    assert_eq!(sweep(&stack).await, 0, "held lines are not settleable");
    // 39800 at 550 bps: commission 2189, fee 219 (218.9), share 1970.
    assert_eq!(minor(&earnings(&stack, "p1").await.estimated), 2 * 1970);

    let review = |line: &str| at::ReleaseRiskHoldRequest { line_id: line.into(), note: "checked the buyer".into() };
    stack.attribution().release_risk_hold(as_finance(review("o1-l"), "f1")).await.expect("released");
    let void = at::VoidRiskHoldRequest { line_id: "o2-l".into(), note: "a bot".into() };
    stack.attribution().void_risk_hold(as_finance(void, "f1")).await.expect("voided");
    stack.feeds_caught_up().await;
    assert_eq!(sweep(&stack).await, 1, "the released line moves; the voided one earns nothing");
    let after = earnings(&stack, "p1").await;
    assert_eq!((minor(&after.estimated), minor(&after.settleable)), (0, 1970));

    let batch = crate::support::close(&stack, s, s + days(10), "f1").await.batch.expect("batch");
    crate::support::approve(&stack, &batch.batch_id, "f2").await.expect("approve");
    crate::support::export(&stack, &batch.batch_id).await;
    let line = crate::support::lines(&stack, &batch.batch_id).await.into_iter().next().expect("p1's line");
    assert_eq!(minor(&line.amount), 1970);
    crate::support::pay(&stack, &line.batch_line_id, pb::PayoutOutcome::Paid, "ALIPAY-1").await;
    assert_eq!(minor(&earnings(&stack, "p1").await.paid), 1970);
    assert_eq!(minor(&verify(&stack).await.total), 0);
}
