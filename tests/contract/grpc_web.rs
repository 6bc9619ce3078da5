//! Every service answers a browser's gRPC-Web call (HTTP/1.1) with the same token
//! rules as gRPC: one RPC each, as a promoter would call it from the app. (CORS per
//! origin is checked on eligibility's own test; the servers share that layer.)
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use prost::Message;
use xiaopu_api::{attribution as at, eligibility as el, settlement as st, storefront as sf};
use xiaopu_common::{
    auth::Role,
    testing::{grpc_web, token},
};
use xiaopu_testkit::{Options, Stack};

/// A gRPC-Web frame of `message`, as the HTTP client sends it.
fn frame(message: &impl Message) -> Bytes {
    Bytes::from(grpc_web::frame(message))
}

/// The call's gRPC status and its message, if any.
fn answer(parts: &http::response::Parts, body: &[u8]) -> (String, Option<Vec<u8>>) {
    grpc_web::answer(&parts.headers, body)
}

#[tokio::test]
async fn each_service_answers_grpc_web_with_the_callers_token() {
    let stack = Stack::spawn(Options::default()).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let calls: [(std::net::SocketAddr, &str, Bytes); 4] = [
        (
            stack.eligibility.local_addr,
            "/xiaopu.eligibility.v1.EligibilityService/GetPromoterStatus",
            frame(&el::GetPromoterStatusRequest { person_id: "p1".into() }),
        ),
        (
            stack.storefront.local_addr,
            "/xiaopu.storefront.v1.StorefrontService/SearchProducts",
            frame(&sf::SearchProductsRequest { query: "茶".into(), ..Default::default() }),
        ),
        (
            stack.attribution.local_addr,
            "/xiaopu.attribution.v1.AttributionService/ListPromoterLines",
            frame(&at::ListPromoterLinesRequest { promoter_id: "p1".into(), ..Default::default() }),
        ),
        (
            stack.settlement.local_addr,
            "/xiaopu.settlement.v1.SettlementService/GetPromoterEarnings",
            frame(&st::GetPromoterEarningsRequest { promoter_id: "p1".into() }),
        ),
    ];
    let mut answers = Vec::new();
    for (addr, path, body) in calls {
        let call = |bearer: Option<String>| {
            let mut request = Request::builder()
                .method(Method::POST)
                .uri(format!("http://{addr}{path}"))
                .header("content-type", "application/grpc-web+proto")
                .header("x-grpc-web", "1");
            if let Some(bearer) = bearer {
                request = request.header("authorization", format!("Bearer {bearer}"));
            }
            let request = request.body(Full::new(body.clone())).expect("request");
            let client = client.clone();
            async move {
                let (parts, body) = client.request(request).await.expect("HTTP/1.1").into_parts();
                (parts, body.collect().await.expect("body").to_bytes())
            }
        };
        let (parts, body) = call(Some(token(Role::Promoter, "p1"))).await;
        assert_eq!(parts.status, StatusCode::OK, "{path}");
        let (status, message) = answer(&parts, &body);
        assert_eq!(status, "0", "{path}: {parts:?}");
        answers.push(message.expect("an answer"));
        let (parts, body) = call(None).await;
        assert_eq!(answer(&parts, &body).0, "16", "{path}: no token, no answer");
    }
    // And the answers are the messages: the promoter's own earnings, decoded.
    let earnings = st::GetPromoterEarningsResponse::decode(answers.last().map_or(&[][..], Vec::as_slice));
    let earnings = earnings.expect("decodes");
    assert_eq!((earnings.promoter_id.as_str(), earnings.fee_bps), ("p1", 1000));
}
