//! The API from a browser: gRPC-Web over HTTP/1.1 on the service's own port, with
//! the same bearer token and the same answers, and CORS only for allowed origins.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use prost::Message;
use xiaopu_api::eligibility as pb;
use xiaopu_common::{
    auth::Role,
    testing::{self, grpc_web},
};

use crate::support::spawn_with;

const PATH: &str = "/xiaopu.eligibility.v1.EligibilityService/CheckEligibility";
const ORIGIN: &str = "https://m.xiaopu.test";

/// The call's gRPC status.
fn grpc_status(parts: &hyper::http::response::Parts, body: &[u8]) -> String {
    grpc_web::answer(&parts.headers, body).0
}

#[tokio::test]
async fn a_browser_calls_the_same_rpc_over_grpc_web_with_the_same_token() {
    let app = spawn_with(|s| s.server.cors_allowed_origins = ORIGIN.into()).await;
    let url = format!("http://{}{PATH}", app.server.local_addr);
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let call = |token: Option<String>| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(&url)
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .header("origin", ORIGIN);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = Bytes::from(grpc_web::frame(&pb::CheckEligibilityRequest { person_id: "p1".into() }));
        let client = client.clone();
        async move {
            let response = client.request(request.body(Full::new(body)).expect("request")).await.expect("HTTP/1.1");
            let (parts, body) = response.into_parts();
            (parts, body.collect().await.expect("body").to_bytes())
        }
    };

    let (parts, body) = call(Some(testing::token(Role::Promoter, "p1"))).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers["access-control-allow-origin"], ORIGIN);
    assert!(parts.headers["content-type"].to_str().unwrap_or("").starts_with("application/grpc-web"));
    assert_eq!(grpc_status(&parts, &body), "0");
    let (_, message) = grpc_web::answer(&parts.headers, &body);
    let answer = pb::CheckEligibilityResponse::decode(message.expect("a message").as_slice()).expect("decodes");
    assert_eq!((answer.person_id.as_str(), answer.eligible), ("p1", false), "no score yet: not eligible");

    // The same rules as gRPC: no token, no answer; another promoter's data, refused.
    let (parts, body) = call(None).await;
    assert_eq!(grpc_status(&parts, &body), "16", "unauthenticated");
    assert_eq!(parts.headers["access-control-allow-origin"], ORIGIN, "the browser may read the refusal");
    let (parts, body) = call(Some(testing::token(Role::Promoter, "p2"))).await;
    assert_eq!(grpc_status(&parts, &body), "7", "permission denied");

    // CORS: the allowed origin's preflight is answered; another origin gets nothing.
    let preflight = |origin: &'static str| {
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri(&url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type,x-grpc-web")
            .body(Full::new(Bytes::new()))
            .expect("preflight");
        let client = client.clone();
        async move { client.request(request).await.expect("preflight").into_parts().0 }
    };
    let allowed = preflight(ORIGIN).await;
    assert_eq!(allowed.headers["access-control-allow-origin"], ORIGIN);
    let allowed_headers = allowed.headers["access-control-allow-headers"].to_str().unwrap_or("").to_lowercase();
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("x-grpc-web"), "{allowed_headers}");
    let other = preflight("https://evil.example").await;
    assert!(other.headers.get("access-control-allow-origin").is_none(), "{:?}", other.headers);
}

#[tokio::test]
async fn without_allowed_origins_no_cors_is_served_and_bad_origins_stop_the_start() {
    let app = spawn_with(|_| {}).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("http://{}{PATH}", app.server.local_addr))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .body(Full::new(Bytes::new()))
        .expect("preflight");
    let response = client.request(request).await.expect("answered");
    assert!(response.headers().get("access-control-allow-origin").is_none());

    let mut settings = xiaopu_common::config::ServerSettings {
        cors_allowed_origins: "https://ok.example, m.xiaopu.test/path".into(),
        ..Default::default()
    };
    let err = xiaopu_common::config::Validate::validate(&settings).expect_err("a path is not an origin");
    assert!(err.to_string().contains("server.cors_allowed_origins"), "{err}");
    settings.cors_allowed_origins = "https://ok.example".into();
    settings.grpc_web = false;
    assert!(xiaopu_common::config::Validate::validate(&settings).is_err(), "CORS without gRPC-Web is a mistake");
}
