//! Reconciliation while settlement lags attribution: a line attribution changed after
//! the last event settlement applied is in flight, not a discrepancy — and a real
//! discrepancy beside it is still one.
use xiaopu_api::settlement::DiscrepancyKind;
use xiaopu_testkit::events::refund;

use crate::support::{days, reconcile, sale, spawn};

#[tokio::test]
async fn a_change_settlement_has_not_applied_yet_is_in_flight_not_a_discrepancy() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(20));
    let s = w.since;
    sale(&stack, &w, "o1", 99_000, s + days(1), s + days(2)).await;
    sale(&stack, &w, "o2", 99_000, s + days(1), s + days(2)).await;
    let books = reconcile(&stack, s, s + days(10)).await;
    assert!(books.clean && books.in_flight.is_empty() && books.backlog_events == 0, "{books:?}");
    assert_eq!(books.lines_checked, 2);

    // Settlement's consumer cannot commit while its cursor row is held: the refund it
    // receives stays in flight.
    let pool = sqlx::PgPool::connect(&stack.settlement_db.url).await.expect("db");
    let mut held = pool.begin().await.expect("tx");
    sqlx::query("SELECT 1 FROM feed_cursor WHERE feed = 'attribution' FOR UPDATE")
        .execute(&mut *held)
        .await
        .expect("hold the cursor");
    stack.ingest(vec![refund("r1", "o1", "o1-l", 49_500, s + days(3))]).await;
    // And a real difference on o2: the ledger's commission altered behind its back.
    sqlx::query("UPDATE position SET commission = commission + 100, share = share + 100 WHERE line_id = 'o2-l'")
        .execute(&pool)
        .await
        .expect("tamper");

    let books = reconcile(&stack, s, s + days(10)).await;
    let in_flight: Vec<&str> = books.in_flight.iter().map(|d| d.line_id.as_str()).collect();
    assert_eq!(in_flight, ["o1-l"], "{books:?}");
    assert_eq!(books.in_flight[0].kind(), DiscrepancyKind::CommissionMismatch);
    assert!(books.backlog_events >= 1);
    assert!(!books.clean, "o2's difference is real");
    assert!(
        books.discrepancies.iter().any(|d| d.line_id == "o2-l" && d.kind() == DiscrepancyKind::CommissionMismatch),
        "{:?}",
        books.discrepancies
    );
    assert!(books.discrepancies.iter().all(|d| d.line_id != "o1-l"), "o1 is not a discrepancy");

    held.rollback().await.expect("release");
    sqlx::query("UPDATE position SET commission = commission - 100, share = share - 100 WHERE line_id = 'o2-l'")
        .execute(&pool)
        .await
        .expect("untamper");
    stack.feeds_caught_up().await;
    let books = reconcile(&stack, s, s + days(10)).await;
    assert!(books.clean && books.in_flight.is_empty() && books.backlog_events == 0, "caught up: {books:?}");
}
