//! The `auth` section: how bearer tokens are checked (a shared secret, or the identity provider's public keys).
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, Validate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TokenAlgorithm {
    /// Shared secret: local runs and tests.
    HS256,
    /// RSA public key verification: production identity providers.
    RS256,
    /// Ed25519 public key verification.
    EdDSA,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    pub algorithm: TokenAlgorithm,
    /// HS256 shared secret (at least 32 bytes).
    pub secret: Option<SecretString>,
    /// PEM public key that verifies RS256/EdDSA tokens.
    pub public_key_pem: Option<String>,
    /// The identity provider's public keys as a JWKS file (RS256/EdDSA), chosen by
    /// each token's `kid`: instead of `public_key_pem`, and how keys rotate.
    pub jwks_path: Option<PathBuf>,
    /// A file holding this service's own token, issued by the identity provider
    /// (role `service`, subject the service's name) and rotated there. With it the
    /// service signs nothing: production holds no key that could mint a token.
    pub service_token_path: Option<PathBuf>,
    /// PEM private key this service signs its own service tokens with
    /// (RS256/EdDSA); HS256 signs with the secret.
    pub private_key_pem: Option<SecretString>,
    /// Required `iss` claim, when set.
    pub issuer: Option<String>,
    /// Required `aud` claim, when set.
    pub audience: Option<String>,
    pub leeway_seconds: u64,
    /// The longest a token may live (`exp` − `iat`, or `exp` − now without `iat`):
    /// a longer-lived token is refused whatever its signature.
    pub max_token_lifetime_seconds: u64,
    /// Lifetime of the tokens this service mints for its own outgoing calls.
    pub service_token_ttl_seconds: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            algorithm: TokenAlgorithm::HS256,
            secret: None,
            public_key_pem: None,
            jwks_path: None,
            service_token_path: None,
            private_key_pem: None,
            issuer: None,
            audience: None,
            leeway_seconds: 30,
            max_token_lifetime_seconds: 24 * 3600,
            service_token_ttl_seconds: 300,
        }
    }
}

impl Validate for AuthSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        match self.algorithm {
            TokenAlgorithm::HS256 => match &self.secret {
                Some(secret) if secret.expose_secret().len() >= 32 => Ok(()),
                Some(_) => Err(ConfigError::invalid("auth.secret", "must be at least 32 bytes")),
                None => Err(ConfigError::invalid("auth.secret", "is required when auth.algorithm is HS256")),
            },
            TokenAlgorithm::RS256 | TokenAlgorithm::EdDSA => match (&self.public_key_pem, &self.jwks_path) {
                (Some(_), Some(_)) => {
                    Err(ConfigError::invalid("auth.jwks_path", "set either auth.public_key_pem or auth.jwks_path"))
                }
                (Some(pem), None) if !pem.contains("BEGIN PUBLIC KEY") => {
                    Err(ConfigError::invalid("auth.public_key_pem", "must be a PEM public key"))
                }
                (Some(_), None) | (None, Some(_)) => Ok(()),
                (None, None) => Err(ConfigError::invalid(
                    "auth.jwks_path",
                    "or auth.public_key_pem is required when auth.algorithm is RS256 or EdDSA",
                )),
            },
        }
    }
}
