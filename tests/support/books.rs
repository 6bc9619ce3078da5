//! What a settlement database says about money, in a form two instances can be
//! compared by: a crashed one against a control that never crashed.
use sqlx::PgPool;

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
