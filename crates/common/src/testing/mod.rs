//! Test support (feature `testing`): a fresh database per test on the PostgreSQL that
//! `make test` starts, settings for a server on a loopback port, and tokens.
pub mod grpc_web;
pub mod nats;
pub mod process;

use std::{net::SocketAddr, sync::Once, time::Duration};

use sqlx::{Connection, PgConnection};
use tonic::transport::Channel;

use crate::{
    auth::{Role, TokenSigner},
    config::{AuthSettings, CommonSettings, DatabaseSettings, FeedSettings, ServerSettings, TelemetrySettings},
};

/// The HS256 secret every test server and test token shares.
pub const TEST_SECRET: &str = "xiaopu-test-secret-0123456789abcdef";

/// A superuser URL to the test PostgreSQL server, from `XIAOPU_TEST_DATABASE_URL`
/// (`make test` starts a server and sets it).
pub fn admin_database_url() -> String {
    std::env::var("XIAOPU_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("XIAOPU_TEST_DATABASE_URL is not set: run the tests with `make test`, which starts PostgreSQL")
    })
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    pub name: String,
    admin_url: String,
}

impl TestDatabase {
    pub async fn create(prefix: &str) -> Self {
        Self::create_on(&admin_database_url(), prefix).await
    }

    /// The same on another server (a fault test's own cluster).
    pub async fn create_on(admin_url: &str, prefix: &str) -> Self {
        let admin_url = admin_url.to_owned();
        let name = format!("t_{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await.expect("create test database");
        let url = with_database(&admin_url, &name);
        Self { url, name, admin_url }
    }

    pub async fn connect(&self) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&self.url).await.expect("connect test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Settings for a service under test: loopback port 0, the test secret, quiet logs.
pub fn common_settings(database_url: &str, service_name: &str) -> CommonSettings {
    CommonSettings {
        server: ServerSettings {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            health_check_interval_ms: 100,
            health_listen_addr: None,
            shutdown_grace_ms: 5_000,
            ..ServerSettings::default()
        },
        database: DatabaseSettings {
            url: database_url.to_owned().into(),
            max_connections: 8,
            acquire_timeout_ms: 2_000,
            statement_timeout_ms: 30_000,
            migrate_on_start: true,
        },
        telemetry: TelemetrySettings { service_name: service_name.into(), ..TelemetrySettings::default() },
        auth: AuthSettings { secret: Some(TEST_SECRET.to_owned().into()), ..AuthSettings::default() },
        feed: FeedSettings::default(),
    }
}

/// The bytes of the key test servers seal payees' details with.
pub const TEST_PAYEE_KEY: [u8; 32] = [42; 32];

/// A file holding [`TEST_PAYEE_KEY`] (written once per test process), for
/// `settlement.payee_key_path`.
pub fn payee_key_file() -> std::path::PathBuf {
    use base64::Engine;
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("xiaopu-test-payee-{}.key", std::process::id()));
        let text = base64::engine::general_purpose::STANDARD.encode(TEST_PAYEE_KEY);
        std::fs::write(&path, text).expect("write the test payee key");
        path
    })
    .clone()
}

/// A valid token for `role`/`subject` signed with [`TEST_SECRET`].
pub fn token(role: Role, subject: &str) -> String {
    TokenSigner::hs256(TEST_SECRET.as_bytes()).mint(role, subject, Duration::from_secs(3600)).expect("mint test token")
}

/// A request carrying a bearer token for `role`/`subject`.
pub fn authed<T>(message: T, role: Role, subject: &str) -> tonic::Request<T> {
    with_token(message, &token(role, subject))
}

/// A request carrying the given bearer token.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}").parse().expect("token is ASCII");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A channel to a server under test.
pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("loopback URL")
        .connect()
        .await
        .expect("connect to test server")
}

/// Polls `check` every 25 ms until it yields a value, for at most `within`, and
/// panics naming `what` otherwise: the one way tests wait for what happens
/// asynchronously (a feed applied, a shop suspended, a server serving).
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {within:?} waiting until {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Logs for a test run when `TEST_LOG` is set (its value is the filter), else none.
pub fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let settings = TelemetrySettings { log_filter: filter, ..TelemetrySettings::default() };
            let _ = crate::telemetry::install(&settings, None, std::io::stderr);
        }
    });
}

/// One test per feed transport from one body: `transport_matrix!(#[tokio::test] name)`
/// runs `async fn name(transport: FeedTransportKind)` as `name::outbox` and
/// `name::jetstream`.
#[macro_export]
macro_rules! transport_matrix {
    ($(#[$attr:meta])* $test:ident) => {
        mod $test {
            $(#[$attr])*
            async fn outbox() {
                super::$test($crate::config::FeedTransportKind::Outbox).await
            }
            $(#[$attr])*
            async fn jetstream() {
                super::$test($crate::config::FeedTransportKind::Jetstream).await
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(with_database("postgres://u:p@h:5/postgres", "t1"), "postgres://u:p@h:5/t1");
        assert_eq!(
            with_database("postgres://u@h:5/postgres?sslmode=disable", "t1"),
            "postgres://u@h:5/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:5", "t1"), "postgres://h:5/t1");
    }
}
