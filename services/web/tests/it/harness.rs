//! The web front started on a loopback port in front of the in-process stack, and a
//! plain HTTP/1 client with a cookie jar of its own per caller.
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode, header};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use xiaopu_common::{config::UpstreamSettings, server::RunningServer, testing::common_settings};
use xiaopu_testkit::{Options, Stack};
use xiaopu_web::{Settings, WebSettings, url_encode};

pub struct Web {
    pub stack: Stack,
    pub addr: SocketAddr,
    _server: RunningServer,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// An answer: status, headers and the body as text.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// `name=value` of each cookie the page sets.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_owned)
            .collect()
    }

    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first hidden `csrf` field on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).map(|i| i + marker.len()).expect("a form with a CSRF token");
        let end = self.body[start..].find('"').expect("end of the token") + start;
        self.body[start..end].to_owned()
    }
}

impl Web {
    pub async fn start(options: Options) -> Self {
        Self::start_with(options, |_| {}).await
    }

    /// Starts the web front with its settings changed by `tune`.
    pub async fn start_with(options: Options, tune: impl FnOnce(&mut Settings)) -> Self {
        let stack = Stack::spawn(options).await;
        let url = |addr: SocketAddr| UpstreamSettings::new(&format!("http://{addr}"));
        let mut settings = Settings {
            common: common_settings("postgres://unused/none", "web"),
            service: WebSettings {
                eligibility: url(stack.eligibility.local_addr),
                storefront: url(stack.storefront.local_addr),
                attribution: url(stack.attribution.local_addr),
                settlement: url(stack.settlement.local_addr),
                dev_sign_in: true,
                secure_cookies: false,
                page_size: 20,
                ..WebSettings::default()
            },
        };
        tune(&mut settings);
        let server = xiaopu_web::start(settings).await.expect("web starts");
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self { stack, addr: server.local_addr, _server: server, client }
    }

    async fn send(&self, method: Method, path: &str, body: String, cookies: &[String]) -> Page {
        let mut request = Request::builder().method(method).uri(format!("http://{}{path}", self.addr));
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        if !body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let response =
            self.client.request(request.body(Full::new(Bytes::from(body))).expect("request")).await.expect("answer");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        Page { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, path: &str, cookies: &[String]) -> Page {
        self.send(Method::GET, path, String::new(), cookies).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)], cookies: &[String]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect::<Vec<_>>().join("&");
        self.send(Method::POST, path, body, cookies).await
    }

    /// Signs in through the development sign-in; the session's cookies.
    pub async fn sign_in(&self, name: &str) -> Vec<String> {
        let page = self.post("/console/dev-sign-in", &[("name", name)], &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        page.cookies()
    }
}
