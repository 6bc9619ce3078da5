//! The web face of Xiaopu, a fifth deployable that owns no database and talks to the
//! four services over gRPC only:
//! - `/s/{code}`: the mini-shop page a share link opens, rendered on the server for a
//!   phone's in-app browser; it records the click for attribution;
//! - `/app`: the promoter app (店主), mobile-first: status, shop, supply, listings,
//!   share links with QR codes, orders, earnings and per-link figures;
//! - `/supplier`: the supplier portal: products, rates and their history, charges;
//! - `/console`: the finance console for payout batches, holds and reconciliation.
//!
//! Signed-in areas call the services with the user's own token (`session`).
mod code_entry;
mod console;
mod http_server;
mod i18n;
mod pages;
mod promoter;
mod session;
mod shop;
mod supplier;
mod views;
mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use xiaopu_api::{
    attribution::attribution_service_client::AttributionServiceClient,
    eligibility::eligibility_service_client::EligibilityServiceClient,
    settlement::settlement_service_client::SettlementServiceClient,
    storefront::storefront_service_client::StorefrontServiceClient,
};
use xiaopu_common::{
    auth::{TokenSigner, TokenVerifier},
    config::{self, ConfigError, Section, UpstreamSettings, Validate},
    grpc_client::{CallCredentials, Upstream, channel, upstream},
    server::RunningServer,
    service::ServiceApp,
};

pub use http_server::router;
pub use pages::url_encode;

/// The web front's whole configuration.
pub type Settings = config::Settings<WebSettings>;

/// `XIAOPU_WEB__…`
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebSettings {
    /// `XIAOPU_WEB__STOREFRONT__URL` and so on: the services it calls.
    pub eligibility: UpstreamSettings,
    pub storefront: UpstreamSettings,
    pub attribution: UpstreamSettings,
    pub settlement: UpstreamSettings,
    /// The platform's product page a buy button opens; `{product_id}` and `{code}`
    /// (the share code, which the order system expects on the order) are replaced.
    pub buy_url_template: String,
    /// Listings per shop page.
    pub page_size: i32,
    /// A development sign-in on /console that mints a finance token from a name.
    /// Never on in production: the platform's identity provider issues tokens there.
    pub dev_sign_in: bool,
    /// Mark cookies `Secure` (served over TLS, as behind the ingress).
    pub secure_cookies: bool,
    /// How long a console sign-in lasts at most (the token's own expiry also ends it).
    pub session_minutes: u64,
    /// How long recording a click may hold up the page before it is given up.
    pub click_timeout_ms: u64,
    /// Optional: a secret only for minting development sign-in tokens when the auth
    /// section verifies with a public key.
    pub dev_sign_in_secret: Option<SecretString>,
    /// The finance team's time zone as an offset from UTC: a period typed as dates
    /// starts and ends at local midnight (China Standard Time by default).
    pub utc_offset_minutes: i32,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            eligibility: UpstreamSettings::new("http://127.0.0.1:50051"),
            storefront: UpstreamSettings::new("http://127.0.0.1:50052"),
            attribution: UpstreamSettings::new("http://127.0.0.1:50053"),
            settlement: UpstreamSettings::new("http://127.0.0.1:50054"),
            buy_url_template: "https://mall.example.com/item/{product_id}?share_code={code}".into(),
            page_size: 20,
            dev_sign_in: false,
            secure_cookies: true,
            session_minutes: 8 * 60,
            click_timeout_ms: 800,
            dev_sign_in_secret: None,
            utc_offset_minutes: 8 * 60,
        }
    }
}

impl Section for WebSettings {
    const KEY: &'static str = "web";
}

impl Validate for WebSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.eligibility.validate("web.eligibility")?;
        self.storefront.validate("web.storefront")?;
        self.attribution.validate("web.attribution")?;
        self.settlement.validate("web.settlement")?;
        if !self.buy_url_template.contains("{product_id}") || !self.buy_url_template.contains("{code}") {
            return Err(ConfigError::invalid("web.buy_url_template", "must contain {product_id} and {code}"));
        }
        if !(1..=50).contains(&self.page_size) {
            return Err(ConfigError::invalid("web.page_size", "must be between 1 and 50"));
        }
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(ConfigError::invalid("web.utc_offset_minutes", "must be between -840 and 840"));
        }
        if self.session_minutes == 0 {
            return Err(ConfigError::invalid("web.session_minutes", "must be positive"));
        }
        Ok(())
    }
}

/// What every handler shares: clients of the services, and the keys.
pub struct App {
    pub settings: WebSettings,
    /// Calls made as the web front itself (role `service`).
    pub storefront: StorefrontServiceClient<Upstream>,
    pub attribution: AttributionServiceClient<Upstream>,
    /// Calls made on behalf of the signed-in user (finance, promoter or supplier),
    /// with their own token.
    pub settlement_as_user: SettlementServiceClient<tonic::transport::Channel>,
    pub attribution_as_user: AttributionServiceClient<tonic::transport::Channel>,
    pub storefront_as_user: StorefrontServiceClient<tonic::transport::Channel>,
    pub eligibility_as_user: EligibilityServiceClient<tonic::transport::Channel>,
    pub verifier: TokenVerifier,
    /// Mints development sign-in tokens, when that is on.
    pub dev_signer: Option<TokenSigner>,
    /// Cancelled when the server starts draining.
    pub shutdown: CancellationToken,
    /// The finance team's time zone.
    offset: FixedOffset,
}

pub type SharedApp = Arc<App>;

impl App {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let common = &settings.common;
        let web = &settings.service;
        let signer = TokenSigner::from_settings(&common.auth)?;
        let credentials = CallCredentials::of_service(signer.clone(), common)?;
        let dev_signer = match (&web.dev_sign_in, &web.dev_sign_in_secret) {
            (false, _) => None,
            (true, Some(secret)) => Some(TokenSigner::hs256(secret.expose_secret().as_bytes())),
            (true, None) => Some(signer),
        };
        Ok(Self {
            settings: web.clone(),
            storefront: StorefrontServiceClient::new(upstream(&web.storefront, "web.storefront", credentials.clone())?),
            attribution: AttributionServiceClient::new(upstream(&web.attribution, "web.attribution", credentials)?),
            settlement_as_user: SettlementServiceClient::new(channel(&web.settlement, "web.settlement")?),
            attribution_as_user: AttributionServiceClient::new(channel(&web.attribution, "web.attribution")?),
            storefront_as_user: StorefrontServiceClient::new(channel(&web.storefront, "web.storefront")?),
            eligibility_as_user: EligibilityServiceClient::new(channel(&web.eligibility, "web.eligibility")?),
            verifier: TokenVerifier::from_settings(&common.auth)?,
            dev_signer,
            shutdown: CancellationToken::new(),
            offset: FixedOffset::east_opt(web.utc_offset_minutes * 60)
                .ok_or_else(|| anyhow::anyhow!("web.utc_offset_minutes: out of range"))?,
        })
    }
}

impl App {
    /// The finance team's calendar date at `at`.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }

    /// `2026-11-23 14:05` in the finance team's time zone.
    pub fn local_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.offset).format("%Y-%m-%d %H:%M").to_string()
    }

    /// A service's timestamp in the finance team's time zone; empty when unset.
    pub fn local_time_of(&self, at: &Option<prost_types::Timestamp>) -> String {
        at.as_ref().and_then(xiaopu_common::time::from_timestamp).map(|t| self.local_time(t)).unwrap_or_default()
    }

    /// A period bound as finance types it, in their time zone: a date (`YYYY-MM-DD`,
    /// its midnight) or a date and time (`YYYY-MM-DDTHH:MM[:SS]`, as a browser's
    /// datetime-local field sends it), as an instant.
    pub fn day_start(&self, bound: &str) -> Option<DateTime<Utc>> {
        let bound = bound.trim();
        let local = match NaiveDate::parse_from_str(bound, "%Y-%m-%d") {
            Ok(date) => date.and_hms_opt(0, 0, 0)?,
            Err(_) => chrono::NaiveDateTime::parse_from_str(bound, "%Y-%m-%dT%H:%M:%S")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(bound, "%Y-%m-%dT%H:%M"))
                .ok()?,
        };
        local.and_local_timezone(self.offset).single().map(|t| t.with_timezone(&Utc))
    }
}

/// A period as a page's form carries it: the dates as typed (or the defaults), and
/// their instants.
pub struct TypedPeriod {
    pub from: String,
    pub to: String,
    pub from_at: DateTime<Utc>,
    pub to_at: DateTime<Utc>,
}

/// Which month a period page shows when the user typed no dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultMonth {
    /// This month so far: what a promoter watches.
    This,
    /// Last month: the period finance has most likely closed.
    Last,
}

impl App {
    /// `from`/`to` as typed, each defaulting to its bound of `month` (in the
    /// platform's time zone); None when a bound cannot be read.
    pub fn typed_period(&self, from: &str, to: &str, month: DefaultMonth) -> Option<TypedPeriod> {
        let today = self.local_date(Utc::now());
        let this_month = today.with_day(1).unwrap_or(today);
        let default = match month {
            DefaultMonth::This => (this_month, this_month.checked_add_months(Months::new(1)).unwrap_or(today)),
            DefaultMonth::Last => (this_month.checked_sub_months(Months::new(1)).unwrap_or(this_month), this_month),
        };
        let from = if from.is_empty() { default.0.to_string() } else { from.to_owned() };
        let to = if to.is_empty() { default.1.to_string() } else { to.to_owned() };
        Some(TypedPeriod { from_at: self.day_start(&from)?, to_at: self.day_start(&to)?, from, to })
    }
}

/// The binary's view of the web front.
pub struct Web;

impl ServiceApp for Web {
    type Section = WebSettings;
    const NAME: &'static str = "web";
    const DEFAULT_LISTEN_ADDR: &'static str = "127.0.0.1:8080";
    const USES_DATABASE: bool = false;
    /// A browser's idle keep-alive connection, or a request whose headers stall, is
    /// dropped after 15 s (a browser simply opens another).
    const DEFAULT_IDLE_TIMEOUT_MS: u64 = 15_000;

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate::Migrator::DEFAULT
    }

    async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
        start(settings).await
    }
}

/// Starts the HTTP server on the configured address.
pub async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
    let app = Arc::new(App::new(&settings)?);
    http_server::serve(&settings.common.server, app).await
}
