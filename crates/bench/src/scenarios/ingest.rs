//! Paid-order lines ingested end to end (gRPC → attribution rules → PostgreSQL with
//! the outbox) at batch sizes 1, 100 and 1000, beside the same rows written raw into
//! the same database in the same run: a batched UNNEST INSERT and COPY.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use xiaopu_api::{
    attribution::{self as pb, attribution_service_client::AttributionServiceClient, order_event},
    storefront::{self as sf, storefront_service_client::StorefrontServiceClient},
    types::Money,
};
use xiaopu_common::{auth::Role, time::to_timestamp};

use super::{Options, shop_page::BenchShop};
use crate::{
    harness::{Row, progress},
    system::System,
};

/// (batch size, concurrent clients, lines per run).
const RUNS: [(usize, usize, usize); 3] = [(1, 16, 4_000), (100, 4, 40_000), (1000, 2, 60_000)];

/// One paid order of one line, as the order system sends it.
#[derive(Clone)]
struct Input {
    order_id: String,
    line_id: String,
    buyer_id: String,
    product_id: String,
}

fn inputs(run: &str, n: usize, products: &[String]) -> Vec<Input> {
    (0..n)
        .map(|i| Input {
            order_id: format!("{run}-o{i}"),
            line_id: format!("{run}-l{i}"),
            buyer_id: format!("{run}-b{i}"),
            product_id: products[i % products.len()].clone(),
        })
        .collect()
}

fn event(input: &Input, supplier: &str, code: &str) -> pb::OrderEvent {
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

/// Runs `work` over `chunks` with `clients` concurrent workers; rows per second.
async fn drive<T, F, Fut>(chunks: Vec<Vec<T>>, clients: usize, work: F) -> anyhow::Result<f64>
where
    T: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<usize>> + Send,
{
    let queue = Arc::new(std::sync::Mutex::new(chunks));
    let work = Arc::new(work);
    let rows = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (queue, work, rows) = (queue.clone(), work.clone(), rows.clone());
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                    let Some(chunk) = next else { return Ok::<_, anyhow::Error>(()) };
                    rows.fetch_add(work(chunk).await? as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    Ok(rows.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

fn chunks<T: Clone>(items: &[T], size: usize) -> Vec<Vec<T>> {
    items.chunks(size).map(<[T]>::to_vec).collect()
}

pub async fn run(system: &System, shop: &BenchShop, _options: &Options) -> anyhow::Result<Vec<Row>> {
    progress("ingest: a share code for the shop, and attribution catching up with the storefront");
    let mut promoter = StorefrontServiceClient::new(system.client("storefront", Role::Promoter, "bench-promoter")?);
    let code = promoter
        .create_share_link(sf::CreateShareLinkRequest {
            request_id: "bench-link".into(),
            shop_id: shop.shop_id.clone(),
            listing_id: String::new(),
            channel: sf::Channel::Wechat.into(),
        })
        .await?
        .into_inner()
        .share_link
        .map(|l| l.code)
        .unwrap_or_default();
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
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_raw (line_id text PRIMARY KEY, order_id text, buyer_id text, paid_at timestamptz,
                                               product_id uuid, supplier_id text, quantity int, currency text, paid_minor bigint)",
    )
    .execute(&attribution_db)
    .await?;

    let client = AttributionServiceClient::new(system.client("attribution", Role::Service, "order-system")?);
    let mut rows = Vec::new();
    for (batch, clients, total) in RUNS {
        let run_id = format!("b{batch}");
        progress(&format!("ingest: {total} paid lines in batches of {batch}, {clients} clients"));
        let data = inputs(&run_id, total, &shop.products);
        let (client, supplier, code_used) = (client.clone(), shop.supplier_id.clone(), code.clone());
        let ingest = drive(chunks(&data, batch), clients, move |chunk: Vec<Input>| {
            let mut client = client.clone();
            let events: Vec<_> = chunk.iter().map(|i| event(i, &supplier, &code_used)).collect();
            async move {
                let answer = client.ingest_events(pb::IngestEventsRequest { events }).await?.into_inner();
                let applied = answer.results.iter().filter(|r| r.outcome() == pb::EventOutcome::Applied).count();
                anyhow::ensure!(applied == answer.results.len(), "{} of {} applied", applied, answer.results.len());
                Ok(applied)
            }
        })
        .await?;

        progress(&format!("ingest: the same rows raw, batches of {batch}"));
        let raw_data = inputs(&format!("raw{batch}"), total, &shop.products);
        let (pool, supplier) = (attribution_db.clone(), shop.supplier_id.clone());
        let raw = drive(chunks(&raw_data, batch), clients, move |chunk: Vec<Input>| {
            let (pool, supplier) = (pool.clone(), supplier.clone());
            async move { raw_insert(&pool, &chunk, &supplier).await }
        })
        .await?;
        rows.push(Row {
            operation: format!("paid-order lines ingested, batch {batch}, {clients} clients"),
            figure: format!("{ingest:.0} lines/s"),
            p50_ms: None,
            p99_ms: None,
            baseline: format!("raw UNNEST INSERT of the same rows: {raw:.0} rows/s"),
            ratio: Some(ingest / raw),
            note: "target ≥ 50%".into(),
        });
        if batch == 1000 {
            progress("ingest: the same rows by COPY");
            let copy_data = inputs("copy", total, &shop.products);
            let started = Instant::now();
            let mut conn = attribution_db.acquire().await?;
            let mut copy = conn.copy_in_raw("COPY bench_raw FROM STDIN (FORMAT csv)").await?;
            let mut csv = String::new();
            let now = Utc::now().to_rfc3339();
            for i in &copy_data {
                csv.push_str(&format!(
                    "{},{},{},{now},{},{},1,CNY,19900\n",
                    i.line_id, i.order_id, i.buyer_id, i.product_id, shop.supplier_id
                ));
            }
            copy.send(csv.as_bytes()).await?;
            copy.finish().await?;
            let copy_rate = total as f64 / started.elapsed().as_secs_f64();
            rows.push(Row {
                operation: "the same rows by COPY (one stream)".into(),
                figure: format!("{copy_rate:.0} rows/s"),
                p50_ms: None,
                p99_ms: None,
                baseline: String::new(),
                ratio: Some(ingest / copy_rate),
                note: "ratio: ingest at batch 1000 / COPY".into(),
            });
        }
    }
    Ok(rows)
}

async fn raw_insert(pool: &sqlx::PgPool, chunk: &[Input], supplier: &str) -> anyhow::Result<usize> {
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
    Ok(chunk.len())
}
