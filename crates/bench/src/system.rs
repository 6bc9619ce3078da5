//! The system under test: each service a real release binary with a database of its
//! own on the benchmark's PostgreSQL, plus the trivial baseline server.
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use xiaopu_common::{
    auth::Role,
    grpc_client::Upstream,
    testing::{process::ServiceProcess, with_database},
};
use xiaopu_testkit::processes;

pub const SECRET: &str = "xiaopu-bench-secret-0123456789abcdef";

pub struct System {
    pub admin_url: String,
    pub services: Vec<ServiceProcess>,
}

impl System {
    /// Fresh databases, then the services in dependency order, each SERVING.
    pub async fn start(admin_url: &str, names: &[&str]) -> anyhow::Result<Self> {
        let mut system = Self { admin_url: admin_url.to_owned(), services: Vec::new() };
        for name in names {
            let process = system.spawn(name, name, true, &[]).await?;
            system.services.push(process);
        }
        Ok(system)
    }

    /// Starts `service` on database `bench_<database>` (fresh, or as it is) with
    /// `extra` environment, and waits until it serves. Upstreams are the running
    /// services of `start`.
    pub async fn spawn(
        &self,
        service: &str,
        database: &str,
        fresh: bool,
        extra: &[(String, String)],
    ) -> anyhow::Result<ServiceProcess> {
        let db = if fresh {
            self.fresh_database(database).await?
        } else {
            with_database(&self.admin_url, &format!("bench_{database}"))
        };
        let mut env = processes::service_env(service, Some(&db), SECRET, "warn", |up| {
            self.services.iter().find(|p| p.name == up).map(ServiceProcess::url)
        });
        env.extend([
            ("XIAOPU_SERVER__CONCURRENCY_LIMIT".to_string(), "4096".to_string()),
            // Closing a million-line period is one long call.
            ("XIAOPU_SERVER__REQUEST_TIMEOUT_MS".to_string(), "300000".to_string()),
            ("XIAOPU_DATABASE__STATEMENT_TIMEOUT_MS".to_string(), "300000".to_string()),
        ]);
        if service == "web" {
            env.insert("XIAOPU_WEB__PAGE_SIZE".into(), "50".into());
        }
        env.extend(extra.iter().cloned());
        Ok(processes::start(service, env).await)
    }

    /// A pool on `name`'s own database (for baselines and waiting on feeds).
    pub async fn database(&self, name: &str) -> anyhow::Result<sqlx::PgPool> {
        let url = with_database(&self.admin_url, &format!("bench_{name}"));
        Ok(sqlx::postgres::PgPoolOptions::new().max_connections(32).connect(&url).await?)
    }

    /// A database of its own for each service (the web front's goes unused).
    async fn fresh_database(&self, name: &str) -> anyhow::Result<String> {
        let db = format!("bench_{name}");
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&mut admin).await?;
        sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut admin).await?;
        Ok(with_database(&self.admin_url, &db))
    }

    pub fn process(&self, name: &str) -> &ServiceProcess {
        self.services.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name} is not running"))
    }

    pub fn url(&self, name: &str) -> String {
        self.process(name).url()
    }

    /// A channel to `name` calling as `role`/`subject`.
    pub fn client(&self, name: &str, role: Role, subject: &str) -> anyhow::Result<Upstream> {
        self.client_at(&self.url(name), role, subject)
    }

    /// A channel to the service at `url` (e.g. a replica) calling as `role`/`subject`.
    pub fn client_at(&self, url: &str, role: Role, subject: &str) -> anyhow::Result<Upstream> {
        Ok(processes::client(url, SECRET, role, subject, Duration::from_secs(300)))
    }

    /// (current, peak) resident memory of each service in MiB.
    pub fn memory(&self) -> Vec<(String, f64, f64)> {
        self.services
            .iter()
            .filter_map(|p| p.memory_kib().map(|(rss, hwm)| (p.name.clone(), rss as f64 / 1024.0, hwm as f64 / 1024.0)))
            .collect()
    }
}

/// The tests' world-building (`xiaopu_testkit::world`) reaches the bench's services.
impl xiaopu_testkit::world::Connect for System {
    fn client(&self, service: &str, role: Role, subject: &str) -> Upstream {
        System::client(self, service, role, subject).expect("a client for a running service")
    }
}
