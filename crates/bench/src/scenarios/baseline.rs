//! The gRPC ceiling: a trivial unary tonic service built with the same server stack
//! (auth, tracing, limits), answering a constant. Measured once per run and shared by
//! the read scenarios.
use xiaopu_api::bench::{EchoRequest, bench_service_client::BenchServiceClient};
use xiaopu_common::auth::Role;

use super::Options;
use crate::{
    harness::{closed_loop, progress},
    system::System,
};

pub struct Trivial {
    pub ops_per_sec: f64,
    pub p99_ms: f64,
}

impl Trivial {
    /// The baseline column of a row.
    pub fn describe(&self) -> String {
        format!("trivial tonic, same stack: {:.0}/s (p99 {:.2} ms)", self.ops_per_sec, self.p99_ms)
    }
}

pub async fn trivial(system: &System, options: &Options) -> anyhow::Result<Trivial> {
    progress("baseline: the trivial server's peak");
    let echo = BenchServiceClient::new(system.client("bench", Role::Service, "web")?);
    let mut stats = closed_loop(options.concurrency, options.duration, move |_| {
        let mut client = echo.clone();
        async move { client.echo(EchoRequest { payload: "ping".into() }).await.map(|_| ()) }
    })
    .await;
    Ok(Trivial { ops_per_sec: stats.ops_per_sec(), p99_ms: stats.quantile_ms(0.99) })
}
