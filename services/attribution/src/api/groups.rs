//! Promoter groups (等级): a supplier's groups with their rules as history, who is in
//! them, and the groups a promoter is in. Only the supplier (or admin) changes them;
//! finance may read them. A change that moves rates (a rule, a membership) holds the
//! read model as the storefront's feed does, so no batch decides a line half-way.
use chrono::{DateTime, Utc};
use tonic::{Code, Request, Response};
use uuid::Uuid;
use xiaopu_api::{attribution as pb, types::Money};
use xiaopu_common::{
    auth::{Caller, CallerExt, Role},
    error::{Invalid, Violations, reason, status_with_reason},
    idempotency::{self, Claim},
    time::{from_timestamp, to_timestamp},
    validate,
};
use xiaopu_money::Bps;

use super::{AttributionApi, amount};
use crate::{
    Error,
    domain::group::{Kind, Rule, Scope},
    store::{
        self,
        groups::{GroupRow, MemberRow, RuleRow},
    },
};

const CREATE_GROUP_SCOPE: &str = "attribution.create_group";
const SET_GROUP_RULE_SCOPE: &str = "attribution.set_group_rule";
const MAX_NAME_CHARS: usize = 40;
const MAX_CATEGORY_CHARS: usize = 40;
/// The highest rate or uplift a rule may set (the storefront's default ceiling).
const MAX_RULE_BPS: i32 = 9000;
const READERS: &[Role] = &[Role::Supplier, Role::Finance, Role::Admin];

fn kind_message(kind: Kind) -> pb::GroupRuleKind {
    match kind {
        Kind::Uplift => pb::GroupRuleKind::Uplift,
        Kind::Absolute => pb::GroupRuleKind::Absolute,
    }
}

/// Each rule with whether it is in force at `now`: the latest begun of its scope.
fn rule_messages(rules: &[RuleRow], now: DateTime<Utc>) -> Vec<pb::GroupRule> {
    rules
        .iter()
        .map(|r| {
            let in_force = r.rule.effective_from <= now
                && !rules.iter().any(|o| {
                    o.group_id == r.group_id
                        && o.rule.scope == r.rule.scope
                        && o.rule.effective_from <= now
                        && (o.rule.effective_from, o.rule.rule_id) > (r.rule.effective_from, r.rule.rule_id)
                });
            let (product_id, category) = match &r.rule.scope {
                Scope::Product(p) => (p.to_string(), String::new()),
                Scope::Category(c) => (String::new(), c.clone()),
                Scope::Catalogue => (String::new(), String::new()),
            };
            pb::GroupRule {
                rule_id: r.rule.rule_id.to_string(),
                group_id: r.group_id.to_string(),
                product_id,
                category,
                kind: kind_message(r.rule.kind).into(),
                bps: r.rule.bps.get(),
                effective_from: Some(to_timestamp(r.rule.effective_from)),
                created_at: Some(to_timestamp(r.created_at)),
                in_force,
            }
        })
        .collect()
}

fn group_message(g: &GroupRow, rules: Vec<pb::GroupRule>, members: i64) -> pb::Group {
    pb::Group {
        group_id: g.group_id.to_string(),
        supplier_id: g.supplier_id.clone(),
        name: g.name.clone(),
        promote_at: g.promote_at_minor.map(|minor_units| Money { minor_units, currency: g.currency.clone() }),
        rules,
        members,
        created_at: Some(to_timestamp(g.created_at)),
    }
}

fn member_message(m: &MemberRow) -> pb::GroupMember {
    pb::GroupMember {
        group_id: m.group_id.to_string(),
        promoter_id: m.promoter_id.clone(),
        joined_at: Some(to_timestamp(m.joined_at)),
        left_at: m.left_at.map(to_timestamp),
        source: m.source.clone(),
    }
}

fn name_taken(name: &str) -> Error {
    Error::from(status_with_reason(
        Code::AlreadyExists,
        reason::ALREADY_EXISTS,
        format!("name: the supplier already has a group named `{name}`"),
    ))
}

/// The group `group_id` names, if `caller` may see it (another supplier's is not
/// found, as if it did not exist).
async fn visible_group(api: &AttributionApi, caller: &Caller, group_id: &str) -> Result<GroupRow, Error> {
    let id = validate::uuid("group_id", group_id).map_err(Invalid::from)?;
    store::groups::group(&api.pool, id)
        .await?
        .filter(|g| caller.role != Role::Supplier || g.supplier_id == caller.subject)
        .ok_or_else(|| Error::not_found("group", id))
}

/// The group with its rules and member count as of now.
async fn full_group(api: &AttributionApi, g: &GroupRow) -> Result<pb::Group, Error> {
    let now = api.pipeline.clock.now();
    let rules = store::groups::rules(&api.pool, &[g.group_id]).await?;
    let members = store::groups::of_supplier(&api.pool, &g.supplier_id, now)
        .await?
        .into_iter()
        .find(|(o, _)| o.group_id == g.group_id)
        .map_or(0, |(_, n)| n);
    Ok(group_message(g, rule_messages(&rules, now), members))
}

#[tracing::instrument(skip_all)]
pub async fn create_group(
    api: &AttributionApi,
    request: Request<pb::CreateGroupRequest>,
) -> Result<Response<pb::CreateGroupResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Admin])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let supplier_id = v.check(validate::id("supplier_id", &r.supplier_id));
    let name = v.check(validate::label("name", &r.name, MAX_NAME_CHARS));
    let promote_at = r.promote_at.as_ref().map(|m| amount(&mut v, "promote_at", Some(m), &api.pipeline.currencies));
    let (request_id, supplier_id, name) =
        v.finish_with(request_id.zip(supplier_id).zip(name).map(|((a, b), c)| (a, b, c)))?;
    caller.require_owner(Role::Supplier, supplier_id, &[Role::Admin])?;
    let promote_at = promote_at.flatten();

    let mut tx = api.pool.begin().await?;
    let fingerprint = idempotency::fingerprint(&r);
    let key = match idempotency::claim(&mut tx, CREATE_GROUP_SCOPE, &caller.subject, request_id, &fingerprint).await? {
        Claim::Replay(answer) => return Ok(Response::new(answer)),
        Claim::New(key) => key,
    };
    let group = GroupRow {
        group_id: Uuid::now_v7(),
        supplier_id: supplier_id.to_owned(),
        name: name.to_owned(),
        promote_at_minor: promote_at.as_ref().map(|(m, _)| m.get()),
        currency: promote_at.map_or_else(|| api.pipeline.currencies[0].clone(), |(_, c)| c),
        created_at: api.pipeline.clock.now(),
    };
    if !store::groups::insert_group(&mut tx, &group).await? {
        return Err(name_taken(name));
    }
    let answer = pb::CreateGroupResponse { group: Some(group_message(&group, Vec::new(), 0)) };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(group = %group.group_id, supplier = supplier_id, "group created");
    Ok(Response::new(answer))
}

#[tracing::instrument(skip_all)]
pub async fn update_group(
    api: &AttributionApi,
    request: Request<pb::UpdateGroupRequest>,
) -> Result<Response<pb::UpdateGroupResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Admin])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let id = v.check(validate::uuid("group_id", &r.group_id));
    let name = v.check(validate::label("name", &r.name, MAX_NAME_CHARS));
    let promote_at = r.promote_at.as_ref().map(|m| amount(&mut v, "promote_at", Some(m), &api.pipeline.currencies));
    let (_, name) = v.finish_with(id.zip(name))?;
    let mut group = visible_group(api, &caller, &r.group_id).await?;
    group.name = name.to_owned();
    group.promote_at_minor = None;
    if let Some((minor, currency)) = promote_at.flatten() {
        group.promote_at_minor = Some(minor.get());
        group.currency = currency;
    }
    let mut conn = api.pool.acquire().await?;
    if !store::groups::update_group(&mut conn, &group).await? {
        return Err(name_taken(name));
    }
    Ok(Response::new(pb::UpdateGroupResponse { group: Some(full_group(api, &group).await?) }))
}

#[tracing::instrument(skip_all)]
pub async fn list_groups(
    api: &AttributionApi,
    request: Request<pb::ListGroupsRequest>,
) -> Result<Response<pb::ListGroupsResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(READERS)?;
    let supplier_id =
        validate::id("supplier_id", &request.get_ref().supplier_id).map_err(|v| Error::from(Invalid::from(v)))?;
    caller.require_owner(Role::Supplier, supplier_id, &[Role::Finance, Role::Admin])?;
    let now = api.pipeline.clock.now();
    let groups = store::groups::of_supplier(&api.pool, supplier_id, now).await?;
    let ids: Vec<Uuid> = groups.iter().map(|(g, _)| g.group_id).collect();
    let rules = store::groups::rules(&api.pool, &ids).await?;
    let groups = groups
        .iter()
        .map(|(g, members)| {
            let own: Vec<RuleRow> = rules.iter().filter(|r| r.group_id == g.group_id).cloned().collect();
            group_message(g, rule_messages(&own, now), *members)
        })
        .collect();
    Ok(Response::new(pb::ListGroupsResponse { groups }))
}

#[tracing::instrument(skip_all)]
pub async fn set_group_rule(
    api: &AttributionApi,
    request: Request<pb::SetGroupRuleRequest>,
) -> Result<Response<pb::SetGroupRuleResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Admin])?;
    let r = request.into_inner();
    let now = api.pipeline.clock.now();
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let group_id = v.check(validate::uuid("group_id", &r.group_id));
    let product_id = v.check(validate::optional_uuid("product_id", &r.product_id));
    if !r.category.is_empty() {
        v.check(validate::label("category", &r.category, MAX_CATEGORY_CHARS));
        if !r.product_id.is_empty() {
            v.add("category", "must be empty when product_id is set: a rule covers one product or one category");
        }
    }
    let kind = match r.kind() {
        pb::GroupRuleKind::Uplift => Some(Kind::Uplift),
        pb::GroupRuleKind::Absolute => Some(Kind::Absolute),
        pb::GroupRuleKind::Unspecified => {
            v.add("kind", "must be UPLIFT or ABSOLUTE");
            None
        }
    };
    if !(0..=MAX_RULE_BPS).contains(&r.bps) {
        v.add("bps", format!("must be between 0 and {MAX_RULE_BPS}"));
    }
    let effective_from = match r.effective_from.as_ref() {
        None => Some(now),
        Some(ts) => match from_timestamp(ts) {
            Some(at) if at >= now => Some(at),
            _ => {
                v.add("effective_from", "must be now or later: rules are history and never apply backwards");
                None
            }
        },
    };
    let (request_id, (_, (product_id, (kind, effective_from)))) =
        v.finish_with(request_id.zip(group_id.zip(product_id.zip(kind.zip(effective_from)))))?;
    let group = visible_group(api, &caller, &r.group_id).await?;
    if let Some(product) = product_id {
        let owners = store::read_model::suppliers(&api.pool, &[product]).await?;
        if !owners.iter().any(|(_, s)| *s == group.supplier_id) {
            return Err(Error::not_found("product of the group's supplier", product));
        }
    }
    let scope = match (product_id, r.category.as_str()) {
        (Some(p), _) => Scope::Product(p),
        (None, "") => Scope::Catalogue,
        (None, c) => Scope::Category(c.to_owned()),
    };

    let mut tx = api.pool.begin().await?;
    let fingerprint = idempotency::fingerprint(&r);
    let key = match idempotency::claim(&mut tx, SET_GROUP_RULE_SCOPE, &caller.subject, request_id, &fingerprint).await?
    {
        Claim::Replay(answer) => return Ok(Response::new(answer)),
        Claim::New(key) => key,
    };
    store::own_read_model(&mut tx).await?;
    // Checked: 0..=9000.
    let bps = Bps::clamped(r.bps);
    let rule = RuleRow {
        group_id: group.group_id,
        rule: Rule { rule_id: Uuid::now_v7(), scope, kind, bps, effective_from },
        created_at: now,
    };
    store::groups::insert_rule(&mut tx, &rule).await?;
    let answer = pb::SetGroupRuleResponse { rule: rule_messages(std::slice::from_ref(&rule), now).pop() };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(group = %group.group_id, rule = %rule.rule.rule_id, "group rule set");
    Ok(Response::new(answer))
}

/// The group and promoter of a membership change, checked.
async fn membership_target(
    api: &AttributionApi,
    caller: &Caller,
    group_id: &str,
    promoter_id: &str,
) -> Result<(GroupRow, String), Error> {
    let mut v = Violations::new();
    let id = v.check(validate::uuid("group_id", group_id));
    let promoter = v.check(validate::id("promoter_id", promoter_id));
    let (_, promoter) = v.finish_with(id.zip(promoter))?;
    Ok((visible_group(api, caller, group_id).await?, promoter.to_owned()))
}

#[tracing::instrument(skip_all)]
pub async fn add_group_member(
    api: &AttributionApi,
    request: Request<pb::AddGroupMemberRequest>,
) -> Result<Response<pb::AddGroupMemberResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Admin])?;
    let r = request.get_ref();
    let (group, promoter) = membership_target(api, &caller, &r.group_id, &r.promoter_id).await?;
    let mut tx = api.pool.begin().await?;
    store::own_read_model(&mut tx).await?;
    let member = store::groups::join(&mut tx, group.group_id, &promoter, api.pipeline.clock.now()).await?;
    tx.commit().await?;
    Ok(Response::new(pb::AddGroupMemberResponse { member: Some(member_message(&member)) }))
}

#[tracing::instrument(skip_all)]
pub async fn remove_group_member(
    api: &AttributionApi,
    request: Request<pb::RemoveGroupMemberRequest>,
) -> Result<Response<pb::RemoveGroupMemberResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Admin])?;
    let r = request.get_ref();
    let (group, promoter) = membership_target(api, &caller, &r.group_id, &r.promoter_id).await?;
    let mut tx = api.pool.begin().await?;
    store::own_read_model(&mut tx).await?;
    store::groups::leave(&mut tx, group.group_id, &promoter, api.pipeline.clock.now()).await?;
    tx.commit().await?;
    Ok(Response::new(pb::RemoveGroupMemberResponse {}))
}

#[tracing::instrument(skip_all)]
pub async fn list_group_members(
    api: &AttributionApi,
    request: Request<pb::ListGroupMembersRequest>,
) -> Result<Response<pb::ListGroupMembersResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(READERS)?;
    let group = visible_group(api, &caller, &request.get_ref().group_id).await?;
    let members = store::groups::members(&api.pool, group.group_id).await?;
    Ok(Response::new(pb::ListGroupMembersResponse { members: members.iter().map(member_message).collect() }))
}

#[tracing::instrument(skip_all)]
pub async fn list_promoter_groups(
    api: &AttributionApi,
    request: Request<pb::ListPromoterGroupsRequest>,
) -> Result<Response<pb::ListPromoterGroupsResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter, Role::Finance, Role::Admin])?;
    let promoter =
        validate::id("promoter_id", &request.get_ref().promoter_id).map_err(|v| Error::from(Invalid::from(v)))?;
    caller.require_owner(Role::Promoter, promoter, &[Role::Finance, Role::Admin])?;
    let now = api.pipeline.clock.now();
    let mut memberships = store::groups::of_promoter(&api.pool, promoter, now).await?;
    // In a group by hand and for the month at once: one group.
    memberships.dedup_by_key(|(g, _)| g.group_id);
    let ids: Vec<Uuid> = memberships.iter().map(|(g, _)| g.group_id).collect();
    let rules = store::groups::rules(&api.pool, &ids).await?;
    let groups = memberships
        .iter()
        .map(|(g, m)| {
            let own: Vec<RuleRow> = rules.iter().filter(|r| r.group_id == g.group_id).cloned().collect();
            pb::PromoterGroup {
                group_id: g.group_id.to_string(),
                supplier_id: g.supplier_id.clone(),
                name: g.name.clone(),
                joined_at: Some(to_timestamp(m.joined_at)),
                left_at: m.left_at.map(to_timestamp),
                rules: rule_messages(&own, now).into_iter().filter(|r| r.in_force).collect(),
            }
        })
        .collect();
    Ok(Response::new(pb::ListPromoterGroupsResponse { groups }))
}
