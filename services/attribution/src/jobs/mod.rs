//! Background work of attribution.
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// How often `ingest_lock` is emptied of rows nobody holds.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Keeps `ingest_lock` from growing with every order and buyer ever seen: its rows
/// matter only while a batch holds them, and a batch recreates the ones it needs.
pub async fn prune_ingest_locks(pool: PgPool, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(PRUNE_EVERY) => {}
            () = shutdown.cancelled() => return,
        }
        match crate::store::prune_ingest_locks(&pool).await {
            Ok(deleted) => tracing::debug!(deleted, "ingest locks pruned"),
            Err(err) => tracing::warn!(error = %err, "pruning ingest locks failed; retrying next round"),
        }
    }
}
