//! Production's token mode, end to end on loopback: services verify with the
//! identity provider's public keys (a JWKS file, chosen by `kid`) and present the
//! provider's token for their own calls (a file), so no service holds a key that
//! could mint a token — not even its own.
use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;
use xiaopu_api::feed::{WatchEventsRequest, feed_service_client::FeedServiceClient};
use xiaopu_common::{
    auth::{Claims, Role, TokenSigner, TokenVerifier},
    config::{AuthSettings, TokenAlgorithm, UpstreamSettings},
    db,
    grpc_client::channel,
    server::Infra,
    testing::{self, TEST_SECRET, TestDatabase, with_token},
};

/// The test identity provider's Ed25519 keys (made for this test only), and the
/// public halves as its JWKS publishes them.
const IDP_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFlyYS036FIdat4IuzGPfZvFS89bbOh/zWm7WYl54J99\n-----END PRIVATE KEY-----\n";
const RETIRED_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHRCbUyK+xgPvob7ByZaVgwkPnjNZwJwwE7uZkzKn2N/\n-----END PRIVATE KEY-----\n";
const JWKS: &str = r#"{"keys": [
  {"kty": "OKP", "crv": "Ed25519", "kid": "idp-2026", "use": "sig", "alg": "EdDSA",
   "x": "CTXcmPjqeEfhj5jlBPNuobQ7Wk-9oZR6Pn1FKpxYmEQ"},
  {"kty": "OKP", "crv": "Ed25519", "kid": "idp-2025", "use": "sig", "alg": "EdDSA",
   "x": "qDuS0lrVftD6D6Z3lBGXE7mgYFLRgAeRycNCbFTbXL8"}
]}"#;
const ISSUER: &str = "https://id.xiaopu.test";
const AUDIENCE: &str = "xiaopu";

/// The identity provider, signing with one of its keys.
fn idp(pem: &str, kid: &str) -> TokenSigner {
    let settings = AuthSettings {
        algorithm: TokenAlgorithm::EdDSA,
        private_key_pem: Some(pem.to_owned().into()),
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        ..AuthSettings::default()
    };
    TokenSigner::from_settings(&settings).expect("idp signer").with_key_id(kid)
}

fn token(signer: &TokenSigner, role: Role, sub: &str) -> String {
    signer.mint(role, sub, Duration::from_secs(600)).expect("mint")
}

fn scratch(name: &str, content: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("xiaopu-{}-{name}", uuid::Uuid::new_v4()));
    std::fs::write(&path, content).expect("write");
    path
}

#[tokio::test]
async fn services_verify_with_the_providers_keys_and_present_its_token_without_minting() {
    testing::init_logs();
    let db = TestDatabase::create("pubkey").await;
    let mut settings = testing::common_settings(&db.url, "storefront");
    let service_token = token(&idp(IDP_KEY, "idp-2026"), Role::Service, "storefront");
    settings.auth = AuthSettings {
        algorithm: TokenAlgorithm::EdDSA,
        secret: None,
        jwks_path: Some(scratch("jwks.json", JWKS)),
        service_token_path: Some(scratch("service-token", &service_token)),
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        ..AuthSettings::default()
    };
    let pool = db.connect().await;
    db::feed_migrator().run(&pool).await.expect("migrate");
    let infra = Infra {
        name: "pubkey",
        nats: None,
        settings: settings.clone(),
        pool,
        verifier: Arc::new(TokenVerifier::from_settings(&settings.auth).expect("verifier")),
        signer: TokenSigner::from_settings(&settings.auth).expect("a signer without a key"),
        shutdown: CancellationToken::new(),
    };
    assert!(infra.signer.mint(Role::Admin, "mallory", Duration::from_secs(60)).is_err(), "a service minted a token");
    let server = infra.server().add_service(infra.feed_service()).bind().await.expect("serve");
    let upstream = UpstreamSettings::new(&format!("http://{}", server.local_addr));

    // The service's own calls carry the provider's token from the file.
    let own = FeedServiceClient::new(infra.upstream(&upstream, "self").expect("upstream"));
    let request = || WatchEventsRequest { after: String::new(), topics: Vec::new(), max_batch: 0 };
    own.clone().watch_events(request()).await.expect("the provider's token is accepted");

    let plain = FeedServiceClient::new(channel(&upstream, "plain").expect("channel"));
    let call = |bearer: String| {
        let mut plain = plain.clone();
        async move { plain.watch_events(with_token(request(), &bearer)).await.map(|_| ()) }
    };
    // A token of the older key the JWKS still lists: accepted (rotation overlaps).
    call(token(&idp(RETIRED_KEY, "idp-2025"), Role::Service, "attribution")).await.expect("older key");
    // Refused: the old shared secret, an unknown key id, a key the kid does not name.
    let shared = TokenSigner::hs256(TEST_SECRET.as_bytes()).mint(Role::Admin, "ops", Duration::from_secs(60));
    let unknown_kid = token(&idp(IDP_KEY, "idp-1999"), Role::Service, "x");
    let wrong_key = token(&idp(RETIRED_KEY, "idp-2026"), Role::Service, "x");
    let no_audience = idp(IDP_KEY, "idp-2026")
        .mint_claims(&Claims {
            sub: "x".into(),
            role: Role::Service,
            exp: chrono::Utc::now().timestamp() + 60,
            iat: None,
            nbf: None,
            iss: Some(ISSUER.into()),
            aud: None,
        })
        .expect("mint");
    for (what, bearer) in [
        ("HS256 with the old secret", shared.expect("mint")),
        ("an unknown kid", unknown_kid),
        ("a kid naming another key", wrong_key),
        ("no audience", no_audience),
    ] {
        let err = call(bearer).await.expect_err(what);
        assert_eq!(err.code(), tonic::Code::Unauthenticated, "{what}: {err:?}");
    }
    server.stop().await.expect("stop");
}
