//! Clicks and paid-order lines ingested end to end (gRPC → attribution rules →
//! PostgreSQL with the outbox) at batch sizes 1, 100 and 1000, beside the same rows
//! written raw into the same database in the same run: a batched UNNEST INSERT, and
//! for the largest batches COPY.
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use xiaopu_api::{
    attribution::{self as pb, attribution_service_client::AttributionServiceClient, order_event},
    types::Money,
};
use xiaopu_common::{auth::Role, grpc_client::Upstream, time::to_timestamp};
use xiaopu_testkit::world;

use super::{Options, shop_page::BenchShop};
use crate::{
    cpu::CpuSnapshot,
    harness::{Row, drain, progress},
    profile::StatementProfile,
    system::System,
};

/// (batch size, concurrent clients, lines per run).
const RUNS: [(usize, usize, usize); 3] = [(1, 16, 4_000), (100, 4, 40_000), (1000, 2, 60_000)];

/// One paid order of one line, as the order system sends it.
#[derive(Clone)]
pub(super) struct Input {
    order_id: String,
    line_id: String,
    buyer_id: String,
    product_id: String,
}

pub(super) fn inputs(run: &str, n: usize, products: &[String]) -> Vec<Input> {
    (0..n)
        .map(|i| Input {
            order_id: format!("{run}-o{i}"),
            line_id: format!("{run}-l{i}"),
            buyer_id: format!("{run}-b{i}"),
            product_id: products[i % products.len()].clone(),
        })
        .collect()
}

pub(super) fn event(input: &Input, supplier: &str, code: &str) -> pb::OrderEvent {
    pb::OrderEvent {
        event: Some(order_event::Event::OrderPaid(pb::OrderPaid {
            event_id: format!("paid-{}", input.order_id),
            order_id: input.order_id.clone(),
            buyer_id: input.buyer_id.clone(),
            paid_at: Some(to_timestamp(Utc::now())),
            lines: vec![pb::PaidLine {
                line_id: input.line_id.clone(),
                product_id: input.product_id.clone(),
                supplier_id: supplier.into(),
                quantity: 1,
                paid_amount: Some(Money { minor_units: 19900, currency: "CNY".into() }),
            }],
            share_code: code.into(),
        })),
    }
}

fn chunks<T: Clone>(items: &[T], size: usize) -> Vec<Vec<T>> {
    items.chunks(size).map(<[T]>::to_vec).collect()
}

/// Rows per second of a drained run, or an error if any call failed.
fn rate(stats: &crate::harness::Stats, rows: usize) -> anyhow::Result<f64> {
    anyhow::ensure!(stats.errors == 0, "{} calls failed", stats.errors);
    Ok(rows as f64 / stats.elapsed.as_secs_f64())
}

/// The bench promoter's WeChat share code for the shop, once attribution knows it.
pub(super) async fn share_code(system: &System, shop: &BenchShop) -> anyhow::Result<String> {
    let code = world::share_shop(system, "bench-promoter", &shop.shop_id).await;
    let attribution_db = system.database("attribution").await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let known: Option<(String,)> = sqlx::query_as("SELECT code FROM rm_share_link WHERE code = $1")
            .bind(&code)
            .fetch_optional(&attribution_db)
            .await?;
        if known.is_some() {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "attribution did not catch up with the storefront");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(code)
}

pub async fn run(system: &System, shop: &BenchShop, _options: &Options) -> anyhow::Result<Vec<Row>> {
    progress("ingest: a share code for the shop, and attribution catching up with the storefront");
    let code = share_code(system, shop).await?;
    let attribution_db = system.database("attribution").await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_raw (line_id text PRIMARY KEY, order_id text, buyer_id text, paid_at timestamptz,
                                               product_id uuid, supplier_id text, quantity int, currency text, paid_minor bigint)",
    )
    .execute(&attribution_db)
    .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_raw_click (event_id text PRIMARY KEY, share_code text, visitor_id text,
                                                     clicked_at timestamptz)",
    )
    .execute(&attribution_db)
    .await?;

    let target = Target {
        system,
        client: AttributionServiceClient::new(system.client("attribution", Role::Service, "order-system")?),
        pool: attribution_db,
        supplier: shop.supplier_id.clone(),
        code,
        products: shop.products.clone(),
    };
    let mut rows = Vec::new();
    for kind in [Kind::Click, Kind::Paid] {
        for (batch, clients, total) in RUNS {
            rows.extend(measure(&target, kind, batch, clients, total).await?);
        }
    }
    rows.extend(replicas(&target).await?);
    Ok(rows)
}

/// Sends the batches round-robin over `clients` (attribution processes),
/// `concurrency` at a time; every event must apply.
async fn send(
    clients: Vec<AttributionServiceClient<Upstream>>,
    batches: Vec<Vec<pb::OrderEvent>>,
    concurrency: usize,
) -> crate::harness::Stats {
    let turn = Arc::new(AtomicUsize::new(0));
    drain(batches, concurrency, move |events: Vec<pb::OrderEvent>| {
        let mut client = clients[turn.fetch_add(1, Ordering::Relaxed) % clients.len()].clone();
        async move {
            let answer = client.ingest_events(pb::IngestEventsRequest { events }).await?.into_inner();
            let applied = answer.results.iter().filter(|r| r.outcome() == pb::EventOutcome::Applied).count();
            anyhow::ensure!(applied == answer.results.len(), "{} of {} applied", applied, answer.results.len());
            Ok(())
        }
    })
    .await
}

/// Paid lines at batch 1000 through one attribution process, then through two on
/// the same database (the batches alternating between them), in the same run.
async fn replicas(target: &Target<'_>) -> anyhow::Result<Vec<Row>> {
    const BATCH: usize = 1000;
    const CLIENTS: usize = 4;
    const TOTAL: usize = 40_000;
    let batches = |run: &str| -> Vec<Vec<pb::OrderEvent>> {
        inputs(run, TOTAL, &target.products)
            .chunks(BATCH)
            .map(|chunk| chunk.iter().map(|i| target.event(Kind::Paid, i)).collect())
            .collect()
    };
    progress(&format!("ingest: {TOTAL} paid-order lines in batches of {BATCH}, {CLIENTS} clients, one replica"));
    let one = rate(&send(vec![target.client.clone()], batches("rep1"), CLIENTS).await, TOTAL)?;
    progress("ingest: the same through two replicas on the same database");
    let replica = target.system.spawn("attribution", "attribution", false, &[]).await?;
    let second =
        AttributionServiceClient::new(target.system.client_at(&replica.url(), Role::Service, "order-system")?);
    let cpu = CpuSnapshot::take(target.system);
    let two = rate(&send(vec![target.client.clone(), second], batches("rep2"), CLIENTS).await, TOTAL)?;
    let cpu = cpu.since(target.system);
    drop(replica);
    Ok(vec![Row {
        operation: format!("paid-order lines, batch {BATCH}, {CLIENTS} clients, two attribution replicas"),
        figure: format!("{two:.0} lines/s"),
        p50_ms: None,
        p99_ms: None,
        baseline: format!("one replica, same clients: {one:.0} lines/s"),
        ratio: Some(two / one),
        note: format!("target ≥ 150%; {cpu} (the second replica's CPU is not in this list)"),
    }])
}

/// The same paid lines as finished `order_line` rows written raw into a copy of the
/// table with all its indexes and checks, by the same batches and clients.
async fn same_rows_rate(target: &Target<'_>, batch: usize, clients: usize, total: usize) -> anyhow::Result<f64> {
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_line (LIKE order_line INCLUDING ALL)").execute(&target.pool).await?;
    let data = inputs(&format!("line{batch}"), total, &target.products);
    let (pool, supplier, code) = (target.pool.clone(), target.supplier.clone(), target.code.clone());
    let stats = drain(chunks(&data, batch), clients, move |chunk: Vec<Input>| {
        let (pool, supplier, code) = (pool.clone(), supplier.clone(), code.clone());
        async move { raw_insert_lines(&pool, &chunk, &supplier, &code).await }
    })
    .await;
    rate(&stats, total)
}

async fn raw_insert_lines(pool: &sqlx::PgPool, chunk: &[Input], supplier: &str, code: &str) -> anyhow::Result<()> {
    let column = |f: fn(&Input) -> &str| chunk.iter().map(|i| f(i).to_owned()).collect::<Vec<String>>();
    let products: Vec<uuid::Uuid> = chunk.iter().filter_map(|i| uuid::Uuid::parse_str(&i.product_id).ok()).collect();
    sqlx::query(
        "INSERT INTO bench_line (line_id, order_id, buyer_id, paid_at, order_code, product_id, supplier_id, quantity,
                                 currency, paid_minor, refunded_minor, state, attributed, reason, summary, promoter_id,
                                 shop_id, share_code, rate_id, rate_bps, commission_minor, decided_at, updated_at)
         SELECT l, o, b, $4, $7, p, $6, 1, 'CNY', 19900, 0, 'paid', true, 'ATTRIBUTED',
                'Attributed to bench-promoter: the order carries share code ' || $7 || ' of their shop; rate 500 bps.',
                'bench-promoter', $8, $7, $8, 500, 995, $4, $4
         FROM UNNEST($1::text[], $2::text[], $3::text[], $5::uuid[]) AS u(l, o, b, p)",
    )
    .bind(column(|i| &i.line_id))
    .bind(column(|i| &i.order_id))
    .bind(column(|i| &i.buyer_id))
    .bind(Utc::now())
    .bind(products)
    .bind(supplier)
    .bind(code)
    .bind(uuid::Uuid::new_v4())
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Click,
    Paid,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Click => "clicks",
            Kind::Paid => "paid-order lines",
        }
    }
}

/// Where events go and what they refer to.
struct Target<'a> {
    system: &'a System,
    client: AttributionServiceClient<Upstream>,
    pool: sqlx::PgPool,
    supplier: String,
    code: String,
    products: Vec<String>,
}

impl Target<'_> {
    fn event(&self, kind: Kind, input: &Input) -> pb::OrderEvent {
        match kind {
            Kind::Paid => event(input, &self.supplier, &self.code),
            Kind::Click => pb::OrderEvent {
                event: Some(order_event::Event::Click(pb::Click {
                    event_id: format!("click-{}", input.order_id),
                    share_code: self.code.clone(),
                    visitor_id: input.buyer_id.clone(),
                    clicked_at: Some(to_timestamp(Utc::now())),
                })),
            },
        }
    }
}

/// One batch size of one kind: through the service, then the same rows raw.
async fn measure(
    target: &Target<'_>,
    kind: Kind,
    batch: usize,
    clients: usize,
    total: usize,
) -> anyhow::Result<Vec<Row>> {
    let noun = kind.noun();
    let prefix = match kind {
        Kind::Click => "c",
        Kind::Paid => "p",
    };
    progress(&format!("ingest: {total} {noun} in batches of {batch}, {clients} clients"));
    let data = inputs(&format!("{prefix}{batch}"), total, &target.products);
    let events: Vec<Vec<pb::OrderEvent>> =
        data.chunks(batch).map(|chunk| chunk.iter().map(|i| target.event(kind, i)).collect()).collect();
    let profile = match (kind, batch) {
        (Kind::Paid, 1000) => StatementProfile::start(&target.system.admin_url).await,
        _ => None,
    };
    let cpu = CpuSnapshot::take(target.system);
    let ingest = send(vec![target.client.clone()], events, clients).await;
    let cpu = cpu.since(target.system);
    if let Some(profile) = profile {
        let statements = profile.top(12).await?;
        crate::profile::print(&format!("{noun} ingested at batch {batch}"), &statements);
        // Time in the lock statement is time a batch waited for another's keys.
        let waited: f64 = statements.iter().filter(|s| s.query.contains("ingest_lock")).map(|s| s.total_ms).sum();
        let in_flight = clients as f64 * ingest.elapsed.as_secs_f64() * 1000.0;
        println!(
            "Lock waits: {:.1} % of the batches' time in flight ({waited:.0} of {in_flight:.0} ms)",
            100.0 * waited / in_flight
        );
    }
    let ingest = rate(&ingest, total)?;

    progress(&format!("ingest: the same rows raw, batches of {batch}"));
    let raw_data = inputs(&format!("raw{prefix}{batch}"), total, &target.products);
    let (pool, supplier, code) = (target.pool.clone(), target.supplier.clone(), target.code.clone());
    let raw = drain(chunks(&raw_data, batch), clients, move |chunk: Vec<Input>| {
        let (pool, supplier, code) = (pool.clone(), supplier.clone(), code.clone());
        async move {
            match kind {
                Kind::Paid => raw_insert(&pool, &chunk, &supplier).await,
                Kind::Click => raw_insert_clicks(&pool, &chunk, &code).await,
            }
        }
    })
    .await;
    let raw = rate(&raw, total)?;
    let same_rows = match kind {
        Kind::Paid => Some(same_rows_rate(target, batch, clients, total).await?),
        Kind::Click => None,
    };
    let mut rows = vec![Row {
        operation: format!("{noun} ingested, batch {batch}, {clients} clients"),
        figure: format!("{ingest:.0} {}/s", if kind == Kind::Click { "clicks" } else { "lines" }),
        p50_ms: None,
        p99_ms: None,
        baseline: format!("raw UNNEST INSERT of the same rows: {raw:.0} rows/s"),
        ratio: Some(ingest / raw),
        note: if kind == Kind::Paid { format!("target ≥ 50%; {cpu}") } else { cpu },
    }];
    if let Some(same_rows) = same_rows {
        rows.push(Row {
            operation: "  the same order_line rows raw, into a copy of the table with its indexes".into(),
            figure: format!("{same_rows:.0} rows/s"),
            p50_ms: None,
            p99_ms: None,
            baseline: String::new(),
            ratio: Some(ingest / same_rows),
            note: "ratio: ingest / this (the cost of the line itself, no rules, no outbox, no settlement)".into(),
        });
    }
    if batch == 1000 && kind == Kind::Paid {
        progress("ingest: the same rows by COPY");
        let copy_rate = copy(target, &inputs("copy", total, &target.products)).await?;
        rows.push(Row {
            operation: "  the same rows by COPY (one stream)".into(),
            figure: format!("{copy_rate:.0} rows/s"),
            p50_ms: None,
            p99_ms: None,
            baseline: String::new(),
            ratio: Some(ingest / copy_rate),
            note: "ratio: ingest at batch 1000 / COPY".into(),
        });
    }
    Ok(rows)
}

/// The paid lines by COPY in one stream; rows per second.
async fn copy(target: &Target<'_>, data: &[Input]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut conn = target.pool.acquire().await?;
    let mut copy = conn.copy_in_raw("COPY bench_raw FROM STDIN (FORMAT csv)").await?;
    let mut csv = String::new();
    let now = Utc::now().to_rfc3339();
    for i in data {
        csv.push_str(&format!(
            "{},{},{},{now},{},{},1,CNY,19900\n",
            i.line_id, i.order_id, i.buyer_id, i.product_id, target.supplier
        ));
    }
    copy.send(csv.as_bytes()).await?;
    copy.finish().await?;
    Ok(data.len() as f64 / started.elapsed().as_secs_f64())
}

async fn raw_insert_clicks(pool: &sqlx::PgPool, chunk: &[Input], code: &str) -> anyhow::Result<()> {
    let ids: Vec<String> = chunk.iter().map(|i| format!("click-{}", i.order_id)).collect();
    let visitors: Vec<String> = chunk.iter().map(|i| i.buyer_id.clone()).collect();
    sqlx::query(
        "INSERT INTO bench_raw_click (event_id, share_code, visitor_id, clicked_at)
         SELECT e, $2, v, $4 FROM UNNEST($1::text[], $3::text[]) AS u(e, v)",
    )
    .bind(ids)
    .bind(code)
    .bind(visitors)
    .bind(Utc::now())
    .execute(pool)
    .await?;
    Ok(())
}

async fn raw_insert(pool: &sqlx::PgPool, chunk: &[Input], supplier: &str) -> anyhow::Result<()> {
    let now = Utc::now();
    let column = |f: fn(&Input) -> &str| chunk.iter().map(|i| f(i).to_owned()).collect::<Vec<String>>();
    let products: Vec<uuid::Uuid> = chunk.iter().filter_map(|i| uuid::Uuid::parse_str(&i.product_id).ok()).collect();
    sqlx::query(
        "INSERT INTO bench_raw (line_id, order_id, buyer_id, paid_at, product_id, supplier_id, quantity, currency, paid_minor)
         SELECT l, o, b, $4, p, $6, 1, 'CNY', 19900 FROM UNNEST($1::text[], $2::text[], $3::text[], $5::uuid[]) AS u(l, o, b, p)",
    )
    .bind(column(|i| &i.line_id))
    .bind(column(|i| &i.order_id))
    .bind(column(|i| &i.buyer_id))
    .bind(now)
    .bind(products)
    .bind(supplier)
    .execute(pool)
    .await?;
    Ok(())
}
