//! `xiaopu health`: the standard gRPC health check of every service.
use std::time::{Duration, Instant};

use clap::Args;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::Context;

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Keep asking until every service is SERVING, for at most this many seconds.
    #[arg(long)]
    wait: Option<u64>,
}

pub async fn run(ctx: &Context, args: HealthArgs) -> anyhow::Result<()> {
    let services = [
        ("eligibility", ctx.connection.eligibility_url.as_str()),
        ("storefront", ctx.connection.storefront_url.as_str()),
        ("attribution", ctx.connection.attribution_url.as_str()),
        ("settlement", ctx.connection.settlement_url.as_str()),
    ];
    let deadline = args.wait.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        let mut all_serving = true;
        let mut lines = Vec::new();
        for (name, url) in services {
            let status = check(ctx, url).await;
            all_serving &= status == "SERVING";
            lines.push(format!("{name:<12} {url:<28} {status}"));
        }
        let waiting = deadline.is_some_and(|d| Instant::now() < d);
        if all_serving || !waiting {
            for line in lines {
                println!("{line}");
            }
            anyhow::ensure!(all_serving, "not every service is serving");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn check(ctx: &Context, url: &str) -> String {
    let channel = match ctx.connection.connect(url) {
        Ok(channel) => channel,
        Err(err) => return format!("UNREACHABLE ({err})"),
    };
    match HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await {
        Ok(answer) => match answer.into_inner().status() {
            ServingStatus::Serving => "SERVING".into(),
            other => format!("{other:?}").to_uppercase(),
        },
        Err(status) => format!("UNREACHABLE ({})", status.code()),
    }
}
