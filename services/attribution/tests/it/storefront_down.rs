use xiaopu_api::{
    attribution::{AttributionReason, EventOutcome},
    storefront::RevokeShareLinkRequest,
};
use xiaopu_common::{auth::Role, testing::authed};

use crate::support::{days, line, paid, spawn};

#[tokio::test]
async fn attribution_goes_on_with_the_storefront_down_and_catches_up_after() {
    let mut app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    app.clock.advance(days(5));
    let addr = app.stop_storefront().await;

    let results =
        app.ingest(vec![paid("o1", "b1", s + days(1), &w.code, vec![line("l1", &w.product, "s1", 19900)])]).await;
    assert_eq!(results[0].outcome(), EventOutcome::Applied);
    let (l, why) = app.line("l1").await;
    assert_eq!(why.reason(), AttributionReason::OrderCode, "attributed from the read model alone");
    assert!(l.attributed);

    app.restart_storefront(addr).await;
    let newer = app.publish("s1", "Published while attribution followed from behind", 1000).await;
    app.list("p1", &w.shop, &newer).await;
    app.caught_up().await;
    let results =
        app.ingest(vec![paid("o2", "b2", app.shop_clock_now(), &w.code, vec![line("l2", &newer, "s1", 10000)])]).await;
    assert_eq!(results[0].outcome(), EventOutcome::Applied, "{results:?}");
    assert_eq!(app.line("l2").await.0.commission.expect("c").minor_units, 1000);
}

#[tokio::test]
async fn an_order_code_attribution_did_not_know_is_re_decided_when_its_link_arrives() {
    let app = spawn().await;
    let w = app.world().await;
    app.clock.advance(days(5));
    // The link is not in attribution's read model yet (as if its event were still
    // on its way).
    let pool = app.pool().await;
    sqlx::query("DELETE FROM rm_share_link WHERE code = $1").bind(&w.code).execute(&pool).await.expect("forget");
    let order = paid("o1", "b1", w.since + days(1), &w.code, vec![line("l1", &w.product, "s1", 19900)]);
    assert_eq!(app.ingest(vec![order]).await[0].outcome(), EventOutcome::Applied);
    assert_eq!(app.line("l1").await.1.reason(), AttributionReason::UnknownCode);

    // The link's next event (its revocation, after the payment) brings it in: the
    // line, found by the code it used, is re-decided to its promoter.
    app.shop_clock.advance(days(2));
    let revoke = RevokeShareLinkRequest { code: w.code.clone() };
    app.storefront().revoke_share_link(authed(revoke, Role::Promoter, "p1")).await.expect("revoke");
    app.caught_up().await;
    let (l, why) = app.line("l1").await;
    assert_eq!(why.reason(), AttributionReason::OrderCode, "{}", why.summary);
    assert!(l.attributed);
}
