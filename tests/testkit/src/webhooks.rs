//! A webhook receiver as a promoter's or supplier's system would run one: an HTTP
//! server on a loopback port that checks each delivery's signature and timestamp,
//! keeps what it received, and answers as the test tells it (to make the sender
//! retry).
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use xiaopu_common::webhook;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    /// What checking it against the secret said when it arrived.
    pub verified: Result<(), webhook::Refusal>,
    /// The HTTP status it was answered with.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct State {
    secret: Vec<u8>,
    received: Vec<Received>,
    /// How many coming requests to answer 500 (then 200 again).
    failures_left: usize,
    /// Answer 500 to everything while set.
    down: bool,
    /// How long each answer takes.
    delay: std::time::Duration,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let receiver = Self { addr, state: Arc::default() };
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let receiver = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let receiver = receiver.clone();
                        async move { Ok::<_, hyper::Error>(receiver.take(request).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        receiver
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/xiaopu", self.addr)
    }

    /// The secret CreateWebhook answered, to check deliveries with.
    pub fn set_secret(&self, secret_base64: &str) {
        use base64::Engine;
        let secret = base64::engine::general_purpose::STANDARD.decode(secret_base64).expect("a base64 secret");
        self.lock().secret = secret;
    }

    /// Answers 500 to the next `n` requests.
    pub fn fail_next(&self, n: usize) {
        self.lock().failures_left = n;
    }

    /// Takes `delay` over each answer (a slow receiver).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.lock().delay = delay;
    }

    /// Answers 500 to everything until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// The distinct delivery ids answered 200 (signed well), in order of arrival.
    pub fn accepted_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for r in self.received() {
            if r.answered == 200 && !ids.contains(&r.id) {
                ids.push(r.id);
            }
        }
        ids
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn take(&self, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let header =
            |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let (id, timestamp, signature) =
            (header(webhook::ID_HEADER), header(webhook::TIMESTAMP_HEADER), header(webhook::SIGNATURE_HEADER));
        let body = match request.into_body().collect().await {
            Ok(body) => body.to_bytes().to_vec(),
            Err(_) => Vec::new(),
        };
        let delay = self.lock().delay;
        tokio::time::sleep(delay).await;
        let mut state = self.lock();
        let now = chrono::Utc::now().timestamp();
        let verified = webhook::verify(&state.secret, &id, &timestamp, &body, &signature, now);
        let refuse = state.down || state.failures_left > 0 || verified.is_err();
        state.failures_left = state.failures_left.saturating_sub(1);
        let status = match (&verified, refuse) {
            (Err(_), _) => 401,
            (Ok(()), true) => 500,
            (Ok(()), false) => 200,
        };
        state.received.push(Received { id, timestamp, signature, body, verified, answered: status });
        let mut answer = hyper::Response::new(Full::new(Bytes::new()));
        *answer.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        answer
    }
}
