//! Promoter groups (等级) through the real server: a rule changes the rate snapshot
//! from its moment and not before, for members only; the most specific rule wins,
//! by the product's category at the payment; promoters join for a month by last
//! month's commission; who may see and change groups.
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tonic::Code;
use xiaopu_api::{attribution as pb, storefront as sf};
use xiaopu_common::{
    auth::Role,
    testing::{authed, eventually},
    time::{Clock, Zone},
};

use crate::support::{TestApp, cny, days, line, paid, spawn, spawn_with};

impl TestApp {
    async fn create_group(&self, supplier: &str, name: &str, promote_at: Option<i64>) -> pb::Group {
        let request = pb::CreateGroupRequest {
            request_id: uuid::Uuid::new_v5(&uuid::Uuid::nil(), name.as_bytes()).to_string(),
            supplier_id: supplier.into(),
            name: name.into(),
            promote_at: promote_at.and_then(cny),
        };
        let answer = self.client().create_group(authed(request, Role::Supplier, supplier)).await.expect("group");
        answer.into_inner().group.expect("group")
    }

    async fn rule(&self, supplier: &str, request: pb::SetGroupRuleRequest) -> Result<pb::GroupRule, tonic::Status> {
        let answer = self.client().set_group_rule(authed(request, Role::Supplier, supplier)).await?;
        Ok(answer.into_inner().rule.expect("rule"))
    }

    async fn join(&self, supplier: &str, group: &pb::Group, promoter: &str) {
        let request = pb::AddGroupMemberRequest { group_id: group.group_id.clone(), promoter_id: promoter.into() };
        self.client().add_group_member(authed(request, Role::Supplier, supplier)).await.expect("joined");
    }
}

fn rule(
    id: &str,
    group: &pb::Group,
    kind: pb::GroupRuleKind,
    bps: i32,
    from: Option<DateTime<Utc>>,
) -> pb::SetGroupRuleRequest {
    pb::SetGroupRuleRequest {
        request_id: id.into(),
        group_id: group.group_id.clone(),
        kind: kind.into(),
        bps,
        effective_from: from.map(xiaopu_common::time::to_timestamp),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_group_rule_changes_the_snapshot_rate_from_its_moment_and_not_before() {
    let app = spawn().await;
    let w = app.world().await;
    let (shop2, code2) = app.shop("p2").await;
    app.list("p2", &shop2, &w.product).await;
    app.caught_up().await;
    let gold = app.create_group("s1", "金牌推广", None).await;
    app.join("s1", &gold, "p1").await;
    let start = app.clock.now() + TimeDelta::hours(2);
    let uplift = app.rule("s1", rule("r1", &gold, pb::GroupRuleKind::Uplift, 150, Some(start))).await.expect("rule");
    assert!(!uplift.in_force, "scheduled");
    app.clock.advance(days(1));

    let p = w.product.as_str();
    app.ingest(vec![
        paid("o1", "b1", start - TimeDelta::minutes(1), &w.code, vec![line("l1", p, "s1", 19900)]),
        paid("o2", "b2", start, &w.code, vec![line("l2", p, "s1", 19900)]),
        paid("o3", "b3", start, &code2, vec![line("l3", p, "s1", 19900)]),
    ])
    .await;
    let (l1, why1) = app.line("l1").await;
    assert_eq!((l1.rate_bps, why1.base_rate_bps, why1.group_id.as_str()), (550, 0, ""), "before the rule");
    let (l2, why2) = app.line("l2").await;
    assert_eq!((l2.rate_bps, why2.base_rate_bps), (700, 550));
    assert_eq!(l2.commission.as_ref().map(|m| m.minor_units), Some(1393), "19900 × 7 % = 1393 (half to even)");
    assert_eq!((why2.group_name.as_str(), why2.group_rule_id.as_str()), ("金牌推广", uplift.rule_id.as_str()));
    assert!(why2.summary.contains("金牌推广") && why2.summary.contains("550 bps + 150 bps"), "{}", why2.summary);
    assert_eq!(app.line("l3").await.0.rate_bps, 550, "p2 is not a member");

    // A category rule beats the catalogue's, a product rule the category's; the
    // category is the product's at the payment.
    let at = app.clock.now();
    let tea = pb::SetGroupRuleRequest {
        category: "tea".into(),
        ..rule("r2", &gold, pb::GroupRuleKind::Absolute, 1000, None)
    };
    app.rule("s1", tea).await.expect("category rule");
    app.clock.advance(TimeDelta::seconds(10));
    app.ingest(vec![paid("o4", "b4", at + TimeDelta::seconds(1), &w.code, vec![line("l4", p, "s1", 19900)])]).await;
    assert_eq!(app.line("l4").await.0.rate_bps, 1000);
    // The storefront's clock, behind attribution's by the day, catches up past l4.
    app.shop_clock.advance(days(1) + TimeDelta::minutes(1));
    let recategorize = sf::UpdateProductRequest {
        product_id: w.product.clone(),
        product: Some(sf::Product { category: "cups".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["category".into()] }),
    };
    app.storefront().update_product(authed(recategorize, Role::Supplier, "s1")).await.expect("recategorized");
    app.caught_up().await;
    let later = app.shop_clock_now() + TimeDelta::seconds(1);
    app.clock.advance(TimeDelta::minutes(2));
    app.ingest(vec![paid("o5", "b5", later, &w.code, vec![line("l5", p, "s1", 19900)])]).await;
    assert_eq!(app.line("l5").await.0.rate_bps, 700, "no longer tea: the catalogue's uplift");
    assert_eq!(app.line("l4").await.0.rate_bps, 1000, "paid while tea: rates stay history");

    // Out of the group from now: later lines earn the product's rate.
    let leave = pb::RemoveGroupMemberRequest { group_id: gold.group_id.clone(), promoter_id: "p1".into() };
    app.client().remove_group_member(authed(leave, Role::Supplier, "s1")).await.expect("left");
    let after = app.clock.now() + TimeDelta::seconds(1);
    app.clock.advance(TimeDelta::seconds(2));
    app.ingest(vec![paid("o6", "b6", after, &w.code, vec![line("l6", p, "s1", 19900)])]).await;
    assert_eq!(app.line("l6").await.0.rate_bps, 550);
    assert_eq!(app.line("l2").await.0.rate_bps, 700, "earlier lines keep their snapshot");
}

#[tokio::test]
async fn promoters_join_for_a_month_by_last_months_commission() {
    let app = spawn_with(|s| s.service.group_interval_ms = 200).await;
    let w = app.world().await;
    let (shop2, code2) = app.shop("p2").await;
    app.list("p2", &shop2, &w.product).await;
    app.caught_up().await;
    let silver = app.create_group("s1", "银牌", Some(1000)).await;
    app.rule("s1", rule("r1", &silver, pb::GroupRuleKind::Uplift, 100, None)).await.expect("rule");
    // This month p1 earns 10.94 (past the 10.00 bar), p2 5.47 (not).
    let now = app.clock.now();
    let p = w.product.as_str();
    app.ingest(vec![
        paid("o1", "b1", now, &w.code, vec![line("l1", p, "s1", 19900)]),
        paid("o2", "b2", now, &code2, vec![line("l2", p, "s1", 9950)]),
    ])
    .await;
    assert_eq!(app.line("l1").await.0.rate_bps, 550, "nobody is in the group this month");

    // Next month: p1 joins, p2 does not.
    let next = Zone::default().month_of(now).end;
    app.clock.advance(next - now + TimeDelta::hours(2));
    let in_next = next + TimeDelta::hours(1);
    app.ingest(vec![
        paid("o3", "b3", in_next, &w.code, vec![line("l3", p, "s1", 19900)]),
        paid("o4", "b4", in_next, &code2, vec![line("l4", p, "s1", 19900)]),
    ])
    .await;
    // Whether the month was worked out before or after these lines, l3 ends at 650.
    eventually("p1's line earns the group's rate", Duration::from_secs(10), || async {
        (app.line("l3").await.0.rate_bps == 650).then_some(())
    })
    .await;
    assert_eq!(app.line("l4").await.0.rate_bps, 550);
    assert_eq!(app.line("l1").await.0.rate_bps, 550, "last month's lines are not moved");

    let members = pb::ListGroupMembersRequest { group_id: silver.group_id.clone() };
    let members = app.client().list_group_members(authed(members, Role::Supplier, "s1")).await.expect("members");
    let members = members.into_inner().members;
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].promoter_id.as_str(), members[0].source.as_str()), ("p1", "last_month"));
    assert_eq!(members[0].left_at.as_ref().map(|t| t.seconds), Some(Zone::default().month_of(in_next).end.timestamp()));
    let mine = pb::ListPromoterGroupsRequest { promoter_id: "p1".into() };
    let mine = app.client().list_promoter_groups(authed(mine, Role::Promoter, "p1")).await.expect("mine").into_inner();
    assert_eq!(mine.groups.len(), 1);
    assert_eq!((mine.groups[0].name.as_str(), mine.groups[0].rules.len()), ("银牌", 1));
    let theirs = pb::ListPromoterGroupsRequest { promoter_id: "p2".into() };
    let theirs = app.client().list_promoter_groups(authed(theirs, Role::Promoter, "p2")).await.expect("theirs");
    assert!(theirs.into_inner().groups.is_empty());
}

#[tokio::test]
async fn groups_are_the_suppliers_own_and_rules_are_checked() {
    let app = spawn().await;
    let w = app.world().await;
    let others = app.publish("s2", "Bowl", 300).await;
    app.caught_up().await;
    let gold = app.create_group("s1", "金牌", None).await;
    let again = pb::CreateGroupRequest {
        request_id: "another".into(),
        supplier_id: "s1".into(),
        name: "金牌".into(),
        promote_at: None,
    };
    let taken = app.client().create_group(authed(again, Role::Supplier, "s1")).await.expect_err("taken");
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert_eq!(app.create_group("s1", "金牌", None).await, gold, "a retry answers the same group");

    let refused = |r: Result<pb::GroupRule, tonic::Status>| r.expect_err("refused");
    let both = pb::SetGroupRuleRequest {
        product_id: w.product.clone(),
        category: "tea".into(),
        ..rule("x1", &gold, pb::GroupRuleKind::Uplift, 100, None)
    };
    assert!(refused(app.rule("s1", both).await).message().contains("category"));
    let past = rule("x2", &gold, pb::GroupRuleKind::Uplift, 100, Some(app.clock.now() - TimeDelta::hours(1)));
    assert!(refused(app.rule("s1", past).await).message().contains("effective_from"));
    let unkind = rule("x3", &gold, pb::GroupRuleKind::Unspecified, 100, None);
    assert!(refused(app.rule("s1", unkind).await).message().contains("kind"));
    let high = refused(app.rule("s1", rule("x4", &gold, pb::GroupRuleKind::Absolute, 9001, None)).await);
    assert_eq!(high.code(), Code::InvalidArgument);
    assert!(high.message().contains("bps"), "{}", high.message());
    let foreign =
        pb::SetGroupRuleRequest { product_id: others, ..rule("x5", &gold, pb::GroupRuleKind::Uplift, 1, None) };
    assert_eq!(refused(app.rule("s1", foreign).await).code(), Code::NotFound);
    assert_eq!(
        refused(app.rule("s2", rule("x6", &gold, pb::GroupRuleKind::Uplift, 1, None)).await).code(),
        Code::NotFound
    );

    let list = |supplier: &str| pb::ListGroupsRequest { supplier_id: supplier.into() };
    let denied = app.client().list_groups(authed(list("s1"), Role::Promoter, "p1")).await.expect_err("promoter");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let other = app.client().list_groups(authed(list("s1"), Role::Supplier, "s2")).await.expect_err("other");
    assert_eq!(other.code(), Code::PermissionDenied);
    let finance = app.client().list_groups(authed(list("s1"), Role::Finance, "f1")).await.expect("finance");
    assert_eq!(finance.into_inner().groups.len(), 1);
    let join = pb::AddGroupMemberRequest { group_id: gold.group_id.clone(), promoter_id: "p1".into() };
    let hidden = app.client().add_group_member(authed(join, Role::Supplier, "s2")).await.expect_err("hidden");
    assert_eq!(hidden.code(), Code::NotFound);
    let peek = pb::ListPromoterGroupsRequest { promoter_id: "p1".into() };
    let peeked = app.client().list_promoter_groups(authed(peek, Role::Promoter, "p2")).await.expect_err("peek");
    assert_eq!(peeked.code(), Code::PermissionDenied);
}
