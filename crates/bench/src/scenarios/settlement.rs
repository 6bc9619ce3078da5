//! Closing periods of 10k, 100k and 1M settleable lines across 10,000 promoters, and
//! the CSV export of the 1M-line period: seconds, and the settlement process's memory,
//! beside the database doing the bare minimum on the same rows in the same run.
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use xiaopu_api::settlement::{self as pb, settlement_service_client::SettlementServiceClient};
use xiaopu_common::{auth::Role, time::to_timestamp};

use super::Options;
use crate::{
    cpu::CpuSnapshot,
    harness::{Row, progress},
    system::System,
};

const PROMOTERS: i64 = 10_000;
const SIZES: [i64; 3] = [10_000, 100_000, 1_000_000];

/// Seeds `lines` settleable positions paid and settleable inside [from, to), spread
/// over the promoters, with the sweep journals that made them settleable.
async fn seed(pool: &sqlx::PgPool, tag: &str, lines: i64, from: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO position (line_id, promoter_id, order_id, supplier_id, shop_id, product_id, currency, paid_at,
                               confirmed_at, line_state, commission, fee_bps, fee, share, stage, settleable_at, updated_at)
         SELECT $1 || '-' || n, 'promoter-' || (n % $3), $1 || '-o' || n, 'supplier-' || (n % 97), 'shop', 'product', 'CNY',
                $4 + make_interval(secs => n % 86400), $4 + make_interval(secs => n % 86400), 'received',
                2188, 1000, 219, 1969, 'settleable', $4 + make_interval(secs => 3600 + n % 86400), now()
         FROM generate_series(1, $2) AS n",
    )
    .bind(tag)
    .bind(lines)
    .bind(PROMOTERS)
    .bind(from)
    .execute(pool)
    .await?;
    // The sweep journals those lines' settleability was posted with, per promoter.
    sqlx::query(
        "WITH sums AS (
             SELECT promoter_id, sum(share)::bigint AS share, sum(fee)::bigint AS fee, gen_random_uuid() AS j
             FROM position WHERE line_id LIKE $1 || '-%' GROUP BY promoter_id
         ), journals AS (
             INSERT INTO journal (journal_id, kind, promoter_id, occurred_at, posted_at, created_by, memo)
             SELECT j, 'sweep', promoter_id, $2, now(), 'bench-seed', 'seeded' FROM sums
         )
         INSERT INTO posting (journal_id, account, party, currency, amount, occurred_at)
         SELECT j, a.account, CASE WHEN a.account LIKE 'fee%' THEN 'platform' ELSE promoter_id END, 'CNY',
                CASE a.account WHEN 'promoter_estimated' THEN share WHEN 'promoter_settleable' THEN -share
                               WHEN 'fee_estimated' THEN fee ELSE -fee END, $2
         FROM sums CROSS JOIN (VALUES ('promoter_estimated'), ('promoter_settleable'), ('fee_estimated'), ('fee_settleable')) AS a(account)",
    )
    .bind(tag)
    .bind(from)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE position").execute(pool).await?;
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub async fn run(system: &System, _options: &Options) -> anyhow::Result<Vec<Row>> {
    let pool = system.database("settlement").await?;
    let finance = SettlementServiceClient::new(system.client("settlement", Role::Finance, "bench-f1")?);
    let process = system.process("settlement");
    let mut rows = Vec::new();
    let mut seconds = Vec::new();
    let base = Utc::now() - TimeDelta::days(400);
    // Every promoter has a payout profile, or the close would hold their lines. The
    // close only asks whether one exists, so seeded rows carry no sealed details.
    sqlx::query(
        "INSERT INTO payout_profile (promoter_id, method, masked_name, masked_account, bank_name, key_id, sealed, updated_at)
         SELECT 'promoter-' || n, 'alipay', '王*', '138****0000', '', 'bench-seed', '\\x00', now()
         FROM generate_series(0, $1 - 1) AS n ON CONFLICT DO NOTHING",
    )
    .bind(PROMOTERS)
    .execute(&pool)
    .await?;
    for (i, lines) in SIZES.into_iter().enumerate() {
        let from = base + TimeDelta::days(10 * i as i64);
        let to = from + TimeDelta::days(3);
        progress(&format!("settlement: seeding {lines} settleable lines over {PROMOTERS} promoters"));
        let tag = format!("bench{lines}");
        seed(&pool, &tag, lines, from).await?;

        // Baseline: the same rows copied aside and updated in one statement.
        sqlx::query("DROP TABLE IF EXISTS bench_close").execute(&pool).await?;
        sqlx::query("CREATE UNLOGGED TABLE bench_close AS SELECT * FROM position WHERE line_id LIKE $1 || '-%'")
            .bind(&tag)
            .execute(&pool)
            .await?;
        let started = Instant::now();
        sqlx::query("UPDATE bench_close SET stage = 'settled', batch_line_id = NULL, updated_at = now()")
            .execute(&pool)
            .await?;
        let raw = started.elapsed();

        let (rss_before, _) = process.memory_kib().unwrap_or_default();
        progress(&format!("settlement: closing the period of {lines} lines"));
        let cpu = CpuSnapshot::take(system);
        let started = Instant::now();
        let request = pb::ClosePeriodRequest {
            request_id: format!("bench-close-{lines}"),
            from: Some(to_timestamp(from)),
            to: Some(to_timestamp(to)),
        };
        let batch = finance.clone().close_period(request).await?.into_inner().batch.unwrap_or_default();
        let close = started.elapsed();
        let cpu = cpu.since(system);
        let (_, hwm) = process.memory_kib().unwrap_or_default();
        anyhow::ensure!(batch.payable_lines as i64 == PROMOTERS.min(lines), "{} payout lines", batch.payable_lines);
        seconds.push(close.as_secs_f64());
        rows.push(Row {
            operation: format!("close a period of {lines} settleable lines, {PROMOTERS} promoters"),
            figure: format!("{:.2} s", close.as_secs_f64()),
            p50_ms: None,
            p99_ms: None,
            baseline: format!("one UPDATE of the same rows: {:.2} s", raw.as_secs_f64()),
            ratio: Some(raw.as_secs_f64() / close.as_secs_f64()),
            note: format!("service RSS {:.0} MiB before, peak {:.0} MiB; {cpu}", mib(rss_before), mib(hwm)),
        });
        sqlx::query("DROP TABLE IF EXISTS bench_close").execute(&pool).await?;
    }
    if let [_, hundred_k, million] = seconds[..] {
        rows.push(Row {
            operation: "growth: 1M-line close / 100k-line close".into(),
            figure: format!("{:.1}×", million / hundred_k),
            p50_ms: None,
            p99_ms: None,
            baseline: "linear would be 10×".into(),
            ratio: None,
            note: "target ≤ 12×, 1M under 60 s".into(),
        });
    }

    // The CSV export of the 1M-line period, streamed and counted, not kept.
    let from = base + TimeDelta::days(20);
    let to = from + TimeDelta::days(3);
    progress("settlement: exporting the 1M-line period as CSV");
    let (rss_before, _) = process.memory_kib().unwrap_or_default();
    let cpu = CpuSnapshot::take(system);
    let started = Instant::now();
    let request = pb::ExportPeriodReportRequest {
        from: Some(to_timestamp(from)),
        to: Some(to_timestamp(to)),
        ..Default::default()
    };
    let mut stream = finance.clone().export_period_report(request).await?.into_inner();
    let (mut bytes, mut lines) = (0usize, 0usize);
    let mut peak = 0;
    let mut last_probe = Instant::now();
    while let Some(chunk) = stream.message().await? {
        bytes += chunk.data.len();
        lines += chunk.data.iter().filter(|b| **b == b'\n').count();
        if last_probe.elapsed() > Duration::from_millis(200) {
            peak = peak.max(process.memory_kib().map_or(0, |(rss, _)| rss));
            last_probe = Instant::now();
        }
    }
    let export = started.elapsed();
    let cpu = cpu.since(system);
    peak = peak.max(process.memory_kib().map_or(0, |(rss, _)| rss));
    anyhow::ensure!(lines as i64 == SIZES[2] + 1, "{lines} CSV lines");
    let mut conn = pool.acquire().await?;
    let started = Instant::now();
    let mut copy = conn
        .copy_out_raw(&format!(
            "COPY (SELECT * FROM position WHERE paid_at >= '{}' AND paid_at < '{}' ORDER BY paid_at, line_id, promoter_id) TO STDOUT (FORMAT csv)",
            from.to_rfc3339(),
            to.to_rfc3339()
        ))
        .await?;
    let mut copied = 0usize;
    while let Some(chunk) = futures::StreamExt::next(&mut copy).await {
        copied += chunk?.len();
    }
    let raw = started.elapsed();
    rows.push(Row {
        operation: format!("CSV export of the 1M-line period ({:.0} MB)", bytes as f64 / 1e6),
        figure: format!("{:.2} s", export.as_secs_f64()),
        p50_ms: None,
        p99_ms: None,
        baseline: format!(
            "COPY … TO STDOUT of the same rows ({:.0} MB): {:.2} s",
            copied as f64 / 1e6,
            raw.as_secs_f64()
        ),
        ratio: Some(raw.as_secs_f64() / export.as_secs_f64()),
        note: format!("service RSS growth {:.1} MiB (target < 100 MB); {cpu}", mib(peak.saturating_sub(rss_before))),
    });
    Ok(rows)
}
