//! Background work of attribution.
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use xiaopu_common::{schedule::every, time::SharedClock};

use crate::app::{Engine, groups};

/// How often `ingest_lock` is emptied of rows nobody holds.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Keeps `ingest_lock` from growing with every order and buyer ever seen: its rows
/// matter only while a batch holds them, and a batch recreates the ones it needs.
pub async fn prune_ingest_locks(pool: PgPool, shutdown: CancellationToken) {
    every("pruning ingest locks", PRUNE_EVERY, shutdown, || async {
        let deleted = crate::store::prune_ingest_locks(&pool).await?;
        tracing::debug!(deleted, "ingest locks pruned");
        Ok::<_, sqlx::Error>(())
    })
    .await;
}

/// Works out each month's automatic group memberships soon after the month begins
/// (a round finds nothing to do until the next month).
pub async fn promote_groups(
    pool: PgPool,
    engine: Engine,
    clock: SharedClock,
    interval: Duration,
    shutdown: CancellationToken,
) {
    every("working out group memberships", interval, shutdown, || async {
        groups::promote_for_month(&pool, &engine, &clock).await
    })
    .await;
}
