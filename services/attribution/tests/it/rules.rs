use xiaopu_api::{
    attribution::{AttributionReason as R, EventOutcome, LineState},
    eligibility::{RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient},
    storefront::{GetMyShopRequest, ShopStatus},
};
use xiaopu_common::{
    auth::Role,
    testing::{authed, channel, eventually},
};

use crate::support::{click, days, line, paid, spawn};

#[tokio::test]
async fn every_rule_branch_with_its_reason() {
    let app = spawn().await;
    let w = app.world().await;
    // A second product, known but not listed; a third whose rate starts later.
    let unlisted = app.publish("s1", "Teapot", 800).await;
    let later_rate = app.publish("s2", "Cup", 0).await;
    let s = w.since;
    app.set_rate("s2", &later_rate, 300, Some(s + days(30))).await;
    app.list("p1", &w.shop, &later_rate).await;
    // p2's shop lists the product, then p2 is suspended.
    let (shop2, code2) = app.shop("p2").await;
    app.list("p2", &shop2, &w.product).await;
    app.caught_up().await;
    let score = RecordCreditScoreRequest {
        request_id: "drop".into(),
        person_id: "p2".into(),
        score: 600,
        source: "zhima".into(),
        observed_at: None,
    };
    let eligibility = channel(app.eligibility.local_addr).await;
    EligibilityServiceClient::new(eligibility)
        .record_credit_score(authed(score, Role::Service, "bureau"))
        .await
        .expect("score");
    eventually("p2's shop is suspended", std::time::Duration::from_secs(10), || async {
        let mine = GetMyShopRequest {};
        let shop = app.storefront().get_my_shop(authed(mine, Role::Promoter, "p2")).await.expect("shop").into_inner();
        (shop.shop.expect("shop").status() == ShopStatus::Suspended).then_some(())
    })
    .await;
    app.caught_up().await;
    app.clock.advance(days(40));

    let p = w.product.as_str();
    let results = app
        .ingest(vec![
            paid("o1", "b1", s + days(1), &w.code, vec![line("l1", p, "s1", 19900)]),
            click("c2", &w.code, "b2", s + days(1)),
            paid("o2", "b2", s + days(3), "", vec![line("l2", p, "s1", 19900)]),
            paid("o3", "b3", s + days(1), "", vec![line("l3", p, "s1", 19900)]),
            click("c4", &w.code, "b4", s + days(1)),
            paid("o4", "b4", s + days(16), "", vec![line("l4", p, "s1", 19900)]),
            click("c5", &w.code, "b5", s + days(1)),
            paid("o5", "b5", s + days(16) + chrono::TimeDelta::seconds(1), "", vec![line("l5", p, "s1", 19900)]),
            paid("o6", "b6", s + days(1), "NOPE2345", vec![line("l6", p, "s1", 19900)]),
            paid("o7", "b7", s + days(1), &w.code, vec![line("l7", &unlisted, "s1", 19900)]),
            paid("o8", "p1", s + days(1), &w.code, vec![line("l8", p, "s1", 19900)]),
            paid("o9", "b9", s + days(1), &w.code, vec![line("l9", &later_rate, "s2", 19900)]),
            paid("o10", "b10", s + days(1), &code2, vec![line("l10", p, "s1", 19900)]),
        ])
        .await;
    assert!(results.iter().all(|r| r.outcome() == EventOutcome::Applied), "{results:?}");

    let expected = [
        ("l1", R::OrderCode, true),
        ("l2", R::LastClick, true),
        ("l3", R::NoClick, false),
        ("l4", R::LastClick, true),
        ("l5", R::WindowExpired, false),
        ("l6", R::UnknownCode, false),
        ("l7", R::ProductNotListed, false),
        ("l8", R::SelfPurchase, false),
        ("l9", R::NoRate, false),
        ("l10", R::ShopSuspended, false),
    ];
    for (line_id, reason, attributed) in expected {
        let (l, why) = app.line(line_id).await;
        assert_eq!((why.reason(), l.attributed), (reason, attributed), "{line_id}: {}", why.summary);
        assert!(!why.summary.is_empty());
        if attributed {
            assert_eq!(l.promoter_id, "p1");
            assert_eq!(l.rate_bps, 550);
            assert_eq!(l.commission.as_ref().expect("commission").minor_units, 1094, "round half to even of 1094.5");
            assert_eq!(l.state(), LineState::Paid);
        } else {
            assert_eq!(l.commission.expect("commission").minor_units, 0);
        }
    }
    let (_, window) = app.line("l5").await;
    assert!(window.summary.contains("15 days window"), "{}", window.summary);
    assert_eq!(app.line("l2").await.1.click_event_id, "c2");
}

#[tokio::test]
async fn a_listing_added_after_the_click_counts_one_removed_before_payment_does_not() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    let added_later = app.publish("s1", "Added later", 550).await;
    let removed = app.publish("s1", "Removed", 550).await;
    let removed_listing = app.list("p1", &w.shop, &removed).await;
    app.shop_clock.advance(days(1));
    app.list("p1", &w.shop, &added_later).await;
    app.shop_clock.advance(days(1));
    app.unlist("p1", &removed_listing).await;
    app.caught_up().await;
    app.clock.advance(days(5));

    app.ingest(vec![
        click("c1", &w.code, "b1", s + chrono::TimeDelta::hours(12)),
        paid(
            "o1",
            "b1",
            s + days(3),
            "",
            vec![line("la", &added_later, "s1", 10000), line("lr", &removed, "s1", 10000)],
        ),
    ])
    .await;
    assert_eq!(app.line("la").await.1.reason(), R::LastClick);
    assert_eq!(app.line("lr").await.1.reason(), R::ProductNotListed);
}

#[tokio::test]
async fn the_rate_in_force_at_payment_wins_over_the_rate_at_the_click() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    app.set_rate("s1", &w.product, 900, Some(s + days(2))).await;
    app.caught_up().await;
    app.clock.advance(days(5));
    app.ingest(vec![
        click("c1", &w.code, "b1", s + days(1)),
        paid("o1", "b1", s + days(3), "", vec![line("after", &w.product, "s1", 10000)]),
        click("c2", &w.code, "b2", s + days(1)),
        paid("o2", "b2", s + days(1) + chrono::TimeDelta::hours(1), "", vec![line("before", &w.product, "s1", 10000)]),
    ])
    .await;
    let (after, _) = app.line("after").await;
    assert_eq!((after.rate_bps, after.commission.expect("c").minor_units), (900, 900));
    let (before, _) = app.line("before").await;
    assert_eq!((before.rate_bps, before.commission.expect("c").minor_units), (550, 550));
}

#[tokio::test]
async fn a_late_click_reattributes_the_line_it_led_to() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    app.clock.advance(days(5));
    app.ingest(vec![paid("o1", "b1", s + days(2), "", vec![line("l1", &w.product, "s1", 19900)])]).await;
    assert_eq!(app.line("l1").await.1.reason(), R::NoClick);
    let results = app.ingest(vec![click("c1", &w.code, "b1", s + days(1))]).await;
    assert_eq!(results[0].outcome(), EventOutcome::Applied);
    let (l, why) = app.line("l1").await;
    assert_eq!(why.reason(), R::LastClick);
    assert_eq!(l.commission.expect("c").minor_units, 1094);
}

/// An order carrying p2's promo code (口令, typed in lower case) from a buyer whose
/// last click was on p1's link: the code wins by default, the click under
/// `code_precedence = last_click`, and each line says why.
#[tokio::test]
async fn the_orders_code_beats_the_last_click_unless_configured_otherwise() {
    for (precedence, winner, reason) in [("order_code", "p2", R::OrderCode), ("last_click", "p1", R::LastClick)] {
        let app = crate::support::spawn_with(|s| s.service.code_precedence = precedence.into()).await;
        let w = app.world().await;
        let (shop2, _) = app.shop("p2").await;
        app.list("p2", &shop2, &w.product).await;
        let promo = xiaopu_api::storefront::CreatePromoCodeRequest {
            request_id: "promo".into(),
            shop_id: shop2.clone(),
            code: "XiaoMei88".into(),
            listing_id: String::new(),
            channel: xiaopu_api::storefront::Channel::Live.into(),
        };
        app.storefront().create_promo_code(authed(promo, Role::Promoter, "p2")).await.expect("promo code");
        let code2 = "xiaomei88";
        app.caught_up().await;
        app.clock.advance(days(5));
        let p = w.product.as_str();
        let results = app
            .ingest(vec![
                click("c1", &w.code, "b1", w.since + days(1)),
                paid("o1", "b1", w.since + days(2), code2, vec![line("l1", p, "s1", 19900)]),
            ])
            .await;
        assert!(results.iter().all(|r| r.outcome() == EventOutcome::Applied), "{results:?}");
        let (line, explanation) = app.line("l1").await;
        assert_eq!(line.promoter_id, winner, "{precedence}: {explanation:?}");
        assert_eq!(line.reason(), reason, "{precedence}");
        if precedence == "order_code" {
            assert_eq!(explanation.share_code, "XIAOMEI88", "the code as kept");
        }
        if precedence == "last_click" {
            assert!(
                explanation.summary.contains(&format!("before the order's code {code2}")),
                "{}",
                explanation.summary
            );
        }
    }
}
