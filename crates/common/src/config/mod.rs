//! Layered configuration: built-in defaults, then an optional TOML file, then
//! environment variables. Variables are `XIAOPU_` followed by the key path with `__`
//! between sections, e.g. `XIAOPU_DATABASE__URL`, `XIAOPU_SERVER__LISTEN_ADDR`,
//! `XIAOPU_ELIGIBILITY__THRESHOLD`. The file comes from `XIAOPU_CONFIG_FILE`.
use std::path::PathBuf;

use serde::de::DeserializeOwned;

mod auth;
mod database;
mod feed;
mod server;
mod telemetry;
mod upstream;

pub use auth::*;
pub use database::*;
pub use feed::*;
pub use server::*;
pub use telemetry::*;
pub use upstream::*;

/// A configuration that could not be used, naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {rule}")]
    Invalid { key: String, rule: String },
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid { key: key.into(), rule: rule.into() }
    }

    /// The business time zone `name` (the value of `key`), if it is one.
    pub fn zone(key: &str, name: &str) -> Result<crate::time::Zone, Self> {
        crate::time::Zone::parse(name)
            .ok_or_else(|| Self::invalid(key, "must be an IANA zone name, e.g. Asia/Shanghai"))
    }
}

/// Checks the values serde cannot: ranges, consistency between keys.
pub trait Validate {
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Service-specific defaults applied beneath the file and the environment.
pub struct Defaults<'a> {
    /// Used for telemetry and the default database name.
    pub service_name: &'a str,
    pub listen_addr: &'a str,
    /// `server.idle_timeout_ms` unless configured: browsers' HTTP/1 connections may
    /// idle out sooner than gRPC peers'.
    pub idle_timeout_ms: u64,
    /// False for a service that owns no database (the web front): `database.url`
    /// is then not required.
    pub needs_database: bool,
}

/// A service's own section of the configuration, e.g. `[eligibility]`.
pub trait Section: DeserializeOwned + Default + Validate {
    /// The section's key, which is also its environment prefix (`XIAOPU_<KEY>__…`).
    const KEY: &'static str;
}

/// A service's whole configuration: the common sections and its own.
#[derive(Debug, Clone)]
pub struct Settings<S> {
    pub common: CommonSettings,
    pub service: S,
}

/// Loads settings from defaults, `XIAOPU_CONFIG_FILE` (if set) and `XIAOPU_*` variables.
pub fn load<S: Section>(defaults: &Defaults<'_>) -> Result<Settings<S>, ConfigError> {
    let file = std::env::var_os("XIAOPU_CONFIG_FILE").map(PathBuf::from);
    load_from(defaults, file, config::Environment::with_prefix("XIAOPU"))
}

/// Like [`load`], with the file and environment source given: tests use this.
pub fn load_from<S: Section>(
    defaults: &Defaults<'_>,
    file: Option<PathBuf>,
    environment: config::Environment,
) -> Result<Settings<S>, ConfigError> {
    let mut builder = config::Config::builder()
        .set_default("telemetry.service_name", defaults.service_name)?
        .set_default("server.listen_addr", defaults.listen_addr)?
        .set_default("server.idle_timeout_ms", defaults.idle_timeout_ms)?;
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).required(true));
    }
    let layered = builder.add_source(environment.prefix_separator("_").separator("__").try_parsing(true)).build()?;
    // Each section is read by its key, so an error names the full key path.
    let common = CommonSettings {
        server: section(&layered, "server")?,
        database: section(&layered, "database")?,
        telemetry: section(&layered, "telemetry")?,
        auth: section(&layered, "auth")?,
        feed: section(&layered, "feed")?,
    };
    let service: S = section(&layered, S::KEY)?;
    if defaults.needs_database {
        common.database.validate()?;
    }
    common.validate()?;
    service.validate()?;
    Ok(Settings { common, service })
}

/// Reads one section; a bad value's error names its full key, e.g.
/// `server.request_timeout_ms`.
fn section<T: DeserializeOwned + Default>(layered: &config::Config, key: &str) -> Result<T, ConfigError> {
    let value = match layered.get::<config::Value>(key) {
        Ok(value) => value,
        Err(config::ConfigError::NotFound(_)) => return Ok(T::default()),
        Err(err) => return Err(err.into()),
    };
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let full = if path == "." { key.to_owned() } else { format!("{key}.{path}") };
        ConfigError::invalid(full, err.into_inner().to_string())
    })
}

/// The sections every service has.
#[derive(Debug, Clone, Default)]
pub struct CommonSettings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    pub auth: AuthSettings,
    pub feed: FeedSettings,
}

/// The database section is checked by [`load_from`] only for services that have one.
impl Validate for CommonSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.telemetry.validate()?;
        self.auth.validate()?;
        self.feed.validate()
    }
}

fn default_true() -> bool {
    true
}

/// Fails with the key named when `value` is zero.
pub fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::invalid(key, "must be greater than 0"));
    }
    Ok(())
}
