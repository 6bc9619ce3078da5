//! The public page of a 1000-listing shop, 50 listings per page, against the
//! trivial server with the same stack: peak requests per second, then latency at
//! 70% of that peak.
use futures::{StreamExt, stream};
use xiaopu_api::{
    storefront::{self as pb, storefront_service_client::StorefrontServiceClient},
    types::Money,
};
use xiaopu_common::auth::Role;
use xiaopu_testkit::world;

use super::{Options, baseline::Trivial};
use crate::{
    cpu::CpuSnapshot,
    harness::{Row, closed_loop, open_loop, progress},
    system::System,
};

const LISTINGS: usize = 1000;
const PAGE_SIZE: i32 = 50;

/// The shop the scenarios share: its id, its products and a whole-shop share code.
pub struct BenchShop {
    pub shop_id: String,
    pub supplier_id: String,
    pub products: Vec<String>,
    pub page_tokens: Vec<String>,
}

/// Builds the shop through the APIs and returns it with every page's token.
pub async fn build_shop(system: &System) -> anyhow::Result<BenchShop> {
    progress("shop page: building a shop of 1000 listings through the APIs");
    let supplier = StorefrontServiceClient::new(system.client("storefront", Role::Supplier, "bench-supplier")?);
    let products: Vec<String> = stream::iter(0..LISTINGS)
        .map(|i| {
            let mut client = supplier.clone();
            async move {
                let product = client
                    .publish_product(pb::PublishProductRequest {
                        request_id: format!("bench-product-{i}"),
                        title: format!("商品 {i} Product"),
                        description: "A product for the benchmark, with a description of ordinary length.".into(),
                        price: Some(Money { minor_units: 1000 + i as i64, currency: "CNY".into() }),
                        image_urls: vec![format!("https://img.example/{i}.jpg")],
                        category: "bench".into(),
                        stock_status: pb::StockStatus::InStock.into(),
                    })
                    .await?
                    .into_inner()
                    .product
                    .map(|p| p.product_id)
                    .unwrap_or_default();
                client
                    .set_commission_rate(pb::SetCommissionRateRequest {
                        request_id: format!("bench-rate-{i}"),
                        product_id: product.clone(),
                        rate_bps: 500 + (i % 10) as i32 * 100,
                        effective_from: None,
                    })
                    .await?;
                Ok::<_, tonic::Status>(product)
            }
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let shop = world::open_shop(system, "bench-promoter", "Bench shop").await;
    let mut promoter = StorefrontServiceClient::new(system.client("storefront", Role::Promoter, "bench-promoter")?);
    for product in &products {
        promoter
            .add_listing(pb::AddListingRequest {
                shop_id: shop.clone(),
                product_id: product.clone(),
                recommendation_reason: "推荐理由：好用不贵，回购三次了".into(),
                position: 0,
            })
            .await?;
    }
    let mut web = StorefrontServiceClient::new(system.client("storefront", Role::Service, "web")?);
    let mut tokens = vec![String::new()];
    loop {
        let request = pb::GetShopPageRequest {
            shop_id: shop.clone(),
            page_size: PAGE_SIZE,
            page_token: tokens.last().cloned().unwrap_or_default(),
        };
        let page = web.get_shop_page(request).await?.into_inner();
        anyhow::ensure!(page.listings.len() == PAGE_SIZE as usize, "a page of {} listings", page.listings.len());
        if page.next_page_token.is_empty() {
            break;
        }
        tokens.push(page.next_page_token);
    }
    anyhow::ensure!(tokens.len() == LISTINGS / PAGE_SIZE as usize, "{} pages", tokens.len());
    Ok(BenchShop { shop_id: shop, supplier_id: "bench-supplier".into(), products, page_tokens: tokens })
}

pub async fn run(system: &System, shop: &BenchShop, trivial: &Trivial, options: &Options) -> anyhow::Result<Vec<Row>> {
    let (shop, tokens) = (shop.shop_id.clone(), shop.page_tokens.clone());

    let web = StorefrontServiceClient::new(system.client("storefront", Role::Service, "web")?);
    let read_page = move |i: u64| {
        let mut client = web.clone();
        let request = pb::GetShopPageRequest {
            shop_id: shop.clone(),
            page_size: PAGE_SIZE,
            page_token: tokens[(i as usize * 7) % tokens.len()].clone(),
        };
        async move { client.get_shop_page(request).await.map(|_| ()) }
    };
    progress("shop page: peak");
    let cpu = CpuSnapshot::take(system);
    let mut peak = closed_loop(options.concurrency, options.duration, read_page.clone()).await;
    let cpu = cpu.since(system);
    let target = peak.ops_per_sec() * 0.7;
    progress(&format!("shop page: latency at 70% of peak ({target:.0}/s)"));
    let mut at_70 = open_loop(target, options.duration, read_page).await;

    let baseline = trivial.describe();
    Ok(vec![
        Row {
            operation: format!("shop page (1000 listings, 50/page), {} clients", options.concurrency),
            figure: format!("{:.0} req/s", peak.ops_per_sec()),
            p50_ms: Some(peak.quantile_ms(0.5)),
            p99_ms: Some(peak.quantile_ms(0.99)),
            baseline: baseline.clone(),
            ratio: Some(peak.ops_per_sec() / trivial.ops_per_sec),
            note: format!("target ≥ 30%; {} errors; {cpu}", peak.errors),
        },
        Row {
            operation: "shop page at 70% of its peak (open loop)".into(),
            figure: format!("{:.0} req/s", at_70.ops_per_sec()),
            p50_ms: Some(at_70.quantile_ms(0.5)),
            p99_ms: Some(at_70.quantile_ms(0.99)),
            baseline,
            ratio: None,
            note: format!("target p99 < 10 ms; {} errors", at_70.errors),
        },
    ])
}
