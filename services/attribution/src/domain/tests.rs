use chrono::{TimeDelta, Utc};
use uuid::Uuid;

use super::*;

fn rules() -> Rules {
    Rules { window: TimeDelta::days(15), allow_self_purchase: false, precedence: Precedence::OrderCode }
}

/// Facts for a paid line reached through a click `age` before paying, with every
/// condition for attribution met.
fn facts(age: TimeDelta) -> Facts {
    let paid_at = Utc::now();
    Facts {
        buyer_id: "buyer".into(),
        paid_at,
        order_code: None,
        last_click: Some(Click { event_id: "c1".into(), code: "CODE1234".into(), clicked_at: paid_at - age }),
        link: Some(Link {
            code: "CODE1234".into(),
            shop_id: Uuid::nil(),
            promoter_id: PromoterId::new("promoter"),
            created_at: paid_at - TimeDelta::days(30),
            revoked_at: None,
        }),
        listed: true,
        shop_active: Some(true),
        rate: Some(Rate { rate_id: Uuid::nil(), bps: Bps::clamped(550) }),
        product_id: Uuid::nil(),
        category: None,
        groups: Vec::new(),
    }
}

#[test]
fn the_last_click_within_the_window_attributes() {
    let d = decide(&facts(TimeDelta::days(2)), &rules());
    assert_eq!(d.reason, Reason::LastClick);
    assert_eq!(d.earner().map(|c| c.promoter_id.as_str()), Some("promoter"));
    assert_eq!(d.rate.map(|r| r.bps.get()), Some(550));
    assert!(d.summary.contains("CODE1234"), "{}", d.summary);
}

#[test]
fn window_boundary_exactly_15_days_counts_one_second_more_does_not() {
    assert_eq!(decide(&facts(TimeDelta::days(15)), &rules()).reason, Reason::LastClick);
    let late = decide(&facts(TimeDelta::days(15) + TimeDelta::seconds(1)), &rules());
    assert_eq!(late.reason, Reason::WindowExpired);
    assert!(late.earner().is_none());
    assert!(late.summary.contains("15 days window"), "{}", late.summary);
}

#[test]
fn the_orders_code_wins_over_clicks() {
    let mut f = facts(TimeDelta::days(40));
    f.order_code = Some("CODE1234".into());
    let d = decide(&f, &rules());
    assert_eq!(d.reason, Reason::OrderCode);
    assert!(d.click.is_none());
}

#[test]
fn every_reason_for_not_attributing() {
    let mut f = facts(TimeDelta::days(1));
    f.last_click = None;
    assert_eq!(decide(&f, &rules()).reason, Reason::NoClick);

    let mut f = facts(TimeDelta::days(1));
    f.link = None;
    assert_eq!(decide(&f, &rules()).reason, Reason::UnknownCode);

    let mut f = facts(TimeDelta::days(1));
    if let Some(link) = f.link.as_mut() {
        link.revoked_at = Some(f.paid_at - TimeDelta::days(3));
    }
    assert_eq!(decide(&f, &rules()).reason, Reason::LinkRevoked, "revoked before the click");

    let mut f = facts(TimeDelta::days(1));
    f.listed = false;
    let d = decide(&f, &rules());
    assert_eq!(d.reason, Reason::ProductNotListed);
    assert_eq!(
        d.candidate.map(|c| c.promoter_id),
        Some(PromoterId::new("promoter")),
        "the candidate is kept for the record"
    );

    let mut f = facts(TimeDelta::days(1));
    f.shop_active = Some(false);
    assert_eq!(decide(&f, &rules()).reason, Reason::ShopSuspended);
    f.shop_active = None;
    assert_eq!(decide(&f, &rules()).reason, Reason::ShopSuspended);

    let mut f = facts(TimeDelta::days(1));
    f.buyer_id = "promoter".into();
    assert_eq!(decide(&f, &rules()).reason, Reason::SelfPurchase);
    let lenient = Rules { allow_self_purchase: true, ..rules() };
    assert_eq!(decide(&f, &lenient).reason, Reason::LastClick, "self-purchase is configurable");

    let mut f = facts(TimeDelta::days(1));
    f.rate = None;
    assert_eq!(decide(&f, &rules()).reason, Reason::NoRate);
}

#[test]
fn a_link_revoked_after_the_click_still_counts() {
    let mut f = facts(TimeDelta::days(3));
    if let Some(link) = f.link.as_mut() {
        link.revoked_at = Some(f.paid_at - TimeDelta::days(1));
    }
    assert_eq!(decide(&f, &rules()).reason, Reason::LastClick);
}

#[test]
fn reasons_round_trip() {
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.as_str()), Some(*r));
    }
}

#[test]
fn under_last_click_precedence_a_click_in_the_window_beats_the_orders_code_and_says_so() {
    let last_click = Rules { precedence: Precedence::LastClick, ..rules() };
    let mut f = facts(TimeDelta::days(2));
    f.order_code = Some("PROMO618".into());
    let d = decide(&f, &last_click);
    assert_eq!(d.reason, Reason::LastClick);
    assert_eq!(d.code.as_deref(), Some("CODE1234"));
    assert!(d.click.is_some());
    assert!(d.summary.contains("before the order's code PROMO618 (last-click precedence)"), "{}", d.summary);
    // The default precedence: the order's code wins over the same click.
    assert_eq!(decide(&f, &rules()).reason, Reason::OrderCode);

    // A click beyond the window does not beat the code.
    let mut stale = facts(TimeDelta::days(16));
    stale.order_code = Some("CODE1234".into());
    let d = decide(&stale, &last_click);
    assert_eq!(d.reason, Reason::OrderCode);
    assert!(d.click.is_none());
}

#[test]
fn a_group_rule_in_force_sets_the_rate_and_says_so() {
    use super::group::{Kind, Membership, Rule, Scope};
    let mut f = facts(TimeDelta::days(1));
    let rule = Rule {
        rule_id: Uuid::from_u128(9),
        scope: Scope::Catalogue,
        kind: Kind::Uplift,
        bps: Bps::clamped(150),
        effective_from: f.paid_at - TimeDelta::hours(1),
    };
    f.groups = vec![Membership {
        group_id: Uuid::from_u128(1),
        group_name: "金牌".into(),
        joined_at: f.paid_at - TimeDelta::days(3),
        left_at: None,
        rules: vec![rule],
    }];
    let d = decide(&f, &rules());
    assert_eq!(d.rate.map(|r| r.bps.get()), Some(700));
    assert_eq!(d.group.as_ref().map(|g| g.base.get()), Some(550));
    assert!(d.summary.contains("at 700 bps") && d.summary.contains("group 金牌's"), "{}", d.summary);
    // A line that earns nothing takes no group rate.
    f.listed = false;
    assert!(decide(&f, &rules()).group.is_none());
}
