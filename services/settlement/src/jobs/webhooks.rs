//! Sends due webhook deliveries: each signed (see `xiaopu_common::webhook`), POSTed
//! with a deadline, and its outcome recorded in the transaction that claimed it — a
//! sender that dies mid-way leaves the delivery pending, and the next one sends it
//! again with the same id. Replicas share the work: a claimed delivery is skipped by
//! the others.
use std::time::Duration;

use bytes::Bytes;
use chrono::TimeDelta;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use xiaopu_common::{schedule::every, sealed::SealingKey, time::SharedClock, webhook};

use crate::{
    Error,
    domain::webhooks::{DeliveryStatus, after_attempt, is_public},
    store::webhooks::{self, Due},
};

/// How the sender behaves (settings).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The wait after a first failed attempt; it doubles after each.
    pub retry_base: TimeDelta,
    /// Attempts before a delivery is failed (then only a redelivery sends it).
    pub max_attempts: i32,
    /// How long one POST may take.
    pub timeout: Duration,
    /// Whether receivers may be on private addresses (tests and development only).
    pub allow_private: bool,
}

/// Deliveries one round sends at most.
const ROUND: i64 = 32;

/// Sends what is due now; how many deliveries were attempted.
pub async fn run(pool: &PgPool, clock: &SharedClock, key: &SealingKey, policy: Policy) -> Result<usize, Error> {
    let mut tx = pool.begin().await?;
    let now = clock.now();
    let due = webhooks::claim_due(&mut tx, now, ROUND).await?;
    let sent = futures::future::join_all(due.iter().map(|d| send(d, key, policy))).await;
    for (d, answer) in due.iter().zip(sent) {
        let attempts = d.attempts + 1;
        let after = after_attempt(attempts, answer, now, policy.retry_base, policy.max_attempts);
        if after.status == DeliveryStatus::Failed {
            tracing::warn!(delivery = %d.delivery_id, attempts, error = %after.error, "webhook delivery failed for good");
        }
        webhooks::record(&mut tx, d.delivery_id, &after).await?;
    }
    tx.commit().await?;
    Ok(due.len())
}

/// POSTs one delivery, signed now; the receiver's HTTP status, or why none came.
async fn send(d: &Due, key: &SealingKey, policy: Policy) -> Result<u16, String> {
    let secret = key.open(&d.key_id, &d.owner_id, &d.sealed_secret).map_err(|e| format!("secret: {e}"))?;
    let id = d.delivery_id.to_string();
    // The wall clock, not the service's business clock: a receiver compares it with
    // its own to refuse replays.
    let timestamp = chrono::Utc::now().timestamp();
    let signature = webhook::sign(&secret, &id, timestamp, d.body.as_bytes());
    let request = http::Request::post(&d.url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(webhook::ID_HEADER, &id)
        .header(webhook::TIMESTAMP_HEADER, timestamp.to_string())
        .header(webhook::SIGNATURE_HEADER, signature)
        .body(Full::new(Bytes::from(d.body.clone())))
        .map_err(|e| format!("request: {e}"))?;
    match tokio::time::timeout(policy.timeout, post(request, policy.allow_private)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {} ms", policy.timeout.as_millis())),
    }
}

/// One request on a connection of its own (plain HTTP, or HTTPS checked against the
/// public roots), to a public address of the host unless `allow_private`. The
/// connection goes to the address checked, so a name cannot resolve elsewhere
/// between the check and the call.
async fn post(mut request: http::Request<Full<Bytes>>, allow_private: bool) -> Result<u16, String> {
    let uri = request.uri().clone();
    let host = uri.host().ok_or("the URL has no host")?.to_owned();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_else(|| host.clone());
    request
        .headers_mut()
        .insert(http::header::HOST, http::HeaderValue::from_str(&authority).map_err(|e| format!("host: {e}"))?);
    // Origin form on the wire: the path and query only.
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    *request.uri_mut() = path.parse().map_err(|e| format!("path: {e}"))?;
    let addresses: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("resolve {host}: {e}"))?.collect();
    let address = addresses
        .into_iter()
        .find(|a| allow_private || is_public(a.ip()))
        .ok_or_else(|| format!("{host} has no public address; private addresses are refused"))?;
    let tcp = tokio::net::TcpStream::connect(address).await.map_err(|e| format!("connect: {e}"))?;
    if https {
        let tls = tls_connector()?;
        let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| format!("host name: {e}"))?;
        let stream = tls.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
        exchange(TokioIo::new(stream), request).await
    } else {
        exchange(TokioIo::new(tcp), request).await
    }
}

async fn exchange<T>(io: TokioIo<T>, request: http::Request<Full<Bytes>>) -> Result<u16, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        // Ends with the exchange; an error here is the request's error too.
        let _ = connection.await;
    });
    let answer = sender.send_request(request).await.map_err(|e| format!("HTTP: {e}"))?;
    Ok(answer.status().as_u16())
}

/// TLS to a receiver, checked against the public roots, with ring as the provider:
/// built once per process, not per delivery.
fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    static CONNECTOR: std::sync::LazyLock<Result<tokio_rustls::TlsConnector, String>> =
        std::sync::LazyLock::new(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)))
        });
    CONNECTOR.clone()
}

/// Sends due deliveries every `interval` until shutdown.
pub async fn schedule(
    pool: PgPool,
    clock: SharedClock,
    key: SealingKey,
    policy: Policy,
    interval: Duration,
    shutdown: CancellationToken,
) {
    every("webhook round", interval, shutdown, || run(&pool, &clock, &key, policy)).await;
}
