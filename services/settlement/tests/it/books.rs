//! The books under random traffic: orders paid, confirmed and refunded (shuffled and
//! duplicated), clock advances, sweeps, periods closed and paid out. After every case
//! the ledger sums to zero, each line's supplier charge equals what the promoter and
//! the platform are credited, batches equal their lines and the ledger, and
//! reconciliation against attribution finds nothing — until a posting is tampered
//! with, and then it names that line.
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use proptest::{
    prelude::*,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use xiaopu_api::{attribution::OrderEvent, settlement as pb};

use crate::support::{
    Stack, World, approve, close, confirmed, days, export, line, lines, minor, paid, pay, reconcile, refund, spawn,
    sweep, verify,
};

#[derive(Debug, Clone)]
struct Order {
    amount: i64,
    paid_hour: i64,
    confirm_after_hours: Option<i64>,
    early_refund_percent: i64,
    late_refund_percent: i64,
}

#[derive(Debug, Clone)]
struct Case {
    orders: Vec<Order>,
    split_day: i64,
    shuffle: Vec<u32>,
    duplicates: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    let order = (1_000i64..80_000, 0i64..240, proptest::option::weighted(0.8, 0i64..200), 0i64..50, 0i64..50).prop_map(
        |(amount, paid_hour, confirm_after_hours, early_refund_percent, late_refund_percent)| Order {
            amount,
            paid_hour,
            confirm_after_hours,
            early_refund_percent,
            late_refund_percent,
        },
    );
    (
        proptest::collection::vec(order, 1..6),
        5i64..15,
        proptest::collection::vec(any::<u32>(), 30),
        proptest::collection::vec(0usize..30, 0..5),
    )
        .prop_map(|(orders, split_day, shuffle, duplicates)| Case { orders, split_day, shuffle, duplicates })
}

/// Shuffles `events` by the case's keys and repeats some.
fn delivery(case: &Case, events: Vec<OrderEvent>) -> Vec<OrderEvent> {
    let n = events.len();
    let mut keyed: Vec<(u32, OrderEvent)> =
        events.into_iter().enumerate().map(|(i, e)| (case.shuffle[i % case.shuffle.len()], e)).collect();
    for d in &case.duplicates {
        if n > 0 {
            let (k, e) = keyed[d % n].clone();
            keyed.push((k.wrapping_mul(7) ^ 1, e));
        }
    }
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, e)| e).collect()
}

async fn run_case(stack: &Stack, w: &World, c: &Case, n: usize) -> Result<(), TestCaseError> {
    stack.clock.advance(days(25));
    let base: DateTime<Utc> = stack.now() - days(24);
    let at = |hours: i64| base + TimeDelta::hours(hours);
    let ns = format!("c{n}-");
    let (mut early, mut late) = (Vec::new(), Vec::new());
    for (i, o) in c.orders.iter().enumerate() {
        let (order, line_id) = (format!("{ns}o{i}"), format!("{ns}o{i}-l"));
        early.push(paid(
            &order,
            &format!("{ns}b{i}"),
            at(o.paid_hour),
            &w.code,
            vec![line(&line_id, &w.product, &w.supplier, o.amount)],
        ));
        if let Some(h) = o.confirm_after_hours {
            early.push(confirmed(&order, at(o.paid_hour + h)));
        }
        let part = |percent: i64| o.amount * percent / 100;
        if part(o.early_refund_percent) > 0 {
            early.push(refund(
                &format!("{ns}r{i}a"),
                &order,
                &line_id,
                part(o.early_refund_percent),
                at(o.paid_hour + 1),
            ));
        }
        if part(o.late_refund_percent) > 0 {
            late.push(refund(&format!("{ns}r{i}b"), &order, &line_id, part(o.late_refund_percent), at(23 * 24)));
        }
    }
    // Phase one: the orders, shuffled and duplicated; sweep; close the first part of
    // the window; approve, export and pay it.
    for batch in delivery(c, early).chunks(3) {
        stack.ingest(batch.to_vec()).await;
    }
    stack.feeds_caught_up().await;
    sweep(stack).await;
    let first = close(stack, base, base + days(c.split_day), "f1").await.batch.expect("batch");
    approve(stack, &first.batch_id, "f2").await.expect("approve");
    let csv = export(stack, &first.batch_id).await;
    for l in lines(stack, &first.batch_id).await {
        if l.status() == pb::BatchLineStatus::Pending {
            prop_assert!(csv.contains(&l.batch_line_id));
            pay(stack, &l.batch_line_id, pb::PayoutOutcome::Paid, &format!("BANK-{}", l.batch_line_id)).await;
        }
    }
    // Phase two: refunds after payout (clawbacks), then the rest of the window.
    stack.ingest(delivery(c, late)).await;
    stack.feeds_caught_up().await;
    sweep(stack).await;
    // The rest of the window, up to now (a period closes once it has ended).
    close(stack, base + days(c.split_day), stack.now(), "f2").await;

    let ledger = verify(stack).await;
    prop_assert_eq!(minor(&ledger.total), 0);
    prop_assert!(ledger.unbalanced_journals.is_empty(), "{:?}", ledger.unbalanced_journals);
    let books = reconcile(stack, base, base + days(25)).await;
    prop_assert!(books.clean, "{:?}", books.discrepancies);
    prop_assert_eq!(books.lines_checked, c.orders.len() as i64);
    prop_assert!(books.promoters.iter().all(|s| s.balanced) && books.suppliers.iter().all(|s| s.balanced));
    let pool = stack.settlement_db.connect().await;
    // Every batch equals its lines and the ledger: each paid-out line's payable
    // credit at close is its amount, and its share is that of the lines it settled.
    let (mismatched,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM batch_line l
         WHERE l.status <> 'carried_forward' AND (
             l.amount <> -(SELECT COALESCE(sum(p.amount), 0) FROM posting p JOIN journal j USING (journal_id)
                           WHERE j.kind = 'close' AND j.batch_line_id = l.batch_line_id AND p.account = 'promoter_payable')
                         + l.reissued
          OR l.settled_share <> (SELECT COALESCE(sum(settled_share), 0) FROM position WHERE batch_line_id = l.batch_line_id))",
    )
    .fetch_one(&pool)
    .await
    .expect("batches");
    prop_assert_eq!(mismatched, 0);
    Ok(())
}

#[test]
fn the_books_balance_under_any_traffic_and_reconciliation_names_a_tampered_line() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (stack, world) = runtime.block_on(async {
        let stack = spawn().await;
        let world = stack.world().await;
        (stack, world)
    });
    let cases = AtomicUsize::new(0);
    let mut runner = TestRunner::new_with_rng(
        Config { cases: 10, failure_persistence: None, ..Config::default() },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    runner
        .run(&case(), |c| runtime.block_on(run_case(&stack, &world, &c, cases.fetch_add(1, Ordering::SeqCst))))
        .expect("the books stay right");

    runtime.block_on(async {
        let pool = stack.settlement_db.connect().await;
        let (journal, line_id): (uuid::Uuid, String) = sqlx::query_as(
            "SELECT journal_id, line_id FROM journal WHERE kind = 'commission' ORDER BY posted_at LIMIT 1",
        )
        .fetch_one(&pool)
        .await
        .expect("a commission journal");
        sqlx::query(
            "INSERT INTO posting (journal_id, account, party, currency, amount, occurred_at)
             SELECT journal_id, 'supplier_charges', supplier_id, 'CNY', 1, occurred_at FROM journal WHERE journal_id = $1",
        )
        .bind(journal)
        .execute(&pool)
        .await
        .expect("tamper");
        let paid_at: (DateTime<Utc>,) = sqlx::query_as("SELECT paid_at FROM position WHERE line_id = $1")
            .bind(&line_id)
            .fetch_one(&pool)
            .await
            .expect("position");
        let books = reconcile(&stack, paid_at.0 - TimeDelta::hours(1), paid_at.0 + TimeDelta::hours(1)).await;
        assert!(!books.clean);
        let named = books.discrepancies.iter().find(|d| d.kind() == pb::DiscrepancyKind::LineUnbalanced).expect("line named");
        assert_eq!(named.line_id, line_id);
        assert!(books.discrepancies.iter().any(|d| d.kind() == pb::DiscrepancyKind::LedgerUnbalanced));
        assert_eq!(minor(&verify(&stack).await.total), 1);
    });
}
