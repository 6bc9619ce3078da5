//! What every service binary's `main` does: read config, start telemetry, then either
//! apply migrations (`migrate`, as the Helm chart's hook Job does), check the
//! configuration (`check-config`), or serve until SIGTERM (`serve`, the default).
use std::{future::Future, process::ExitCode};

use sqlx::migrate::Migrator;

use crate::{
    config::{self, Defaults, Section, Settings},
    db,
    server::RunningServer,
    telemetry,
};

/// A Xiaopu service as its binary sees it.
pub trait ServiceApp {
    /// The service's own configuration section.
    type Section: Section + Send + 'static;
    /// The service's name (telemetry, health, the default database name).
    const NAME: &'static str;
    /// Where it listens unless configured otherwise.
    const DEFAULT_LISTEN_ADDR: &'static str;
    /// False for a service without a database of its own (the web front).
    const USES_DATABASE: bool = true;
    /// How long an idle connection is kept unless configured (`server.idle_timeout_ms`).
    const DEFAULT_IDLE_TIMEOUT_MS: u64 = 120_000;

    fn migrator() -> Migrator;
    fn start(settings: Settings<Self::Section>) -> impl Future<Output = anyhow::Result<RunningServer>> + Send;
}

/// Loads the service's settings from defaults, file and environment.
pub fn load_settings<A: ServiceApp>() -> Result<Settings<A::Section>, config::ConfigError> {
    config::load(&Defaults {
        service_name: A::NAME,
        listen_addr: A::DEFAULT_LISTEN_ADDR,
        idle_timeout_ms: A::DEFAULT_IDLE_TIMEOUT_MS,
        needs_database: A::USES_DATABASE,
    })
}

/// The whole of a service's `main`.
pub async fn main<A: ServiceApp>() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let settings = match load_settings::<A>() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{}: {err}", A::NAME);
            return ExitCode::from(2);
        }
    };
    let telemetry = match telemetry::init(&settings.common.telemetry) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("{}: {err:#}", A::NAME);
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "serve" => serve::<A>(settings).await,
        "migrate" => migrate::<A>(&settings).await,
        "check-config" => Ok(()),
        other => {
            eprintln!("{}: unknown command `{other}` (expected serve, migrate or check-config)", A::NAME);
            telemetry.shutdown();
            return ExitCode::from(2);
        }
    };
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "{} failed", A::NAME);
            eprintln!("{}: {err:#}", A::NAME);
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}

async fn serve<A: ServiceApp>(settings: Settings<A::Section>) -> anyhow::Result<()> {
    A::start(settings).await?.run_until_signalled().await
}

async fn migrate<A: ServiceApp>(settings: &Settings<A::Section>) -> anyhow::Result<()> {
    if !A::USES_DATABASE {
        tracing::info!("{} has no database: nothing to migrate", A::NAME);
        return Ok(());
    }
    let pool = db::pool(&settings.common.database, A::NAME)?;
    db::migrate_when_ready(&pool, A::migrator(), std::time::Duration::from_secs(120)).await
}
