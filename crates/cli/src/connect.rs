//! How the CLI reaches the services and who it says it is.
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tonic::{
    Request, Status,
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};
use xiaopu_common::auth::{Role, TokenSigner};

#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Bearer token to send (see `xiaopu token`).
    #[arg(long, global = true, env = "XIAOPU_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Mint a token on the fly for ROLE:SUBJECT with the local shared secret,
    /// e.g. `--as promoter:p1` (local runs only).
    #[arg(long = "as", global = true, env = "XIAOPU_AS", value_name = "ROLE:SUBJECT")]
    pub act_as: Option<String>,
    /// The HS256 secret the local services verify tokens with.
    #[arg(long, global = true, env = "XIAOPU_AUTH__SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    #[arg(long, global = true, env = "XIAOPU_ELIGIBILITY_URL", default_value = "http://127.0.0.1:50051")]
    pub eligibility_url: String,
    #[arg(long, global = true, env = "XIAOPU_STOREFRONT_URL", default_value = "http://127.0.0.1:50052")]
    pub storefront_url: String,
    #[arg(long, global = true, env = "XIAOPU_ATTRIBUTION_URL", default_value = "http://127.0.0.1:50053")]
    pub attribution_url: String,
    #[arg(long, global = true, env = "XIAOPU_SETTLEMENT_URL", default_value = "http://127.0.0.1:50054")]
    pub settlement_url: String,
    /// Per-call deadline in seconds.
    #[arg(long, global = true, default_value_t = 10)]
    pub timeout: u64,
}

/// Adds the bearer token to every call.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Client = InterceptedService<Channel, Bearer>;

impl Connection {
    /// Who the calls are made as: `--as`'s subject, else the token's `sub` (read, not
    /// verified: the services verify it).
    pub fn subject(&self) -> Option<String> {
        if let Some((_, subject)) = self.act_as.as_deref().and_then(|a| a.split_once(':')) {
            return Some(subject.to_owned());
        }
        use base64::Engine;
        let payload = self.token.as_deref()?.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        claims.get("sub")?.as_str().map(str::to_owned)
    }

    /// The token to send: `--token`, else one minted for `--as`.
    pub fn bearer(&self) -> anyhow::Result<Option<String>> {
        if let Some(token) = &self.token {
            return Ok(Some(token.clone()));
        }
        let Some(act_as) = &self.act_as else { return Ok(None) };
        let (role, subject) = act_as
            .split_once(':')
            .with_context(|| format!("--as `{act_as}`: expected ROLE:SUBJECT, e.g. promoter:p1"))?;
        let role: Role = role.parse().map_err(anyhow::Error::msg)?;
        Ok(Some(mint(self.secret.as_deref(), role, subject, Duration::from_secs(3600))?))
    }

    pub fn connect(&self, url: &str) -> anyhow::Result<Client> {
        let channel = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("bad service URL `{url}`"))?
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(self.timeout))
            .connect_lazy();
        let header = self
            .bearer()?
            .map(|token| format!("Bearer {token}").parse())
            .transpose()
            .context("token is not valid ASCII")?;
        Ok(InterceptedService::new(channel, Bearer(header)))
    }
}

/// Mints an HS256 token with the local shared secret.
pub fn mint(secret: Option<&str>, role: Role, subject: &str, ttl: Duration) -> anyhow::Result<String> {
    let secret = secret.context("minting a token needs the shared secret: --secret or XIAOPU_AUTH__SECRET")?;
    Ok(TokenSigner::hs256(secret.as_bytes()).mint(role, subject, ttl)?)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        connection: Connection,
    }

    fn connection(args: &[&str]) -> Connection {
        Args::try_parse_from(std::iter::once("xiaopu").chain(args.iter().copied())).expect("args").connection
    }

    #[test]
    fn the_caller_is_the_as_subject_or_the_tokens() {
        assert_eq!(connection(&["--as", "promoter:p7"]).subject().as_deref(), Some("p7"));
        let token = mint(Some("a-local-secret-a-local-secret-0123"), Role::Promoter, "p8", Duration::from_secs(60))
            .expect("token");
        assert_eq!(connection(&["--token", &token]).subject().as_deref(), Some("p8"));
        assert_eq!(connection(&["--token", "not-a-jwt"]).subject(), None);
    }
}
