//! The four services as processes, and clients that call them as a given user.
use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use xiaopu_common::{
    auth::{Role, TokenSigner},
    config::UpstreamSettings,
    grpc_client::{CallCredentials, Upstream, upstream},
    testing::{TEST_SECRET, TestDatabase, process::ServiceProcess},
};

pub struct System {
    pub processes: BTreeMap<&'static str, ServiceProcess>,
    pub databases: BTreeMap<&'static str, TestDatabase>,
}

impl System {
    /// Starts every service in dependency order, each SERVING before the next starts.
    pub async fn start(otlp: SocketAddr) -> Self {
        let mut system = Self { processes: BTreeMap::new(), databases: BTreeMap::new() };
        for (name, upstream) in [
            ("eligibility", None),
            ("storefront", Some("eligibility")),
            ("attribution", Some("storefront")),
            ("settlement", Some("attribution")),
        ] {
            let db = TestDatabase::create(&format!("e2e_{name}")).await;
            let mut env = BTreeMap::from([
                ("XIAOPU_DATABASE__URL".to_string(), db.url.clone()),
                ("XIAOPU_AUTH__SECRET".to_string(), TEST_SECRET.to_string()),
                ("XIAOPU_TELEMETRY__OTLP_ENDPOINT".to_string(), format!("http://{otlp}")),
                ("XIAOPU_TELEMETRY__LOG_FILTER".to_string(), "info".to_string()),
                // Spans leave within a fraction of a second instead of five.
                ("OTEL_BSP_SCHEDULE_DELAY".to_string(), "100".to_string()),
            ]);
            if let Some(up) = upstream {
                env.insert(
                    format!("XIAOPU_{}__{}__URL", name.to_uppercase(), up.to_uppercase()),
                    system.processes[up].url(),
                );
            }
            if name == "settlement" {
                // A zero after-sale hold and a quick sweep: the hold passes without sleeping.
                env.insert("XIAOPU_SETTLEMENT__HOLD_HOURS".into(), "0".into());
                env.insert("XIAOPU_SETTLEMENT__SWEEP_INTERVAL_MS".into(), "200".into());
            }
            let process = ServiceProcess::start(name, env);
            process.wait_serving(Duration::from_secs(60)).await;
            system.processes.insert(name, process);
            system.databases.insert(name, db);
        }
        system
    }

    /// A channel to `service` calling as `role`/`subject`.
    pub fn client(&self, service: &str, role: Role, subject: &str) -> Upstream {
        let credentials =
            CallCredentials::new(TokenSigner::hs256(TEST_SECRET.as_bytes()), role, subject, Duration::from_secs(3600));
        upstream(&UpstreamSettings::new(&self.processes[service].url()), service, credentials).expect("client")
    }

    /// Waits until `consumer` has applied everything `producer` published.
    pub async fn caught_up(&self, producer: &str, consumer: &str) {
        xiaopu_testkit::caught_up(&self.databases[producer], &self.databases[consumer], producer).await;
    }
}
