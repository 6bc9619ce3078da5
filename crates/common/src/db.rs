//! PostgreSQL: the pool every service uses and its migrations, run under sqlx's
//! advisory lock so several replicas starting at once apply them once.
use std::{str::FromStr, time::Duration};

use secrecy::ExposeSecret;
use sqlx::{
    PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::DatabaseSettings;

/// A pool that connects on first use, so a service starts (and reports NOT_SERVING)
/// while its database is still coming up.
pub fn pool(settings: &DatabaseSettings, application_name: &str) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(settings.url.expose_secret())?
        .application_name(application_name)
        .options([("statement_timeout", format!("{}ms", settings.statement_timeout_ms))]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .connect_lazy_with(options))
}

/// The feed's tables (outbox, cursor, inbox), shared by every service's database.
pub fn feed_migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    // Each database also holds its service's own migrations (versions from
    // 20260000000000 on); neither migrator may treat the other's as missing.
    migrator.set_ignore_missing(true);
    migrator
}

/// Applies the feed's migrations and then the service's.
pub async fn migrate(pool: &PgPool, mut service: Migrator) -> Result<(), sqlx::migrate::MigrateError> {
    feed_migrator().run(pool).await?;
    service.set_ignore_missing(true);
    service.run(pool).await
}

/// Applies migrations, waiting for the database to answer first (a pod may start
/// before its database); gives up after `patience`.
pub async fn migrate_when_ready(pool: &PgPool, service: Migrator, patience: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut delay = Duration::from_millis(200);
    loop {
        match ping(pool).await {
            Ok(()) => break,
            Err(err) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "database not answering yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(err) => return Err(anyhow::anyhow!("database did not answer within {patience:?}: {err}")),
        }
    }
    migrate(pool, service).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Makes every statement of the current transaction planned for the tables as they
/// are now, not from a generic plan cached earlier. Write paths whose tables grow
/// from empty during a burst need it: a plan cached while a table was small stays a
/// sequential scan as it grows (measured: 6 s against 5 ms for a 1000-key lookup in
/// 300k rows).
pub async fn plan_for_current_size(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)").execute(conn).await?;
    Ok(())
}

/// One round trip: does the database answer?
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// A stored value this build does not know (a state, a reason, a stage): an error
/// that names the column and the value, never a guess at what it meant.
pub fn unknown_value(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {column} `{value}` in the database").into())
}

/// Reads a domain enum stored as its text name straight from a row (in `query_as!`,
/// `status AS "status: _"`): a name this build does not know fails the read, naming
/// the column and the value. The type needs `parse(&str) -> Option<Self>`.
#[macro_export]
macro_rules! text_enum_column {
    ($ty:ty, $column:literal) => {
        impl ::sqlx::Type<::sqlx::Postgres> for $ty {
            fn type_info() -> ::sqlx::postgres::PgTypeInfo {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &::sqlx::postgres::PgTypeInfo) -> bool {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'r> ::sqlx::Decode<'r, ::sqlx::Postgres> for $ty {
            fn decode(value: ::sqlx::postgres::PgValueRef<'r>) -> Result<Self, ::sqlx::error::BoxDynError> {
                let name = <&str as ::sqlx::Decode<::sqlx::Postgres>>::decode(value)?;
                <$ty>::parse(name).ok_or_else(|| format!("unexpected {} `{name}` in the database", $column).into())
            }
        }
    };
}
