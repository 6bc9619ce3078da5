//! The attribution database: the storefront read model, the raw inputs, and the
//! order lines with their decisions. Batch operations are set-based (one statement
//! over arrays), so ingesting a thousand events costs a handful of round trips.
pub mod budgets;
pub mod groups;
pub mod inputs;
pub mod lines;
pub mod read_model;
pub mod risk;
pub mod views;

use sqlx::PgConnection;

/// Advisory-lock namespace of attribution (first key of the two-key form).
const LOCK_NAMESPACE: i32 = 0x5850_4154; // "XPAT"

/// Starts an ingest transaction: takes the read model for reading (any number of
/// ingests at once, but not while the storefront's feed is being applied, which
/// re-decides the lines it affects), and plans every statement for the tables as
/// they are now (`xiaopu_common::db::plan_for_current_size`, folded into the same
/// round trip).
pub async fn begin_ingest(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock_shared($1, -1), set_config('plan_cache_mode', 'force_custom_plan', true)",
        LOCK_NAMESPACE
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// Takes the read model for writing (the feed consumer).
pub async fn own_read_model(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1, -1)", LOCK_NAMESPACE).execute(conn).await?;
    Ok(())
}

/// Locks the given keys (sorted, so concurrent batches never deadlock) as rows of
/// `ingest_lock`, creating those not seen before. `DO UPDATE … WHERE false` locks an
/// existing row without writing a new version of it; the table is unlogged, so
/// neither costs WAL (after a crash it starts empty, which loses no lock).
pub async fn lock_keys(conn: &mut PgConnection, keys: &[i64]) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO ingest_lock (key) SELECT k FROM UNNEST($1::bigint[]) AS t(k) ORDER BY k
         ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key WHERE false",
        keys
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the `ingest_lock` rows no transaction holds, a chunk at a time so no
/// statement runs long; returns how many went. Safe beside ingest: a batch whose
/// key is deleted under it inserts the key afresh and holds that.
pub async fn prune_ingest_locks(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    const CHUNK: i64 = 10_000;
    let mut deleted = 0;
    loop {
        let gone = sqlx::query!(
            "DELETE FROM ingest_lock WHERE key IN (SELECT key FROM ingest_lock LIMIT $1 FOR UPDATE SKIP LOCKED)",
            CHUNK
        )
        .execute(pool)
        .await?
        .rows_affected();
        deleted += gone;
        if gone < CHUNK as u64 {
            return Ok(deleted);
        }
    }
}
