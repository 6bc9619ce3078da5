//! The mini-shop page a share link opens, as a phone fetches it from the web front:
//! 50 listings of the 1000-listing shop, bytes on the wire and server time per page,
//! beside the storefront's GetShopPage for the same 50 listings in the same run (the
//! web front's own cost is the difference).
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use xiaopu_api::storefront::{self as pb, storefront_service_client::StorefrontServiceClient};
use xiaopu_common::auth::Role;
use xiaopu_testkit::world;

use super::{Options, shop_page::BenchShop};
use crate::{
    cpu::CpuSnapshot,
    harness::{Row, closed_loop, progress},
    system::System,
};

pub async fn run(system: &System, shop: &BenchShop, options: &Options) -> anyhow::Result<Vec<Row>> {
    progress("web page: a share code for the shop");
    let code = world::share_shop(system, "bench-promoter", &shop.shop_id).await;
    let url: hyper::Uri = format!("{}/s/{code}?page={}", system.url("web"), shop.page_tokens[1]).parse()?;
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();

    // One page as a phone gets it: status, size, what it holds.
    let answer = client.get(url.clone()).await?;
    anyhow::ensure!(answer.status() == hyper::StatusCode::OK, "the page answered {}", answer.status());
    let body = answer.into_body().collect().await?.to_bytes();
    let html = String::from_utf8_lossy(&body);
    let items = html.matches("class=\"item\"").count();
    anyhow::ensure!(items == 50, "{items} listings on the page");

    progress("web page: pages per second (turning pages: no click recorded)");
    let cpu = CpuSnapshot::take(system);
    let fetch = {
        let (client, url) = (client.clone(), url.clone());
        move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let answer = client.get(url).await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
                let ok = answer.status() == hyper::StatusCode::OK;
                answer.into_body().collect().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
                if ok { Ok(()) } else { Err(tonic::Status::internal("not 200")) }
            }
        }
    };
    let mut pages = closed_loop(options.concurrency, options.duration, fetch).await;
    let cpu = cpu.since(system);

    progress("web page: the storefront's GetShopPage for the same listings");
    let web = StorefrontServiceClient::new(system.client("storefront", Role::Service, "web")?);
    let (shop_id, token) = (shop.shop_id.clone(), shop.page_tokens[1].clone());
    let mut grpc = closed_loop(options.concurrency, options.duration, move |_| {
        let mut client = web.clone();
        let request = pb::GetShopPageRequest { shop_id: shop_id.clone(), page_size: 50, page_token: token.clone() };
        async move { client.get_shop_page(request).await.map(|_| ()) }
    })
    .await;
    Ok(vec![
        Row {
            operation: format!("web: shop page of 50 listings over HTTP, {} clients", options.concurrency),
            figure: format!("{:.0} pages/s", pages.ops_per_sec()),
            p50_ms: Some(pages.quantile_ms(0.5)),
            p99_ms: Some(pages.quantile_ms(0.99)),
            baseline: format!(
                "GetShopPage (gRPC) of the same 50: {:.0}/s, p50 {:.2} ms",
                grpc.ops_per_sec(),
                grpc.quantile_ms(0.5)
            ),
            ratio: Some(pages.ops_per_sec() / grpc.ops_per_sec()),
            note: format!("{} errors; {cpu}", pages.errors),
        },
        Row {
            operation: "web: one shop page's weight (HTML, inline CSS, no script)".into(),
            figure: format!("{:.1} KiB", body.len() as f64 / 1024.0),
            p50_ms: None,
            p99_ms: None,
            baseline: String::new(),
            ratio: None,
            note: "one request; images lazy-loaded after the first four".into(),
        },
    ])
}
