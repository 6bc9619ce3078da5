use tonic::Code;
use xiaopu_api::storefront as pb;
use xiaopu_common::{auth::Role, error::status_details, testing::authed};

use crate::support::spawn;

#[tokio::test]
async fn share_links_resolve_to_shop_promoter_product_and_channel() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let tea = app.publish("s1", "Tea", 1000).await;
    let listing = app.add("p1", &shop.shop_id, &tea.product_id, "").await.expect("listed");
    let create = |request_id: &str, listing_id: &str, channel: pb::Channel| pb::CreateShareLinkRequest {
        request_id: request_id.into(),
        shop_id: shop.shop_id.clone(),
        listing_id: listing_id.into(),
        channel: channel.into(),
    };
    let whole = app
        .client()
        .create_share_link(authed(create("r1", "", pb::Channel::Wechat), Role::Promoter, "p1"))
        .await
        .expect("shop link");
    let whole = whole.into_inner().share_link.expect("link");
    let one = app
        .client()
        .create_share_link(authed(create("r2", &listing.listing_id, pb::Channel::Douyin), Role::Promoter, "p1"))
        .await
        .expect("listing link");
    let one = one.into_inner().share_link.expect("link");
    assert_eq!(whole.code.len(), 8);
    assert_ne!(whole.code, one.code);
    let retry = app
        .client()
        .create_share_link(authed(create("r1", "", pb::Channel::Wechat), Role::Promoter, "p1"))
        .await
        .expect("retry");
    assert_eq!(retry.into_inner().share_link.expect("link").code, whole.code, "a retry returns the same link");

    let resolve = |code: &str| pb::ResolveShareCodeRequest { code: code.into(), visitor_key: String::new() };
    let resolved = app
        .client()
        .resolve_share_code(authed(resolve(&one.code), Role::Service, "redirector"))
        .await
        .expect("resolve")
        .into_inner();
    let link = resolved.share_link.expect("link");
    assert_eq!(
        (link.shop_id.as_str(), link.promoter_id.as_str(), link.product_id.as_str()),
        (shop.shop_id.as_str(), "p1", tea.product_id.as_str())
    );
    assert_eq!(link.channel(), pb::Channel::Douyin);

    for unknown in ["zzzzzzzz", "short", "", "0O1lI000"] {
        let err = app
            .client()
            .resolve_share_code(authed(resolve(unknown), Role::Service, "redirector"))
            .await
            .expect_err("unknown");
        assert_eq!(err.code(), Code::NotFound, "{unknown}");
    }
    let revoke = pb::RevokeShareLinkRequest { code: whole.code.clone() };
    app.client().revoke_share_link(authed(revoke, Role::Promoter, "p1")).await.expect("revoke");
    let err = app
        .client()
        .resolve_share_code(authed(resolve(&whole.code), Role::Service, "redirector"))
        .await
        .expect_err("revoked");
    assert_eq!(err.code(), Code::NotFound);

    let remove = pb::RemoveListingRequest { listing_id: listing.listing_id.clone() };
    app.client().remove_listing(authed(remove, Role::Promoter, "p1")).await.expect("remove");
    let err = app
        .client()
        .resolve_share_code(authed(resolve(&one.code), Role::Service, "redirector"))
        .await
        .expect_err("removed");
    assert_eq!(status_details(&err).0.as_deref(), Some("LISTING_REMOVED"));

    let err =
        app.client().resolve_share_code(authed(resolve(&one.code), Role::Promoter, "p1")).await.expect_err("promoter");
    assert_eq!(err.code(), Code::PermissionDenied);
    let no_channel = create("r3", "", pb::Channel::Unspecified);
    let err = app.client().create_share_link(authed(no_channel, Role::Promoter, "p1")).await.expect_err("channel");
    assert_eq!(status_details(&err).1[0].field, "channel");
}

#[tokio::test]
async fn every_change_leaves_through_the_outbox() {
    let app = spawn().await;
    let shop = app.shop("p1").await;
    let tea = app.publish("s1", "Tea", 1000).await;
    app.set_rate("s1", &tea.product_id, 500, None).await.expect("rate");
    let listing = app.add("p1", &shop.shop_id, &tea.product_id, "").await.expect("listed");
    let link = pb::CreateShareLinkRequest {
        request_id: "r".into(),
        shop_id: shop.shop_id.clone(),
        listing_id: listing.listing_id,
        channel: pb::Channel::Live.into(),
    };
    app.client().create_share_link(authed(link, Role::Promoter, "p1")).await.expect("link");
    let withdraw = pb::WithdrawProductRequest { product_id: tea.product_id.clone(), reason: String::new() };
    app.client().withdraw_product(authed(withdraw, Role::Supplier, "s1")).await.expect("withdraw");
    let topics: Vec<(String,)> = sqlx::query_as("SELECT topic FROM outbox ORDER BY xid, seq")
        .fetch_all(&app.pool().await)
        .await
        .expect("outbox");
    let topics: Vec<&str> = topics.iter().map(|(t,)| t.as_str()).collect();
    assert_eq!(
        topics,
        [
            "storefront.shop",
            "storefront.product",
            "storefront.rate",
            "storefront.listing",
            "storefront.share_link",
            "storefront.listing",
            "storefront.product"
        ]
    );
}
