//! A supplier's promoter groups (推广等级): the groups with how promoters join them,
//! each group's rules as history (an uplift on, or a rate instead of, the product's
//! rate, per product, category or the whole catalogue) and its members.
use std::collections::HashMap;

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use xiaopu_api::{attribution as at, types::Money};
use xiaopu_common::time::to_timestamp;

use super::{
    CURRENCY, Session, offered_products,
    views::{GroupPage, GroupRow, GroupRuleRow, GroupsPage, MemberRow},
    yuan,
};
use crate::{
    SharedApp,
    i18n::Lang,
    pages::{PageQuery, back, failed, money, percent, percent_bps, render, scope_words},
    session::{NoFields, Posted},
};

fn invalid(text: &str) -> tonic::Status {
    tonic::Status::invalid_argument(text)
}

/// How promoters join: by hand, or by last month's commission.
fn joining(lang: Lang, promote_at: Option<&Money>) -> String {
    match promote_at {
        None => lang.t("手动加入").to_owned(),
        Some(m) => lang.tf("上月佣金达到 {} 自动加入当月", &[&money(Some(m))]),
    }
}

/// The joining bar as typed in yuan, or None for an empty field (by hand only).
fn bar_typed(typed: &str, lang: Lang) -> Result<Option<Money>, tonic::Status> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let minor = yuan(typed).ok_or_else(|| invalid(lang.t("自动加入门槛：请填写金额，如 1000（元），或留空")))?;
    Ok(Some(Money { minor_units: minor, currency: CURRENCY.into() }))
}

pub async fn list(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let request = at::ListGroupsRequest { supplier_id: session.user.clone() };
    let groups = match app.attribution_as_user.clone().list_groups(session.request(request)).await {
        Ok(answer) => answer.into_inner().groups,
        Err(status) => return failed(session.lang, &status),
    };
    let lang = session.lang;
    let rows = groups
        .iter()
        .map(|g| GroupRow {
            group_id: g.group_id.clone(),
            name: g.name.clone(),
            joining: joining(lang, g.promote_at.as_ref()),
            members: g.members,
            rules_in_force: g.rules.iter().filter(|r| r.in_force).count(),
        })
        .collect();
    let page = GroupsPage { frame: session.frame(&query), groups: rows, request_id: uuid::Uuid::new_v4().to_string() };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    request_id: String,
    name: String,
    /// Yuan; empty: members by hand only.
    #[serde(default)]
    promote_at: String,
}

pub async fn create(State(app): State<SharedApp>, session: Session, Form(posted): Form<Posted<GroupForm>>) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let promote_at = match bar_typed(&form.promote_at, session.lang) {
        Ok(amount) => amount,
        Err(why) => return back(session.lang, "/supplier/groups", Err(why)),
    };
    let request = at::CreateGroupRequest {
        request_id: form.request_id,
        supplier_id: session.user.clone(),
        name: form.name.trim().to_owned(),
        promote_at,
    };
    match app.attribution_as_user.clone().create_group(session.request(request)).await {
        Ok(answer) => {
            let id = answer.into_inner().group.map(|g| g.group_id).unwrap_or_default();
            back(session.lang, &format!("/supplier/groups/{id}"), Ok(session.lang.t("等级已创建").to_owned()))
        }
        Err(status) => back(session.lang, "/supplier/groups", Err(status)),
    }
}

pub async fn group(
    State(app): State<SharedApp>,
    session: Session,
    Path(group_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let request = at::ListGroupsRequest { supplier_id: session.user.clone() };
    let groups = match app.attribution_as_user.clone().list_groups(session.request(request)).await {
        Ok(answer) => answer.into_inner().groups,
        Err(status) => return failed(session.lang, &status),
    };
    let Some(group) = groups.into_iter().find(|g| g.group_id == group_id) else {
        return failed(session.lang, &tonic::Status::not_found(format!("group {group_id} not found")));
    };
    let request = at::ListGroupMembersRequest { group_id: group_id.clone() };
    let members = match app.attribution_as_user.clone().list_group_members(session.request(request)).await {
        Ok(answer) => answer.into_inner().members,
        Err(status) => return failed(session.lang, &status),
    };
    let products = match offered_products(&app, &session).await {
        Ok(products) => products,
        Err(status) => return failed(session.lang, &status),
    };
    let titles: HashMap<&str, &str> = products.iter().map(|p| (p.product_id.as_str(), p.title.as_str())).collect();
    let lang = session.lang;
    let now = chrono::Utc::now();
    let rules = group
        .rules
        .iter()
        .map(|r| {
            let scope = scope_words(lang, &r.product_id, &r.category, |p| titles.get(p).map(|t| (*t).to_owned()));
            let begun = r.effective_from.as_ref().is_some_and(|t| t.seconds <= now.timestamp());
            let state = match (r.in_force, begun) {
                (true, _) => "生效中",
                (false, false) => "待生效",
                (false, true) => "已被取代",
            };
            GroupRuleRow {
                scope,
                kind: lang.words(r.kind().as_str_name()),
                rate: percent(r.bps),
                effective_from: app.local_time_of(&r.effective_from),
                state: lang.t(state).to_owned(),
            }
        })
        .collect();
    let members = members
        .iter()
        .map(|m| MemberRow {
            promoter_id: m.promoter_id.clone(),
            joined_at: app.local_time_of(&m.joined_at),
            left_at: app.local_time_of(&m.left_at),
            source: lang.t(if m.source == "manual" { "手动" } else { "按上月佣金" }).to_owned(),
            current: m.left_at.is_none(),
        })
        .collect();
    let promote_at =
        group.promote_at.as_ref().map(|m| xiaopu_money::to_decimal(m.minor_units, &m.currency)).unwrap_or_default();
    let page = GroupPage {
        frame: session.frame(&query),
        group_id: group.group_id.clone(),
        group_name: group.name.clone(),
        joining: joining(lang, group.promote_at.as_ref()),
        promote_at,
        rules,
        members,
        products: products.into_iter().map(|p| (p.product_id, p.title)).collect(),
        kinds: [at::GroupRuleKind::Uplift, at::GroupRuleKind::Absolute]
            .iter()
            .map(|k| (k.as_str_name().to_owned(), lang.words(k.as_str_name())))
            .collect(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    render(StatusCode::OK, &page)
}

pub async fn update(
    State(app): State<SharedApp>,
    session: Session,
    Path(group_id): Path<String>,
    Form(posted): Form<Posted<GroupForm>>,
) -> Response {
    let to = format!("/supplier/groups/{group_id}");
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let promote_at = match bar_typed(&form.promote_at, session.lang) {
        Ok(amount) => amount,
        Err(why) => return back(session.lang, &to, Err(why)),
    };
    let request = at::UpdateGroupRequest { group_id, name: form.name.trim().to_owned(), promote_at };
    let outcome = app.attribution_as_user.clone().update_group(session.request(request)).await;
    back(session.lang, &to, outcome.map(|_| session.lang.t("等级已保存").to_owned()))
}

#[derive(Debug, Deserialize)]
pub struct RuleForm {
    request_id: String,
    /// `all`, `category` or `product`.
    scope: String,
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    category: String,
    /// A `GroupRuleKind` name.
    kind: String,
    /// Percent, as typed.
    rate: String,
    /// Empty for now; else `YYYY-MM-DDTHH:MM` in the platform's time zone.
    #[serde(default)]
    effective_from: String,
}

pub async fn set_rule(
    State(app): State<SharedApp>,
    session: Session,
    Path(group_id): Path<String>,
    Form(posted): Form<Posted<RuleForm>>,
) -> Response {
    let to = format!("/supplier/groups/{group_id}");
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let lang = session.lang;
    let Some(bps) = percent_bps(&form.rate) else {
        return back(lang, &to, Err(invalid(lang.t("比例：请填写百分数，如 1.5"))));
    };
    let effective_from = if form.effective_from.trim().is_empty() {
        None
    } else {
        match app.day_start(&form.effective_from) {
            Some(at) => Some(to_timestamp(at)),
            None => return back(lang, &to, Err(invalid(lang.t("生效时间：请选择日期和时间")))),
        }
    };
    let (product_id, category) = match form.scope.as_str() {
        "product" => (form.product_id.trim().to_owned(), String::new()),
        "category" => (String::new(), form.category.trim().to_owned()),
        _ => (String::new(), String::new()),
    };
    let request = at::SetGroupRuleRequest {
        request_id: form.request_id,
        group_id,
        product_id,
        category,
        kind: at::GroupRuleKind::from_str_name(&form.kind).unwrap_or(at::GroupRuleKind::Unspecified).into(),
        bps,
        effective_from,
    };
    let outcome = app.attribution_as_user.clone().set_group_rule(session.request(request)).await;
    back(lang, &to, outcome.map(|_| lang.t("规则已添加").to_owned()))
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    promoter_id: String,
}

pub async fn add_member(
    State(app): State<SharedApp>,
    session: Session,
    Path(group_id): Path<String>,
    Form(posted): Form<Posted<MemberForm>>,
) -> Response {
    let to = format!("/supplier/groups/{group_id}");
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let request = at::AddGroupMemberRequest { group_id, promoter_id: form.promoter_id.trim().to_owned() };
    let outcome = app.attribution_as_user.clone().add_group_member(session.request(request)).await;
    back(session.lang, &to, outcome.map(|_| session.lang.t("推广者已加入").to_owned()))
}

pub async fn remove_member(
    State(app): State<SharedApp>,
    session: Session,
    Path((group_id, promoter_id)): Path<(String, String)>,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    let to = format!("/supplier/groups/{group_id}");
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let request = at::RemoveGroupMemberRequest { group_id, promoter_id };
    let outcome = app.attribution_as_user.clone().remove_group_member(session.request(request)).await;
    back(session.lang, &to, outcome.map(|_| session.lang.t("推广者已移出").to_owned()))
}
