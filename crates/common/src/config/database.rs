//! The `database` section: the PostgreSQL a service owns, its pool and statement timeout.
use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, Validate, default_true, positive};

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/database` (required).
    #[serde(default = "DatabaseSettings::no_url")]
    pub url: SecretString,
    #[serde(default = "DatabaseSettings::default_max_connections")]
    pub max_connections: u32,
    /// How long a call waits for a connection before failing with Unavailable.
    #[serde(default = "DatabaseSettings::default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
    #[serde(default = "DatabaseSettings::default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
    /// Apply pending migrations at start (under an advisory lock). Off when a
    /// migrations job runs them, as in the Helm chart.
    #[serde(default = "default_true")]
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Self::no_url(),
            max_connections: Self::default_max_connections(),
            acquire_timeout_ms: Self::default_acquire_timeout_ms(),
            statement_timeout_ms: Self::default_statement_timeout_ms(),
            migrate_on_start: true,
        }
    }
}

impl DatabaseSettings {
    fn no_url() -> SecretString {
        SecretString::from(String::new())
    }
    fn default_max_connections() -> u32 {
        10
    }
    fn default_acquire_timeout_ms() -> u64 {
        3_000
    }
    fn default_statement_timeout_ms() -> u64 {
        30_000
    }
}

impl Validate for DatabaseSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        let url = self.url.expose_secret();
        if url.is_empty() {
            return Err(ConfigError::invalid("database.url", "is required (e.g. XIAOPU_DATABASE__URL)"));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::invalid("database.url", "must be a postgres:// URL"));
        }
        positive("database.max_connections", u64::from(self.max_connections))?;
        positive("database.acquire_timeout_ms", self.acquire_timeout_ms)?;
        positive("database.statement_timeout_ms", self.statement_timeout_ms)
    }
}
