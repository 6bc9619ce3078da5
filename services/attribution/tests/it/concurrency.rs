//! Batches lock exactly the orders and buyers they touch: two batches that share
//! none apply side by side, and one that shares a buyer waits for the other (the
//! wait that keeps a late click or a confirmation from being lost). Pruning the lock
//! rows never takes one a batch holds.
use std::time::Duration;

use chrono::TimeDelta;
use xiaopu_api::attribution::{self as pb, EventOutcome};
use xiaopu_attribution::{domain::locks, store};
use xiaopu_common::testing::eventually;

use crate::support::{line, paid, spawn};

fn orders(prefix: &str, n: usize, code: &str, product: &str, at: chrono::DateTime<chrono::Utc>) -> Vec<pb::OrderEvent> {
    (0..n)
        .map(|i| {
            let lines = vec![line(&format!("{prefix}-l{i}"), product, "s1", 1000)];
            paid(&format!("{prefix}-o{i}"), &format!("{prefix}-buyer{i}"), at, code, lines)
        })
        .collect()
}

/// Every event applied, or the first that did not.
fn assert_all_applied(results: &[pb::EventResult]) {
    let refused = results.iter().find(|r| r.outcome() != EventOutcome::Applied);
    assert!(refused.is_none(), "{} events, not all applied: {refused:?}", results.len());
}

/// Backends of this database waiting on a lock held by another transaction.
async fn lock_waiters(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
    )
    .fetch_one(pool)
    .await
    .expect("pg_stat_activity")
}

#[tokio::test]
async fn batches_touching_disjoint_orders_and_buyers_do_not_wait_for_each_other() {
    let app = spawn().await;
    let w = app.world().await;
    let at = w.since + TimeDelta::hours(1);
    app.clock.advance(TimeDelta::days(1));
    let pool = app.pool().await;

    // Batch A's orders and buyers held by an open transaction, as a slow batch A
    // holds them while it applies (the same function ingest locks with).
    let keys: Vec<String> = (0..500)
        .flat_map(|i| [locks::order_key(&format!("a-o{i}")), locks::buyer_key(&format!("a-buyer{i}"))])
        .collect();
    let mut batch_a = pool.begin().await.expect("begin");
    store::lock_keys(&mut batch_a, &locks::keys(keys.iter().map(String::as_str))).await.expect("lock A's keys");

    // B: 500 other orders of 500 other buyers. With 1000 keys against A's 1000, any
    // bucketed scheme would share a bucket and wait here until A ends.
    let batch_b = orders("b", 500, &w.code, &w.product, at);
    let results = tokio::time::timeout(Duration::from_secs(20), app.ingest(batch_b))
        .await
        .expect("a batch sharing no order or buyer with A applies while A holds its locks");
    assert_all_applied(&results);
    assert_eq!(lock_waiters(&pool).await, 0, "nobody waited");

    // C: one order of a buyer A holds. It waits on A's lock, and applies once A ends.
    let batch_c = vec![paid("c-o1", "a-buyer7", at, &w.code, vec![line("c-l1", &w.product, "s1", 1000)])];
    let ingest_c = app.ingest(batch_c);
    tokio::pin!(ingest_c);
    tokio::select! {
        results = &mut ingest_c => panic!("a batch sharing a buyer with A applied while A held it: {results:?}"),
        () = eventually("C waits on A's lock", Duration::from_secs(10), || async {
            (lock_waiters(&pool).await == 1).then_some(())
        }) => {}
    }
    batch_a.commit().await.expect("A ends");
    let results = tokio::time::timeout(Duration::from_secs(10), ingest_c).await.expect("C applies after A");
    assert_all_applied(&results);
}

#[tokio::test]
async fn pruning_deletes_the_lock_rows_nobody_holds_and_keeps_the_held_ones() {
    let app = spawn().await;
    let pool = app.pool().await;
    let ids = |names: &[&str]| locks::keys(names.iter().copied());
    let mut conn = pool.acquire().await.expect("conn");
    // Four rows from earlier batches (autocommit: locked, then released).
    store::lock_keys(&mut conn, &ids(&["order:a", "order:b", "buyer:c", "order:held"])).await.expect("earlier");
    let held_key = ids(&["order:held"]);
    let mut holder = pool.begin().await.expect("begin");
    store::lock_keys(&mut holder, &held_key).await.expect("held");

    let deleted = tokio::time::timeout(Duration::from_secs(10), store::prune_ingest_locks(&pool))
        .await
        .expect("pruning skips held rows rather than waiting for them")
        .expect("prune");
    assert_eq!(deleted, 3, "the three released rows");
    let left: Vec<i64> = sqlx::query_scalar("SELECT key FROM ingest_lock").fetch_all(&pool).await.expect("left");
    assert_eq!(left, held_key, "the held row stays");
    holder.commit().await.expect("release");
    // A key pruned away is simply locked afresh.
    store::lock_keys(&mut conn, &ids(&["order:a"])).await.expect("relock");
}
