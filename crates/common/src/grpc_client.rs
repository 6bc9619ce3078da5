//! Calling another service: a lazily connecting channel with deadlines, this
//! service's own bearer token, and the current trace context on every call.
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint},
};

use crate::{
    auth::{Role, TokenSigner},
    config::{ConfigError, UpstreamSettings},
    telemetry::inject_current_context,
};

/// A channel to another service with [`CallCredentials`] attached.
pub type Upstream = InterceptedService<Channel, CallCredentials>;

/// Builds the channel; it connects on first use, so a peer that is down makes calls
/// fail with Unavailable rather than blocking start-up.
pub fn upstream(settings: &UpstreamSettings, key: &str, credentials: CallCredentials) -> Result<Upstream, ConfigError> {
    Ok(InterceptedService::new(channel(settings, key)?, credentials))
}

/// The bare channel, for calls made on behalf of a signed-in user with their own
/// token (see [`on_behalf_of`]).
pub fn channel(settings: &UpstreamSettings, key: &str) -> Result<Channel, ConfigError> {
    let mut endpoint = Endpoint::from_shared(settings.url.clone())
        .map_err(|e| ConfigError::invalid(format!("{key}.url"), e.to_string()))?
        .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .timeout(Duration::from_millis(settings.timeout_ms))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if settings.url.starts_with("https://") {
        let mut tls = ClientTlsConfig::new();
        if let Some(path) = &settings.ca_cert_path {
            let pem = std::fs::read(path).map_err(|e| {
                ConfigError::invalid(format!("{key}.ca_cert_path"), format!("cannot read {}: {e}", path.display()))
            })?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls).map_err(|e| ConfigError::invalid(format!("{key}.url"), e.to_string()))?;
    }
    Ok(endpoint.connect_lazy())
}

/// `Bearer <token>` as a metadata value; None when the token cannot be one.
pub fn bearer(token: &str) -> Option<MetadataValue<Ascii>> {
    format!("Bearer {token}").parse().ok()
}

/// A request carrying a user's own bearer (see [`bearer`]) and the current trace
/// context: the called service authorises the user, not the caller in between.
pub fn on_behalf_of<T>(message: T, bearer: &MetadataValue<Ascii>) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", bearer.clone());
    inject_current_context(request.metadata_mut());
    request
}

/// Adds `authorization: Bearer <token>` (minted by this service, cached until close
/// to expiry) and the W3C trace context to each outgoing call.
#[derive(Clone)]
pub struct CallCredentials {
    inner: Arc<Credentials>,
}

struct Credentials {
    source: Source,
    cached: Mutex<Option<(String, Instant)>>,
}

/// Where a service's own token comes from.
enum Source {
    /// Minted here (local runs: the shared HS256 secret).
    Mint { signer: Box<TokenSigner>, role: Role, subject: String, ttl: Duration },
    /// Issued by the identity provider into a file, re-read as it rotates.
    File(std::path::PathBuf),
}

/// How long a token read from a file is used before the file is read again.
const FILE_TOKEN_REREAD: Duration = Duration::from_secs(30);

impl CallCredentials {
    /// This service's own credentials: role `service`, its name as subject, signed
    /// with its configured key.
    /// — or, when `auth.service_token_path` is set, the identity provider's token for it.
    pub fn of_service(
        signer: TokenSigner,
        settings: &crate::config::CommonSettings,
    ) -> Result<Self, crate::config::ConfigError> {
        if let Some(path) = &settings.auth.service_token_path {
            return Ok(Self::from_source(Source::File(path.clone())));
        }
        if !signer.can_sign() {
            return Err(crate::config::ConfigError::invalid(
                "auth.service_token_path",
                "is required for a service that calls others when tokens are verified with a public key",
            ));
        }
        Ok(Self::new(
            signer,
            Role::Service,
            &settings.telemetry.service_name,
            Duration::from_secs(settings.auth.service_token_ttl_seconds),
        ))
    }

    pub fn new(signer: TokenSigner, role: Role, subject: &str, ttl: Duration) -> Self {
        Self::from_source(Source::Mint { signer: Box::new(signer), role, subject: subject.into(), ttl })
    }

    fn from_source(source: Source) -> Self {
        Self { inner: Arc::new(Credentials { source, cached: Mutex::new(None) }) }
    }

    fn token(&self) -> Result<String, Status> {
        let creds = &self.inner;
        let mut cached = creds.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((token, renew_at)) = cached.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let (token, renew_at) = match &creds.source {
            Source::Mint { signer, role, subject, ttl } => {
                let token = signer
                    .mint(*role, subject, *ttl)
                    .map_err(|e| Status::internal(format!("cannot sign service token: {e}")))?;
                (token, Instant::now() + *ttl * 3 / 4)
            }
            Source::File(path) => {
                let token = std::fs::read_to_string(path).map_err(|e| {
                    Status::unavailable(format!("cannot read the service token at {}: {e}", path.display()))
                })?;
                (token.trim().to_owned(), Instant::now() + FILE_TOKEN_REREAD)
            }
        };
        *cached = Some((token.clone(), renew_at));
        Ok(token)
    }
}

impl Interceptor for CallCredentials {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let bearer = format!("Bearer {}", self.token()?);
        let value = bearer.parse().map_err(|_| Status::internal("service token is not valid metadata"))?;
        request.metadata_mut().insert("authorization", value);
        inject_current_context(request.metadata_mut());
        Ok(request)
    }
}
