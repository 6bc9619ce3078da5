//! The services as real binaries, for the end-to-end tests and the benchmark alike:
//! the environment each one starts with, starting it until it answers, and clients
//! calling it as a user. The two harnesses differ only in what they add (spans,
//! JetStream, bench limits), never in how a service is wired.
use std::{collections::BTreeMap, time::Duration};

use xiaopu_common::{
    auth::{Role, TokenSigner},
    config::UpstreamSettings,
    grpc_client::{CallCredentials, Upstream, upstream},
    testing::process::ServiceProcess,
};

/// A service's environment (`XIAOPU_…` variables).
pub type Env = BTreeMap<String, String>;

/// How long a starting service may take to answer.
const STARTUP: Duration = Duration::from_secs(60);

/// The services `service` calls, by service name.
pub fn upstreams_of(service: &str) -> &'static [&'static str] {
    match service {
        "storefront" => &["eligibility"],
        "attribution" => &["storefront"],
        "settlement" => &["attribution"],
        "web" => &["eligibility", "storefront", "attribution", "settlement"],
        _ => &[],
    }
}

/// The environment of `service`: its database (none for the web front), tokens
/// checked with `secret`, logs at `log_filter`, and each upstream `url_of` knows
/// (an upstream it does not know is left to the service's default).
pub fn service_env(
    service: &str,
    database_url: Option<&str>,
    secret: &str,
    log_filter: &str,
    url_of: impl Fn(&str) -> Option<String>,
) -> Env {
    let mut env = Env::from([
        ("XIAOPU_AUTH__SECRET".to_string(), secret.to_string()),
        ("XIAOPU_TELEMETRY__LOG_FILTER".to_string(), log_filter.to_string()),
    ]);
    if let Some(url) = database_url {
        env.insert("XIAOPU_DATABASE__URL".into(), url.to_owned());
    }
    for upstream in upstreams_of(service) {
        if let Some(url) = url_of(upstream) {
            env.insert(format!("XIAOPU_{}__{}__URL", service.to_uppercase(), upstream.to_uppercase()), url);
        }
    }
    if service == "settlement" {
        let key = xiaopu_common::testing::payee_key_file();
        env.insert("XIAOPU_SETTLEMENT__PAYEE_KEY_PATH".into(), key.display().to_string());
    }
    env
}

/// Starts `service`'s binary with `env` and waits until it answers: SERVING on the
/// health service, or for the web front (no gRPC) listening.
pub async fn start(service: &str, env: Env) -> ServiceProcess {
    let process = ServiceProcess::start(service, env);
    if service == "web" {
        process.wait_listening(STARTUP).await;
    } else {
        process.wait_serving(STARTUP).await;
    }
    process
}

/// A channel to the service at `url` calling as `role`/`subject`, with tokens signed
/// by `secret`, each call allowed `timeout`.
pub fn client(url: &str, secret: &str, role: Role, subject: &str, timeout: Duration) -> Upstream {
    let credentials =
        CallCredentials::new(TokenSigner::hs256(secret.as_bytes()), role, subject, Duration::from_secs(3600));
    let mut settings = UpstreamSettings::new(url);
    settings.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    upstream(&settings, "test", credentials).expect("a client for a well-formed URL")
}
