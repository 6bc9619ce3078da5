//! What a settlement database says about money, in a form two instances can be
//! compared by: a crashed one against a control that never crashed.
use sqlx::PgPool;
use xiaopu_api::settlement::{self as st, settlement_service_client::SettlementServiceClient};
use xiaopu_common::auth::Role;

use crate::{system::System, world::minor};

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.expect(sql);
    n
}

/// Each account's balance per party.
pub type Balances = Vec<(String, String, i64)>;
/// Each promoter's batch line: promoter, status, settled share, fee, amount, lines.
pub type BatchLines = Vec<(String, String, i64, i64, i64, i32)>;

/// The balances, how many of attribution's events were applied, and the batch lines.
pub async fn books(pool: &PgPool) -> (Balances, i64, BatchLines) {
    let balances = sqlx::query_as(
        "SELECT account, party, sum(amount)::bigint FROM posting GROUP BY account, party ORDER BY account, party",
    )
    .fetch_all(pool)
    .await
    .expect("balances");
    let applied = count(pool, "SELECT count(*) FROM feed_inbox WHERE feed = 'attribution'").await;
    let lines = sqlx::query_as(
        "SELECT promoter_id, status, settled_share, service_fee, amount, order_lines FROM batch_line ORDER BY promoter_id",
    )
    .fetch_all(pool)
    .await
    .expect("batch lines");
    (balances, applied, lines)
}

/// `other` and `control` each applied all `published` events exactly once and hold
/// the same balances; `what` says what happened to `other`.
pub async fn assert_same_books(control: &PgPool, other: &PgPool, published: i64, what: &str) {
    let (control_balances, control_applied, _) = books(control).await;
    let (balances, applied, _) = books(other).await;
    assert_eq!(control_applied, published, "the control applied every event once");
    assert_eq!(applied, published, "{what}: every event applied exactly once");
    assert_eq!(balances, control_balances, "{what}: the ledger is the control's");
}

/// Settlement instance `instance` says its ledger sums to zero, every journal balanced.
pub async fn assert_ledger_balanced(system: &System, instance: &str) {
    let mut finance = SettlementServiceClient::new(system.client(instance, Role::Finance, "fiona"));
    let ledger = finance.verify_ledger(st::VerifyLedgerRequest {}).await.expect("verify").into_inner();
    assert_eq!(minor(&ledger.total), 0, "the ledger sums to zero");
    assert!(ledger.unbalanced_journals.is_empty(), "{:?}", ledger.unbalanced_journals);
}
