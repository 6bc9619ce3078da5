//! Promoter groups over time: working out each month's automatic memberships (by last
//! month's commission) and re-deciding what the new members were paid this month.
use chrono::TimeDelta;
use sqlx::PgPool;
use xiaopu_common::time::SharedClock;

use super::Engine;
use crate::store::{self, groups};

/// Works out this month's memberships of every group that promotes by last month's
/// commission and has not been worked out yet; returns how many promoters joined.
/// Each group's month is one transaction holding the read model (as the storefront's
/// feed does), so no batch decides a line against memberships half written.
pub async fn promote_for_month(pool: &PgPool, engine: &Engine, clock: &SharedClock) -> Result<usize, sqlx::Error> {
    let now = clock.now();
    let month = engine.zone.month_of(now);
    let last = engine.zone.month_of(month.start - TimeDelta::microseconds(1));
    let mut joined_total = 0;
    for group in groups::due_for_month(pool, &month.label).await? {
        let mut tx = pool.begin().await?;
        store::own_read_model(&mut tx).await?;
        let Some(joined) = groups::promote_for_month(
            &mut tx,
            &group,
            &month.label,
            (last.start, last.end),
            (month.start, month.end),
            now,
        )
        .await?
        else {
            continue;
        };
        let lines = store::lines::of_promoters_since(&mut tx, &joined, &group.supplier_id, month.start).await?;
        let cause = format!("group:{}:{}", group.group_id, month.label);
        let redecided = engine.reevaluate(&mut tx, lines, &cause, now).await?;
        tx.commit().await?;
        tracing::info!(group = %group.group_id, month = %month.label, joined = joined.len(), redecided, "group month worked out");
        joined_total += joined.len();
    }
    Ok(joined_total)
}
