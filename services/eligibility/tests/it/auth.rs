use chrono::TimeDelta;
use tonic::Code;
use xiaopu_api::eligibility as pb;
use xiaopu_common::{
    auth::{Claims, Role, TokenSigner},
    error::status_details,
    testing::{TEST_SECRET, authed, with_token},
};

use crate::support::spawn;

#[tokio::test]
async fn a_promoter_reads_only_their_own_status() {
    let app = spawn().await;
    app.record("r1", "p1", 720, TimeDelta::zero()).await.expect("record");
    let own = pb::GetPromoterStatusRequest { person_id: "p1".into() };
    let status = app.client().get_promoter_status(authed(own, Role::Promoter, "p1")).await.expect("own");
    assert_eq!(status.into_inner().status(), pb::PromoterStatus::Approved);

    let other = pb::GetPromoterStatusRequest { person_id: "p1".into() };
    let err = app.client().get_promoter_status(authed(other, Role::Promoter, "p2")).await.expect_err("other's");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(status_details(&err).0.as_deref(), Some("NOT_OWNER"));

    let decisions = pb::ListDecisionsRequest { person_id: "p1".into(), ..Default::default() };
    let err = app.client().list_decisions(authed(decisions, Role::Supplier, "p1")).await.expect_err("supplier");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn only_services_and_admins_record_scores() {
    let app = spawn().await;
    let request = pb::RecordCreditScoreRequest {
        request_id: "r1".into(),
        person_id: "p1".into(),
        score: 900,
        source: "self".into(),
        observed_at: None,
    };
    for role in [Role::Promoter, Role::Supplier, Role::Finance] {
        let err = app.client().record_credit_score(authed(request.clone(), role, "p1")).await.expect_err("denied");
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
    }
    assert_eq!(app.outbox_count().await, 0);
}

#[tokio::test]
async fn missing_expired_and_forged_tokens_are_unauthenticated() {
    let app = spawn().await;
    let request = || pb::CheckEligibilityRequest { person_id: "p1".into() };
    let err = app.client().check_eligibility(tonic::Request::new(request())).await.expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(status_details(&err).0.as_deref(), Some("TOKEN_MISSING"));

    let expired = TokenSigner::hs256(TEST_SECRET.as_bytes())
        .mint_claims(&Claims {
            sub: "storefront".into(),
            role: Role::Service,
            exp: chrono::Utc::now().timestamp() - 120,
            iat: None,
            nbf: None,
            iss: None,
            aud: None,
        })
        .expect("mint");
    let err = app.client().check_eligibility(with_token(request(), &expired)).await.expect_err("expired");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(status_details(&err).0.as_deref(), Some("TOKEN_EXPIRED"));

    let forged = TokenSigner::hs256(b"not-the-secret-not-the-secret-xx")
        .mint(Role::Admin, "mallory", std::time::Duration::from_secs(60))
        .expect("mint");
    let err = app.client().check_eligibility(with_token(request(), &forged)).await.expect_err("forged");
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = app.client().check_eligibility(with_token(request(), "not.a.jwt")).await.expect_err("garbage");
    assert_eq!(err.code(), Code::Unauthenticated);
}
