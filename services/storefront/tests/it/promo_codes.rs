//! Promo codes (口令) through the real server: chosen, unique whatever the case, capped
//! per shop, resolved as typed in any case, revoked like links; and a visitor who
//! guesses too often is refused every code until the window passes.
use chrono::TimeDelta;
use tonic::Code;
use xiaopu_api::storefront as pb;
use xiaopu_common::{auth::Role, error::status_details, testing::authed};

use crate::support::spawn;

fn create(request_id: &str, shop_id: &str, code: &str) -> pb::CreatePromoCodeRequest {
    pb::CreatePromoCodeRequest {
        request_id: request_id.into(),
        shop_id: shop_id.into(),
        code: code.into(),
        listing_id: String::new(),
        channel: pb::Channel::Live.into(),
    }
}

fn resolve(code: &str, visitor: &str) -> tonic::Request<pb::ResolveShareCodeRequest> {
    let request = pb::ResolveShareCodeRequest { code: code.into(), visitor_key: visitor.into() };
    authed(request, Role::Service, "web")
}

/// `promoter` creates a promo code.
async fn promo(
    app: &crate::support::TestApp,
    promoter: &str,
    request: pb::CreatePromoCodeRequest,
) -> Result<pb::ShareLink, tonic::Status> {
    let answer = app.client().create_promo_code(authed(request, Role::Promoter, promoter)).await?;
    Ok(answer.into_inner().share_link.expect("code"))
}

fn reason(status: &tonic::Status) -> String {
    status_details(status).0.unwrap_or_default()
}

#[tokio::test]
async fn promo_codes_are_chosen_unique_in_any_case_and_capped_per_shop() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let other = app.shop("p2").await;
    let made = promo(&app, "p1", create("c1", &shop.shop_id, "xiaoMei88")).await;
    let code = made.expect("created");
    assert_eq!((code.code.as_str(), code.promo_code), ("XIAOMEI88", true));
    let retry = promo(&app, "p1", create("c1", &shop.shop_id, "xiaoMei88")).await;
    assert_eq!(retry.expect("retry"), code, "a retry answers the same");

    let taken = promo(&app, "p2", create("c2", &other.shop_id, "XIAOMEI88")).await;
    let taken = taken.expect_err("taken");
    assert_eq!((taken.code(), reason(&taken).as_str()), (Code::AlreadyExists, "CODE_TAKEN"));
    for bad in ["abc", "小美88", "TOO-LONG-CODE-12345", ""] {
        let refused = promo(&app, "p1", create("c3", &shop.shop_id, bad)).await;
        let refused = refused.expect_err(bad);
        assert_eq!(refused.code(), Code::InvalidArgument, "{bad}");
        assert!(refused.message().contains("code"), "{}", refused.message());
    }
    let foreign = promo(&app, "p2", create("c4", &shop.shop_id, "MINEMINE")).await;
    assert_eq!(foreign.expect_err("not their shop").code(), Code::PermissionDenied);

    // Typed in any case, resolved to the code as kept; revoked by its owner.
    let found = app.client().resolve_share_code(resolve("xiaomei88", "")).await.expect("resolved").into_inner();
    assert_eq!(found.share_link.expect("link").code, "XIAOMEI88");
    let revoke = pb::RevokeShareLinkRequest { code: "xiaomei88".into() };
    app.client().revoke_share_link(authed(revoke, Role::Promoter, "p1")).await.expect("revoked");
    let gone = app.client().resolve_share_code(resolve("XIAOMEI88", "")).await.expect_err("revoked");
    assert_eq!(gone.code(), Code::NotFound);

    // At most 20 live codes a shop; a revoked one does not count.
    for i in 0..20 {
        let request = create(&format!("many-{i}"), &shop.shop_id, &format!("CODE{i:02}"));
        promo(&app, "p1", request).await.expect("under the cap");
    }
    let over = promo(&app, "p1", create("over", &shop.shop_id, "CODE99")).await;
    let over = over.expect_err("over the cap");
    assert_eq!((over.code(), reason(&over).as_str()), (Code::ResourceExhausted, "PROMO_CODE_LIMIT"));
}

#[tokio::test]
async fn a_visitor_who_guesses_too_often_is_refused_every_code_for_a_while() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let made = promo(&app, "p1", create("c1", &shop.shop_id, "LIVE2026")).await;
    made.expect("created");
    for i in 0..10 {
        let miss = app.client().resolve_share_code(resolve(&format!("GUESS{i:03}"), "ip:203.0.113.7")).await;
        assert_eq!(miss.expect_err("unknown").code(), Code::NotFound);
    }
    // The eleventh try is refused even for a live code: a hit would tell.
    let refused = app.client().resolve_share_code(resolve("LIVE2026", "ip:203.0.113.7")).await.expect_err("limited");
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::ResourceExhausted, "TOO_MANY_GUESSES"));
    // Another visitor, and the order system (no key), are not held back.
    app.client().resolve_share_code(resolve("LIVE2026", "ip:198.51.100.1")).await.expect("another visitor");
    app.client().resolve_share_code(resolve("LIVE2026", "")).await.expect("no key");
    // Once the window has passed, the first visitor may try again.
    app.clock.advance(TimeDelta::minutes(11));
    app.client().resolve_share_code(resolve("live2026", "ip:203.0.113.7")).await.expect("a new window");
}
