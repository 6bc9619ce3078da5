//! Bearer JWT authentication: one tower layer verifies the token of every call and
//! hands the handler a typed [`Caller`]; handlers then authorise against the
//! resource's owner.
use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::future::{Either, Ready, ready};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tonic::{Code, Status};

use crate::{
    config::{AuthSettings, ConfigError, TokenAlgorithm},
    error::{reason, status_with_reason},
    validate,
};

/// Who a caller is to Xiaopu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Promoter,
    Supplier,
    Finance,
    /// Another Xiaopu service or a platform system (order system, link redirector).
    Service,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Promoter, Role::Supplier, Role::Finance, Role::Service, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Promoter => "promoter",
            Role::Supplier => "supplier",
            Role::Finance => "finance",
            Role::Service => "service",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}` (expected one of promoter, supplier, finance, service, admin)"))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims Xiaopu reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before: the token is refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// The authenticated caller of an RPC, put into the request's extensions by [`AuthLayer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub role: Role,
}

impl Caller {
    pub fn new(role: Role, subject: impl Into<String>) -> Self {
        Self { subject: subject.into(), role }
    }

    /// PermissionDenied unless the caller has one of `roles`.
    pub fn require_role(&self, roles: &[Role]) -> Result<(), Status> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(status_with_reason(
            Code::PermissionDenied,
            reason::ROLE_NOT_ALLOWED,
            format!("role `{}` may not call this; allowed: {}", self.role, allowed.join(", ")),
        ))
    }

    /// PermissionDenied unless the caller is `owner` acting in `owner_role`, or has one
    /// of the `privileged` roles (which may act on anyone's resources).
    pub fn require_owner(&self, owner_role: Role, owner: &str, privileged: &[Role]) -> Result<(), Status> {
        if privileged.contains(&self.role) || (self.role == owner_role && self.subject == owner) {
            return Ok(());
        }
        Err(status_with_reason(
            Code::PermissionDenied,
            reason::NOT_OWNER,
            format!("{} `{}` may not act on a resource of `{owner}`", self.role, self.subject),
        ))
    }
}

/// Reads the [`Caller`] the auth layer attached to a request.
pub trait CallerExt {
    fn caller(&self) -> Result<&Caller, Status>;
}

impl<T> CallerExt for tonic::Request<T> {
    fn caller(&self) -> Result<&Caller, Status> {
        self.extensions()
            .get::<Caller>()
            .ok_or_else(|| status_with_reason(Code::Unauthenticated, reason::TOKEN_MISSING, "no authenticated caller"))
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing bearer token: send `authorization: Bearer <jwt>`")]
    Missing,
    #[error("malformed authorization header: expected `Bearer <jwt>`")]
    Malformed,
    #[error("token expired")]
    Expired,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token rejected: {0}")]
    Invalid(String),
}

impl From<AuthError> for Status {
    fn from(err: AuthError) -> Self {
        let why = match err {
            AuthError::Missing => reason::TOKEN_MISSING,
            AuthError::Expired => reason::TOKEN_EXPIRED,
            AuthError::Malformed | AuthError::BadSignature | AuthError::Invalid(_) => reason::TOKEN_INVALID,
        };
        status_with_reason(Code::Unauthenticated, why, err.to_string())
    }
}

fn algorithm(alg: TokenAlgorithm) -> Algorithm {
    match alg {
        TokenAlgorithm::HS256 => Algorithm::HS256,
        TokenAlgorithm::RS256 => Algorithm::RS256,
        TokenAlgorithm::EdDSA => Algorithm::EdDSA,
    }
}

/// Verifies bearer tokens with the configured key, or the identity provider's key
/// named by each token's `kid`.
pub struct TokenVerifier {
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
    max_lifetime_seconds: i64,
}

/// The keys of a JWKS file, each with its `kid`.
fn jwks(path: &std::path::Path) -> Result<Vec<(Option<String>, DecodingKey)>, ConfigError> {
    let bad = |why: String| ConfigError::invalid("auth.jwks_path", why);
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(&text).map_err(|e| bad(format!("{} is not a JWKS: {e}", path.display())))?;
    let keys = set
        .keys
        .iter()
        .map(|jwk| {
            let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(format!("unusable key: {e}")))?;
            Ok((jwk.common.key_id.clone(), key))
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    if keys.is_empty() {
        return Err(bad(format!("{} holds no key", path.display())));
    }
    Ok(keys)
}

impl TokenVerifier {
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, ConfigError> {
        let keys = match (settings.algorithm, &settings.jwks_path) {
            (TokenAlgorithm::HS256, _) => {
                let secret = settings
                    .secret
                    .as_ref()
                    .ok_or_else(|| ConfigError::invalid("auth.secret", "is required when auth.algorithm is HS256"))?;
                vec![(None, DecodingKey::from_secret(secret.expose_secret().as_bytes()))]
            }
            (_, Some(path)) => jwks(path)?,
            (alg, None) => {
                let pem = settings
                    .public_key_pem
                    .as_deref()
                    .ok_or_else(|| ConfigError::invalid("auth.public_key_pem", "is required for RS256 and EdDSA"))?;
                let parsed = if alg == TokenAlgorithm::RS256 {
                    DecodingKey::from_rsa_pem(pem.as_bytes())
                } else {
                    DecodingKey::from_ed_pem(pem.as_bytes())
                };
                vec![(
                    None,
                    parsed.map_err(|e| ConfigError::invalid("auth.public_key_pem", format!("unreadable key: {e}")))?,
                )]
            }
        };
        let mut validation = Validation::new(algorithm(settings.algorithm));
        validation.leeway = settings.leeway_seconds;
        validation.validate_nbf = true;
        // A configured issuer or audience must be present, not only right when present.
        let mut required = vec!["exp", "sub"];
        match &settings.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &settings.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let max_lifetime_seconds = i64::try_from(settings.max_token_lifetime_seconds)
            .unwrap_or(i64::MAX)
            .saturating_add(i64::try_from(settings.leeway_seconds).unwrap_or(0));
        Ok(Self { keys, validation, max_lifetime_seconds })
    }

    /// The key that verifies `token`: the only one, or the one its `kid` names.
    fn key_for(&self, token: &str) -> Result<&DecodingKey, AuthError> {
        if let [(_, key)] = self.keys.as_slice() {
            return Ok(key);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let kid = header.kid.ok_or_else(|| AuthError::Invalid("token names no key (`kid`)".into()))?;
        self.keys
            .iter()
            .find(|(id, _)| id.as_deref() == Some(kid.as_str()))
            .map(|(_, key)| key)
            .ok_or_else(|| AuthError::Invalid(format!("token key `{kid}` is not one of the identity provider's")))
    }

    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, self.key_for(token)?, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::InvalidSignature => AuthError::BadSignature,
                    ErrorKind::ImmatureSignature => AuthError::Invalid("token is not valid yet (`nbf`)".into()),
                    _ => AuthError::Invalid(e.to_string()),
                }
            })?;
        let claims = data.claims;
        // The subject becomes the owner id of what the caller creates, so it must be
        // an id every service accepts (see `validate::id`); refused here, up front,
        // rather than by whichever service first stores it.
        validate::id("sub", &claims.sub).map_err(|v| AuthError::Invalid(format!("claim `sub` {}", v.rule)))?;
        // A stolen token is only as dangerous as it is long-lived: refuse one issued to
        // live longer than policy allows, however far its `exp` is.
        let now = chrono::Utc::now().timestamp();
        let lived_from = claims.iat.unwrap_or(now).min(now);
        if claims.exp.saturating_sub(lived_from) > self.max_lifetime_seconds {
            return Err(AuthError::Invalid(format!(
                "token lifetime exceeds the {} s this service accepts (auth.max_token_lifetime_seconds)",
                self.max_lifetime_seconds
            )));
        }
        Ok(Caller::new(claims.role, claims.sub))
    }

    /// Verifies the `authorization` header of a request.
    pub fn verify_headers(&self, headers: &http::HeaderMap) -> Result<Caller, AuthError> {
        let value = headers.get(http::header::AUTHORIZATION).ok_or(AuthError::Missing)?;
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        let token =
            value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or(AuthError::Malformed)?;
        self.verify(token.trim())
    }
}

/// Mints tokens: a service's own identity for its outgoing calls, and the CLI's
/// local tokens (HS256 with the shared secret).
#[derive(Clone)]
pub struct TokenSigner {
    /// None for a service that presents the identity provider's token instead
    /// (`auth.service_token_path`): it can mint nothing.
    key: Option<EncodingKey>,
    header: Header,
    issuer: Option<String>,
    audience: Option<String>,
}

impl TokenSigner {
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, ConfigError> {
        let key = match settings.algorithm {
            TokenAlgorithm::HS256 => {
                let secret = settings
                    .secret
                    .as_ref()
                    .ok_or_else(|| ConfigError::invalid("auth.secret", "is required when auth.algorithm is HS256"))?;
                Some(EncodingKey::from_secret(secret.expose_secret().as_bytes()))
            }
            // Verifying with public keys, a service normally signs nothing: it presents
            // the provider's token (`auth.service_token_path`) if it calls others.
            _ if settings.private_key_pem.is_none() => None,
            alg => {
                let pem =
                    settings.private_key_pem.as_ref().map(|pem| pem.expose_secret().as_bytes()).unwrap_or_default();
                let parsed = if alg == TokenAlgorithm::RS256 {
                    EncodingKey::from_rsa_pem(pem)
                } else {
                    EncodingKey::from_ed_pem(pem)
                };
                Some(parsed.map_err(|e| ConfigError::invalid("auth.private_key_pem", format!("unreadable key: {e}")))?)
            }
        };
        Ok(Self {
            key,
            header: Header::new(algorithm(settings.algorithm)),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    /// An HS256 signer for a shared secret.
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            key: Some(EncodingKey::from_secret(secret)),
            header: Header::new(Algorithm::HS256),
            issuer: None,
            audience: None,
        }
    }

    /// Whether this signer holds a key (a key-less one mints nothing).
    pub fn can_sign(&self) -> bool {
        self.key.is_some()
    }

    pub fn mint(&self, role: Role, subject: &str, ttl: Duration) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        self.mint_claims(&Claims {
            sub: subject.to_owned(),
            role,
            exp: now.saturating_add(ttl),
            iat: Some(now),
            nbf: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        })
    }

    pub fn mint_claims(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let key = self.key.as_ref().ok_or(ErrorKind::InvalidKeyFormat)?;
        jsonwebtoken::encode(&self.header, claims, key)
    }

    /// A signer whose tokens name their key (`kid`), as an identity provider's do.
    pub fn with_key_id(mut self, kid: &str) -> Self {
        self.header.kid = Some(kid.to_owned());
        self
    }
}

/// gRPC paths served without a token: Kubernetes probes and API discovery.
const PUBLIC_PATHS: &[&str] = &["/grpc.health.v1.Health/"];
const REFLECTION_PATHS: &[&str] =
    &["/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"];

/// Tower layer that authenticates every call except health (and reflection when
/// public), answering Unauthenticated itself so handlers only see verified callers.
#[derive(Clone)]
pub struct AuthLayer {
    verifier: Arc<TokenVerifier>,
    public_reflection: bool,
}

impl AuthLayer {
    pub fn new(verifier: Arc<TokenVerifier>, public_reflection: bool) -> Self {
        Self { verifier, public_reflection }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, verifier: self.verifier.clone(), public_reflection: self.public_reflection }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Arc<TokenVerifier>,
    public_reflection: bool,
}

impl<S> AuthService<S> {
    fn is_public(&self, path: &str) -> bool {
        PUBLIC_PATHS.iter().any(|p| path.starts_with(p))
            || (self.public_reflection && REFLECTION_PATHS.iter().any(|p| path.starts_with(p)))
    }
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Self::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if self.is_public(request.uri().path()) {
            return Either::Right(self.inner.call(request));
        }
        match self.verifier.verify_headers(request.headers()) {
            Ok(caller) => {
                tracing::Span::current().record("enduser.id", caller.subject.as_str());
                tracing::Span::current().record("enduser.role", caller.role.as_str());
                request.extensions_mut().insert(caller);
                Either::Right(self.inner.call(request))
            }
            Err(err) => Either::Left(ready(Ok(Status::from(err).into_http()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        AuthSettings { secret: Some("0123456789abcdef0123456789abcdef".to_string().into()), ..AuthSettings::default() }
    }

    #[test]
    fn minted_token_round_trips() {
        let signer = TokenSigner::from_settings(&settings()).expect("signer");
        let verifier = TokenVerifier::from_settings(&settings()).expect("verifier");
        let token = signer.mint(Role::Finance, "f1", Duration::from_secs(60)).expect("mint");
        assert_eq!(verifier.verify(&token), Ok(Caller::new(Role::Finance, "f1")));
    }

    #[test]
    fn expired_forged_and_malformed_tokens_are_refused() {
        let verifier = TokenVerifier::from_settings(&settings()).expect("verifier");
        let signer = TokenSigner::from_settings(&settings()).expect("signer");
        let expired = signer
            .mint_claims(&Claims {
                sub: "p1".into(),
                role: Role::Promoter,
                exp: chrono::Utc::now().timestamp() - 3600,
                iat: None,
                nbf: None,
                iss: None,
                aud: None,
            })
            .expect("mint");
        assert_eq!(verifier.verify(&expired), Err(AuthError::Expired));
        let forged = TokenSigner::hs256(b"another-secret-another-secret-xx")
            .mint(Role::Admin, "mallory", Duration::from_secs(60))
            .expect("mint");
        assert_eq!(verifier.verify(&forged), Err(AuthError::BadSignature));
        let mut headers = http::HeaderMap::new();
        assert_eq!(verifier.verify_headers(&headers), Err(AuthError::Missing));
        headers.insert(http::header::AUTHORIZATION, http::HeaderValue::from_static("Basic abc"));
        assert_eq!(verifier.verify_headers(&headers), Err(AuthError::Malformed));
    }

    fn claims(sub: &str, exp_in: i64) -> Claims {
        Claims {
            sub: sub.into(),
            role: Role::Promoter,
            exp: chrono::Utc::now().timestamp() + exp_in,
            iat: None,
            nbf: None,
            iss: None,
            aud: None,
        }
    }

    #[test]
    fn long_lived_premature_foreign_and_unusable_tokens_are_refused() {
        let strict = AuthSettings {
            issuer: Some("https://id.xiaopu.example".into()),
            audience: Some("xiaopu".into()),
            ..settings()
        };
        let verifier = TokenVerifier::from_settings(&strict).expect("verifier");
        let signer = TokenSigner::from_settings(&strict).expect("signer");
        let good = Claims { iss: strict.issuer.clone(), aud: strict.audience.clone(), ..claims("p1", 600) };
        assert_eq!(verifier.verify(&signer.mint_claims(&good).expect("mint")), Ok(Caller::new(Role::Promoter, "p1")));
        let refused = |c: &Claims| verifier.verify(&signer.mint_claims(c).expect("mint")).expect_err("refused");
        // exp in year 2200
        let forever = Claims { exp: 7_258_118_400, ..good.clone() };
        assert!(matches!(refused(&forever), AuthError::Invalid(m) if m.contains("lifetime")));
        let premature = Claims { nbf: Some(chrono::Utc::now().timestamp() + 3600), ..good.clone() };
        assert!(matches!(refused(&premature), AuthError::Invalid(m) if m.contains("nbf")));
        assert!(matches!(
            refused(&Claims { iss: Some("https://evil.example".into()), ..good.clone() }),
            AuthError::Invalid(_)
        ));
        assert!(matches!(refused(&Claims { aud: Some("another-app".into()), ..good.clone() }), AuthError::Invalid(_)));
        assert!(matches!(refused(&Claims { iss: None, ..good.clone() }), AuthError::Invalid(_)));
        for unusable in ["张三", "has space", &"x".repeat(200)] {
            let err = refused(&Claims { sub: unusable.into(), ..good.clone() });
            assert!(matches!(&err, AuthError::Invalid(m) if m.starts_with("claim `sub`")), "{unusable}: {err:?}");
        }
    }

    #[test]
    fn owner_and_privileged_roles_pass_others_are_denied() {
        let promoter = Caller::new(Role::Promoter, "p1");
        assert!(promoter.require_owner(Role::Promoter, "p1", &[Role::Admin]).is_ok());
        let denied = promoter.require_owner(Role::Promoter, "p2", &[Role::Admin]).expect_err("other's resource");
        assert_eq!(denied.code(), Code::PermissionDenied);
        let supplier_named_p1 = Caller::new(Role::Supplier, "p1");
        assert!(supplier_named_p1.require_owner(Role::Promoter, "p1", &[Role::Admin]).is_err());
        assert!(Caller::new(Role::Admin, "ops").require_owner(Role::Promoter, "p2", &[Role::Admin]).is_ok());
    }
}
