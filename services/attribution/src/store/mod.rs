//! The attribution database: the storefront read model, the raw inputs, and the
//! order lines with their decisions. Batch operations are set-based (one statement
//! over arrays), so ingesting a thousand events costs a handful of round trips.
pub mod inputs;
pub mod lines;
pub mod read_model;
pub mod views;

use sqlx::PgConnection;

/// Advisory-lock namespace of attribution (first key of the two-key form).
const LOCK_NAMESPACE: i32 = 0x5850_4154; // "XPAT"

/// Takes the read model for reading: any number of ingests at once, but not while
/// the storefront's feed is being applied (which re-decides the lines it affects).
pub async fn share_read_model(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock_shared($1, -1)", LOCK_NAMESPACE).execute(conn).await?;
    Ok(())
}

/// Takes the read model for writing (the feed consumer).
pub async fn own_read_model(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1, -1)", LOCK_NAMESPACE).execute(conn).await?;
    Ok(())
}

/// Locks the given buckets (sorted, so concurrent batches never deadlock).
pub async fn lock_buckets(conn: &mut PgConnection, buckets: &[i32]) -> Result<(), sqlx::Error> {
    if buckets.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "SELECT count(pg_advisory_xact_lock($1, b)) FROM UNNEST($2::int[]) WITH ORDINALITY AS t(b, n)",
        LOCK_NAMESPACE,
        buckets
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}
