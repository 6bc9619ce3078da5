//! Driving load and reading it: closed loops at a concurrency (the peak), open loops
//! at a fixed rate (latency at a given load, measured from each call's scheduled
//! start so queueing is not hidden), and the table every figure is printed in.
use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

/// Latencies of the successful calls of one run, and the failures.
#[derive(Debug, Default)]
pub struct Stats {
    pub elapsed: Duration,
    pub latencies_us: Vec<u64>,
    pub errors: u64,
}

impl Stats {
    pub fn ops_per_sec(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The q-quantile latency in milliseconds (q in 0..=1).
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let index = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        self.latencies_us[index] as f64 / 1000.0
    }
}

/// The workers' latencies and failures, once all have finished.
async fn gather(workers: Vec<tokio::task::JoinHandle<(Vec<u64>, u64)>>, start: Instant) -> Stats {
    let mut stats = Stats::default();
    for worker in workers {
        if let Ok((latencies, errors)) = worker.await {
            stats.latencies_us.extend(latencies);
            stats.errors += errors;
        }
    }
    stats.elapsed = start.elapsed();
    stats
}

/// `concurrency` workers call `op(i)` back to back for `duration`.
pub async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, op: F) -> Stats
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut i = w as u64;
                while Instant::now() < deadline {
                    let began = Instant::now();
                    match op(i).await {
                        Ok(()) => latencies.push(began.elapsed().as_micros() as u64),
                        Err(_) => errors += 1,
                    }
                    i += concurrency as u64;
                }
                (latencies, errors)
            })
        })
        .collect();
    gather(workers, start).await
}

/// `concurrency` workers take `items` off one queue and call `op(item)` on each until
/// none is left: a fixed amount of work, its latencies and how long it took.
pub async fn drain<T, F, Fut>(items: Vec<T>, concurrency: usize, op: F) -> Stats
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let queue = Arc::new(std::sync::Mutex::new(items.into_iter().rev().collect::<Vec<_>>()));
    let op = Arc::new(op);
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (queue, op) = (queue.clone(), op.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0);
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some(item) = next else { break };
                    let began = Instant::now();
                    match op(item).await {
                        Ok(()) => latencies.push(began.elapsed().as_micros() as u64),
                        Err(err) => {
                            errors += 1;
                            eprintln!("xiaopu-bench: {err:#}");
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    gather(workers, start).await
}

/// Starts `op(i)` at `rate` per second for `duration`, each on its own task.
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, op: F) -> Stats
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send + 'static,
{
    let op = Arc::new(op);
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let total = (duration.as_secs_f64() * rate) as u64;
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (op, tx) = (op.clone(), tx.clone());
        tokio::spawn(async move {
            let outcome = op(i).await.map(|()| scheduled.elapsed().as_micros() as u64);
            let _ = tx.send(outcome);
        });
    }
    drop(tx);
    let mut stats = Stats::default();
    while let Some(outcome) = rx.recv().await {
        match outcome {
            Ok(us) => stats.latencies_us.push(us),
            Err(_) => stats.errors += 1,
        }
    }
    stats.elapsed = start.elapsed();
    stats
}

/// One row of the report: a figure, its baseline from the same run, and the ratio.
pub struct Row {
    pub operation: String,
    pub figure: String,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub baseline: String,
    pub ratio: Option<f64>,
    pub note: String,
}

pub fn print_table(rows: &[Row]) {
    println!();
    println!("| operation | figure | p50 ms | p99 ms | baseline (same run) | ratio | note |");
    println!("|---|---:|---:|---:|---|---:|---|");
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"));
    for r in rows {
        let ratio = r.ratio.map_or_else(|| "–".to_string(), |v| format!("{:.0}%", v * 100.0));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.operation,
            r.figure,
            ms(r.p50_ms),
            ms(r.p99_ms),
            r.baseline,
            ratio,
            r.note
        );
    }
}

/// Prints a progress line for long runs.
pub fn progress(message: &str) {
    eprintln!("[{}] {message}", chrono::Utc::now().format("%H:%M:%S"));
}
