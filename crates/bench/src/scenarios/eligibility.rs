//! Eligibility checks (what the storefront asks when a promoter opens a shop) over
//! 1000 scored people: the peak beside the trivial tonic server and beside the same
//! row read raw from the same database at the same concurrency.
use futures::{StreamExt, stream};
use xiaopu_api::eligibility::{
    CheckEligibilityRequest, RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient,
};
use xiaopu_common::auth::Role;

use super::{Options, baseline::Trivial};
use crate::{
    cpu::CpuSnapshot,
    harness::{Row, closed_loop, progress},
    system::System,
};

const PEOPLE: u64 = 1000;

fn person(i: u64) -> String {
    format!("bench-person-{}", i % PEOPLE)
}

pub async fn run(system: &System, trivial: &Trivial, options: &Options) -> anyhow::Result<Vec<Row>> {
    progress("eligibility: scoring 1000 people");
    let bureau = EligibilityServiceClient::new(system.client("eligibility", Role::Service, "bureau")?);
    stream::iter(0..PEOPLE)
        .map(|i| {
            let mut client = bureau.clone();
            async move {
                let request = RecordCreditScoreRequest {
                    request_id: format!("bench-score-{i}"),
                    person_id: person(i),
                    score: 550 + (i % 400) as i32,
                    source: "bench".into(),
                    observed_at: None,
                };
                client.record_credit_score(request).await.map(|_| ())
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<()>, _>>()?;

    progress("eligibility: checks at the peak");
    let storefront = EligibilityServiceClient::new(system.client("eligibility", Role::Service, "storefront")?);
    let cpu = CpuSnapshot::take(system);
    let mut checks = closed_loop(options.concurrency, options.duration, move |i| {
        let mut client = storefront.clone();
        async move { client.check_eligibility(CheckEligibilityRequest { person_id: person(i * 7) }).await.map(|_| ()) }
    })
    .await;

    let cpu = cpu.since(system);
    progress("eligibility: the same row read raw");
    let pool = system.database("eligibility").await?;
    let mut raw = closed_loop(options.concurrency, options.duration, move |i| {
        let pool = pool.clone();
        async move {
            sqlx::query("SELECT * FROM promoter WHERE person_id = $1")
                .bind(person(i * 7))
                .fetch_optional(&pool)
                .await
                .map(|_| ())
                .map_err(|e| tonic::Status::unavailable(e.to_string()))
        }
    })
    .await;
    Ok(vec![
        Row {
            operation: format!("eligibility checks, {} clients", options.concurrency),
            figure: format!("{:.0} req/s", checks.ops_per_sec()),
            p50_ms: Some(checks.quantile_ms(0.5)),
            p99_ms: Some(checks.quantile_ms(0.99)),
            baseline: trivial.describe(),
            ratio: Some(checks.ops_per_sec() / trivial.ops_per_sec),
            note: format!("{} errors; {cpu}", checks.errors),
        },
        Row {
            operation: "  the same row read raw (sqlx, same concurrency)".into(),
            figure: format!("{:.0} rows/s", raw.ops_per_sec()),
            p50_ms: Some(raw.quantile_ms(0.5)),
            p99_ms: Some(raw.quantile_ms(0.99)),
            baseline: String::new(),
            ratio: Some(checks.ops_per_sec() / raw.ops_per_sec()),
            note: "ratio: checks / raw reads".into(),
        },
    ])
}
