//! `xiaopu-bench`: starts the services as real processes against PostgreSQL, drives
//! them with real tonic clients, and prints each figure beside a baseline measured in
//! the same run (this 2-core machine is noisy; ratios are what compare).
//!
//! `xiaopu-bench serve` is the trivial baseline server it starts for itself.
mod cpu;
mod harness;
mod profile;
mod scenarios;
mod system;
mod trivial;

use std::{process::ExitCode, time::Duration};

use clap::Parser;

use crate::{harness::Row, scenarios::Options, system::System};

#[derive(Debug, Parser)]
#[command(name = "xiaopu-bench")]
struct Args {
    /// `run` (the default) or `serve` (the baseline server; used by `run`).
    #[arg(default_value = "run")]
    command: String,
    /// Concurrent clients in closed-loop runs.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Run only these scenarios (comma-separated): shop_page, web, listings,
    /// eligibility, ingest, feed, settlement. All by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Superuser URL of the PostgreSQL to benchmark against.
    #[arg(long, env = "XIAOPU_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.command == "serve" {
        return xiaopu_common::service::main::<trivial::Trivial>().await;
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xiaopu-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let admin =
        args.database_url.ok_or_else(|| anyhow::anyhow!("XIAOPU_BENCH_DATABASE_URL is not set (run `make bench`)"))?;
    let options = Options { concurrency: args.concurrency, duration: Duration::from_secs(args.seconds) };
    harness::progress("starting the services (release binaries)");
    let system =
        System::start(&admin, &["bench", "eligibility", "storefront", "attribution", "settlement", "web"]).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = system.memory();

    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let mut rows: Vec<Row> = Vec::new();
    let shop = scenarios::shop_page::build_shop(&system).await?;
    let trivial = scenarios::baseline::trivial(&system, &options).await?;
    if wanted("shop_page") {
        rows.extend(scenarios::shop_page::run(&system, &shop, &trivial, &options).await?);
    }
    if wanted("web") {
        rows.extend(scenarios::web_page::run(&system, &shop, &options).await?);
    }
    if wanted("listings") {
        rows.extend(scenarios::listings::run(&system, &shop, &options).await?);
    }
    if wanted("eligibility") {
        rows.extend(scenarios::eligibility::run(&system, &trivial, &options).await?);
    }
    if wanted("ingest") {
        rows.extend(scenarios::ingest::run(&system, &shop, &options).await?);
    }
    if wanted("feed") {
        rows.extend(scenarios::feed::run(&system, &shop).await?);
    }
    if wanted("settlement") {
        rows.extend(scenarios::settlement::run(&system, &options).await?);
    }

    for (name, rss, _) in &idle {
        rows.push(Row {
            operation: format!("{name}: idle RSS after start"),
            figure: format!("{rss:.1} MiB"),
            p50_ms: None,
            p99_ms: None,
            baseline: String::new(),
            ratio: None,
            note: "target < 50 MB".into(),
        });
    }
    for (name, _, peak) in system.memory() {
        rows.push(Row {
            operation: format!("{name}: peak RSS over the run"),
            figure: format!("{peak:.1} MiB"),
            p50_ms: None,
            p99_ms: None,
            baseline: String::new(),
            ratio: None,
            note: String::new(),
        });
    }
    harness::print_table(&rows);
    Ok(())
}
