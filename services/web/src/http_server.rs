//! The HTTP server: routes, a span per request (joining the caller's trace), health,
//! a per-request timeout and a concurrency limit, and graceful shutdown.
use std::time::Duration;

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use tower::{ServiceBuilder, limit::GlobalConcurrencyLimitLayer, load_shed::LoadShedLayer};
use tracing::Instrument;
use xiaopu_common::{
    config::ServerSettings,
    connections::{Gate, Guarded},
    server::{RunningServer, serve_with_grace},
    telemetry::http_server_span,
};

use crate::{SharedApp, code_entry, console, promoter, shop, supplier};

/// Every route of the web front.
pub fn router(app: SharedApp) -> Router {
    Router::new()
        .route("/s/{code}", get(shop::page))
        .route("/k", get(code_entry::page).post(code_entry::submit))
        .route("/s/{code}/qr.svg", get(shop::qr_code))
        .nest("/console", console::router())
        .nest("/app", promoter::router())
        .nest("/supplier", supplier::router())
        .route("/static/copy.js", get(copy_script))
        .route("/lang/{code}", get(crate::i18n::choose))
        .route_layer(middleware::from_fn(trace))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(middleware::from_fn_with_state(app.clone(), security_headers))
        .with_state(app)
}

/// What a page may load and who may frame it: pages are server-rendered with their
/// own stylesheet inline; the one script (the app's copy button) comes from this
/// origin, never inline; images come from suppliers' https hosts, forms post back to
/// this origin only, and fetches (a download, a gRPC-Web call) go to this origin only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; img-src 'self' https: data:; \
     style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The promoter app's copy button.
async fn copy_script() -> Response {
    use axum::http::header;
    let headers =
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")];
    (headers, include_str!("../static/copy.js")).into_response()
}

/// The browser-side defences every answer carries; HSTS only where the front is
/// served over TLS (its cookies are then `Secure`).
async fn security_headers(State(app): State<SharedApp>, request: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    if app.settings.secure_cookies {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Ready until shutdown begins: then the load balancer stops sending new requests
/// while the in-flight ones finish.
async fn ready(State(app): State<SharedApp>) -> Response {
    if app.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining").into_response()
    } else {
        "ready".into_response()
    }
}

/// One span per request, named by its route (`GET /s/{code}`), so the gRPC calls it
/// makes join one trace.
async fn trace(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let span = http_server_span(request.method(), &route, request.headers());
    let response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    response
}

/// Binds the configured address and serves until the app's shutdown token fires.
pub async fn serve(settings: &ServerSettings, app: SharedApp) -> anyhow::Result<RunningServer> {
    if settings.tls_cert_path.is_some() {
        tracing::warn!("server.tls_cert_path is ignored by the web front: TLS ends at the ingress");
    }
    let listener = tokio::net::TcpListener::bind(settings.listen_addr).await?;
    let shutdown = app.shutdown.clone();
    let gate = GatedListener(Gate::new(listener, settings.connection_limits(), shutdown.clone())?);
    let local_addr = gate.0.local_addr();
    let limits = ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(|_| async { StatusCode::SERVICE_UNAVAILABLE }))
        .layer(LoadShedLayer::new())
        .layer(GlobalConcurrencyLimitLayer::new(settings.concurrency_limit))
        .timeout(Duration::from_millis(settings.request_timeout_ms));
    let router = router(app).layer(limits);
    let grace = Duration::from_millis(settings.shutdown_grace_ms);
    // The peer's address reaches handlers (the guess limit's key when no ingress
    // forwards one).
    let router = router.into_make_service_with_connect_info::<Peer>();
    let serving = axum::serve(gate, router).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let task = tokio::spawn(serve_with_grace(serving.into_future(), shutdown.clone(), grace));
    tracing::info!(%local_addr, "serving");
    Ok(RunningServer::new(local_addr, shutdown, task))
}

/// The address of the connection's other end, for handlers (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, GatedListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, GatedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// The shared connection gate (first-byte and idle timeouts) as axum's listener.
struct GatedListener(Gate);

impl axum::serve::Listener for GatedListener {
    type Io = Guarded;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Guarded, std::net::SocketAddr) {
        match self.0.next().await {
            Some(accepted) => accepted,
            // The gate closes only at shutdown, which ends serving first.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        Ok(self.0.local_addr())
    }
}
