//! The scheduled job: confirmed lines whose after-sale hold has passed become
//! settleable. Safe anywhere, any number of times: the sweep takes a database lock
//! (another replica's run is skipped, not repeated) and each row moves once under
//! its row lock.
use std::time::Duration;

use chrono::TimeDelta;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use xiaopu_common::{ids::PromoterId, schedule::every, time::SharedClock};
use xiaopu_money::Minor;

use crate::{
    Error,
    domain::{
        Split,
        ledger::{self, JournalKind},
    },
    store::{self, Journal},
};

/// Moves what is due; returns how many lines moved (0 when another run holds the lock).
pub async fn run(pool: &PgPool, clock: &SharedClock, hold: TimeDelta) -> Result<i64, Error> {
    let mut tx = pool.begin().await?;
    if !store::try_lock(&mut tx, store::SWEEP_LOCK).await? {
        return Ok(0);
    }
    let now = clock.now();
    let moved = store::positions::sweep(&mut tx, now, hold.as_seconds_f64()).await?;
    let journals = moved
        .iter()
        .map(|m| {
            Ok(Journal {
                kind: JournalKind::Sweep,
                line_id: None,
                promoter_id: Some(m.promoter_id.clone()),
                supplier_id: None,
                batch_line_id: None,
                source_event_id: None,
                occurred_at: now,
                created_by: "settleable-sweep".into(),
                memo: format!("{} lines past the after-sale hold", m.lines),
                currency: m.currency.clone(),
                postings: ledger::sweep(
                    &PromoterId::new(&m.promoter_id),
                    Split {
                        commission: Minor::new(m.share + m.fee),
                        fee: Minor::new(m.fee),
                        share: Minor::new(m.share),
                    },
                )?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    store::post(&mut tx, &journals, now).await?;
    tx.commit().await?;
    let lines: i64 = moved.iter().map(|m| m.lines).sum();
    if lines > 0 {
        tracing::info!(lines, promoters = moved.len(), "lines became settleable");
    }
    Ok(lines)
}

/// Runs the sweep every `interval` until shutdown.
pub async fn schedule(
    pool: PgPool,
    clock: SharedClock,
    hold: TimeDelta,
    interval: Duration,
    shutdown: CancellationToken,
) {
    every("settleable sweep", interval, shutdown, || run(&pool, &clock, hold)).await;
}
