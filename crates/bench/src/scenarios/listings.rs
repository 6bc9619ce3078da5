//! Listing adds under contention: every client adds to one shop at once, so each add
//! waits for the shop's lock that keeps the 1000-listing cap exact. Beside it, the
//! same rows inserted raw one per transaction at the same concurrency; after it, the
//! 1001st add must be refused and the shop must hold exactly 1000.
use xiaopu_api::{
    storefront::{self as pb, storefront_service_client::StorefrontServiceClient},
    types::Money,
};
use xiaopu_common::auth::Role;
use xiaopu_testkit::world;

use super::{Options, shop_page::BenchShop};
use crate::{
    harness::{Row, drain, progress},
    system::System,
};

const PROMOTER: &str = "bench-contender";

pub async fn run(system: &System, supply: &BenchShop, options: &Options) -> anyhow::Result<Vec<Row>> {
    progress("listings: a second promoter opens a shop");
    let shop = world::open_shop(system, PROMOTER, "Contended shop").await;
    let promoter = StorefrontServiceClient::new(system.client("storefront", Role::Promoter, PROMOTER)?);

    progress(&format!("listings: {} adds to one shop from {} clients", supply.products.len(), options.concurrency));
    let (client, shop_id) = (promoter.clone(), shop.clone());
    let mut adds = drain(supply.products.clone(), options.concurrency, move |product: String| {
        let (mut client, shop_id) = (client.clone(), shop_id.clone());
        async move {
            let request = pb::AddListingRequest {
                shop_id,
                product_id: product,
                recommendation_reason: "推荐理由：好用不贵".into(),
                position: 0,
            };
            client.add_listing(request).await?;
            Ok(())
        }
    })
    .await;

    // The cap held under contention: one more is refused, and exactly 1000 are listed.
    let mut supplier = StorefrontServiceClient::new(system.client("storefront", Role::Supplier, "bench-supplier")?);
    let extra = pb::PublishProductRequest {
        request_id: "bench-product-1001".into(),
        title: "one too many".into(),
        price: Some(Money { minor_units: 100, currency: "CNY".into() }),
        category: "bench".into(),
        ..Default::default()
    };
    let extra = supplier.publish_product(extra).await?.into_inner().product.map(|p| p.product_id).unwrap_or_default();
    let over = pb::AddListingRequest { shop_id: shop.clone(), product_id: extra, ..Default::default() };
    let refused = promoter.clone().add_listing(over).await;
    anyhow::ensure!(
        refused.as_ref().is_err_and(|s| s.code() == tonic::Code::ResourceExhausted),
        "the 1001st listing was not refused: {refused:?}"
    );
    let db = system.database("storefront").await?;
    let (listed,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM listing WHERE shop_id = $1::uuid AND removed_at IS NULL")
            .bind(&shop)
            .fetch_one(&db)
            .await?;
    anyhow::ensure!(listed == 1000, "{listed} listings after contended adds");

    progress("listings: the same rows raw, one per transaction");
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_listing (LIKE listing INCLUDING DEFAULTS)").execute(&db).await?;
    let (pool, shop_id) = (db.clone(), shop.clone());
    let raw = drain(supply.products.clone(), options.concurrency, move |product: String| {
        let (pool, shop_id) = (pool.clone(), shop_id.clone());
        async move {
            sqlx::query(
                "INSERT INTO bench_listing (listing_id, shop_id, product_id, recommendation_reason, position, listed_at)
                 VALUES (gen_random_uuid(), $1::uuid, $2::uuid, '推荐理由：好用不贵', 1, now())",
            )
            .bind(shop_id)
            .bind(product)
            .execute(&pool)
            .await?;
            Ok(())
        }
    })
    .await;
    Ok(vec![Row {
        operation: format!("listing adds to one shop, {} clients (1000 adds)", options.concurrency),
        figure: format!("{:.0} adds/s", adds.ops_per_sec()),
        p50_ms: Some(adds.quantile_ms(0.5)),
        p99_ms: Some(adds.quantile_ms(0.99)),
        baseline: format!("raw INSERT of the same rows, one per transaction: {:.0} rows/s", raw.ops_per_sec()),
        ratio: Some(adds.ops_per_sec() / raw.ops_per_sec()),
        note: format!("cap held: 1000 listed, the 1001st refused; {} errors", adds.errors + raw.errors),
    }])
}
