//! Service binaries as processes, each instance with its own database, and clients
//! that call them as a given user.
use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use xiaopu_common::{
    auth::Role,
    config::FeedTransportKind,
    grpc_client::Upstream,
    testing::{TEST_SECRET, TestDatabase, nats::Nats, process::ServiceProcess},
};
use xiaopu_testkit::processes;

/// Settlement with a zero after-sale hold and a quick sweep: the hold passes without
/// sleeping for days.
pub const QUICK_SETTLEMENT: &[(&str, &str)] =
    &[("XIAOPU_SETTLEMENT__HOLD_HOURS", "0"), ("XIAOPU_SETTLEMENT__SWEEP_INTERVAL_MS", "200")];

/// Running instances by name; an instance is one service binary (several instances of
/// one service may run, each with its own database).
#[derive(Default)]
pub struct System {
    pub processes: BTreeMap<String, ServiceProcess>,
    pub databases: BTreeMap<String, TestDatabase>,
    otlp: Option<SocketAddr>,
    /// The JetStream server the feeds ride on, when they do.
    pub nats: Option<Nats>,
}

impl System {
    /// An empty system whose feeds ride `transport` (a NATS server of its own for
    /// JetStream) and whose services export their spans to `otlp`, if given.
    pub async fn new(transport: FeedTransportKind, otlp: Option<SocketAddr>) -> Self {
        let nats = match transport {
            FeedTransportKind::Outbox => None,
            FeedTransportKind::Jetstream => Some(Nats::single().await),
        };
        Self { otlp, nats, ..Self::default() }
    }

    /// An empty system whose feeds ride the JetStream of `nats` (a cluster, say).
    pub fn on_nats(nats: Nats) -> Self {
        Self { nats: Some(nats), ..Self::default() }
    }

    /// The four services in dependency order, each SERVING before the next starts.
    pub async fn start(transport: FeedTransportKind, otlp: Option<SocketAddr>) -> Self {
        let mut system = Self::new(transport, otlp).await;
        system.add_catalog_and_attribution().await;
        system.add("settlement", "settlement", Some("attribution"), QUICK_SETTLEMENT).await;
        system
    }

    /// Eligibility, storefront and attribution: a test then adds its own settlement
    /// instances (or none).
    pub async fn up_to_attribution(transport: FeedTransportKind) -> Self {
        let mut system = Self::new(transport, None).await;
        system.add_catalog_and_attribution().await;
        system
    }

    async fn add_catalog_and_attribution(&mut self) {
        self.add("eligibility", "eligibility", None, &[]).await;
        self.add("storefront", "storefront", Some("eligibility"), &[]).await;
        self.add("attribution", "attribution", Some("storefront"), &[]).await;
    }

    /// Starts instance `name` of `service` with a fresh database on the test server,
    /// calling the instance `upstream`, with `extra` environment.
    pub async fn add(&mut self, name: &str, service: &str, upstream: Option<&str>, extra: &[(&str, &str)]) {
        let db = TestDatabase::create(&format!("sys_{service}")).await;
        self.add_with_database(name, service, upstream, extra, db).await;
    }

    /// The same with a given database.
    pub async fn add_with_database(
        &mut self,
        name: &str,
        service: &str,
        upstream: Option<&str>,
        extra: &[(&str, &str)],
        db: TestDatabase,
    ) {
        // The upstream instance stands for its service.
        let upstream_url = upstream.map(|up| self.processes[up].url());
        let mut env = processes::service_env(service, Some(&db.url), TEST_SECRET, "info", |_| upstream_url.clone());
        if let Some(otlp) = self.otlp {
            env.insert("XIAOPU_TELEMETRY__OTLP_ENDPOINT".into(), format!("http://{otlp}"));
            // Spans leave within a fraction of a second instead of five.
            env.insert("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into());
        }
        if let Some(nats) = &self.nats {
            env.extend(nats.service_env());
            // Each instance has its own database, so its own durable consumers.
            env.insert("XIAOPU_FEED__NATS__CONSUMER_NAME".into(), name.to_owned());
            // A killed consumer's messages come back within a second.
            env.insert("XIAOPU_FEED__NATS__ACK_WAIT_MS".into(), "1000".into());
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.processes.insert(name.to_owned(), processes::start(service, env).await);
        self.databases.insert(name.to_owned(), db);
    }

    /// Starts `name`, another replica of instance `of`: the same service, database,
    /// upstreams and durable consumer names.
    pub async fn add_replica(&mut self, name: &str, of: &str) {
        let original = &self.processes[of];
        let process = processes::start(&original.name, original.env().clone()).await;
        self.processes.insert(name.to_owned(), process);
    }

    /// Starts the web front (HTTP, no database) in front of the four services, with
    /// the development sign-in on; its base URL.
    pub async fn add_web(&mut self) -> String {
        let mut env = processes::service_env("web", None, TEST_SECRET, "info", |up| {
            self.processes.get(up).map(ServiceProcess::url)
        });
        env.insert("XIAOPU_WEB__DEV_SIGN_IN".into(), "true".into());
        env.insert("XIAOPU_WEB__SECURE_COOKIES".into(), "false".into());
        let process = processes::start("web", env).await;
        let url = process.url();
        self.processes.insert("web".to_owned(), process);
        url
    }

    pub fn process(&mut self, name: &str) -> &mut ServiceProcess {
        self.processes.get_mut(name).expect("no such instance")
    }

    /// Starts an instance again on its port after a kill, and waits for SERVING.
    pub async fn restart(&mut self, name: &str) {
        let process = self.process(name);
        process.restart();
        process.wait_serving(Duration::from_secs(60)).await;
    }

    /// A channel to instance `name` calling as `role`/`subject`, each call allowed
    /// what a service allows its own upstream calls by default: a fault test's call
    /// to a stopped database fails within it.
    pub fn client(&self, name: &str, role: Role, subject: &str) -> Upstream {
        processes::client(&self.processes[name].url(), TEST_SECRET, role, subject, Duration::from_secs(3))
    }

    /// A pool on instance `name`'s database.
    pub async fn pool(&self, name: &str) -> sqlx::PgPool {
        self.databases[name].connect().await
    }

    /// Waits until instance `consumer` has applied everything `producer` published.
    pub async fn caught_up(&self, producer: &str, consumer: &str) {
        let feed = &self.processes[producer].name;
        xiaopu_testkit::caught_up(&self.databases[producer], &self.databases[consumer], feed).await;
    }
}

/// The shared world-building (`xiaopu_testkit::world`) reaches instances by name.
impl xiaopu_testkit::world::Connect for System {
    fn client(&self, name: &str, role: Role, subject: &str) -> Upstream {
        System::client(self, name, role, subject)
    }
}
