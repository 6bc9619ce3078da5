//! Background work on a timer, the same way in every service: a round every
//! `interval` until shutdown; a failed round is logged and the next one tries again
//! (each round must be safe to repeat).
use std::{fmt::Display, future::Future, time::Duration};

use tokio_util::sync::CancellationToken;

/// Runs `round` every `interval` until `shutdown`, logging a failure as `what`.
pub async fn every<F, Fut, T, E>(what: &'static str, interval: Duration, shutdown: CancellationToken, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(err) = round().await {
            tracing::warn!(error = %err, "{what} failed; retrying next round");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn rounds_go_on_after_a_failure_and_stop_at_shutdown() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let counted = rounds.clone();
        let job = tokio::spawn(every("a test round", Duration::from_millis(5), shutdown.clone(), move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move { if n == 0 { Err("the first round fails") } else { Ok(()) } }
        }));
        while rounds.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), job).await.expect("stops at shutdown").expect("no panic");
    }
}
