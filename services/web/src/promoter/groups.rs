//! The promoter's groups (等级): which suppliers' groups they are in now and the
//! rates those give them.
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use xiaopu_api::attribution as at;

use super::{
    Session,
    orders::product_titles,
    views::{GroupsPage, MyGroup, Tabs},
};
use crate::{
    SharedApp,
    pages::{PageQuery, failed, percent, render, scope_words},
};

pub async fn groups(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let request = at::ListPromoterGroupsRequest { promoter_id: session.user.clone() };
    let groups = match app.attribution_as_user.clone().list_promoter_groups(session.request(request)).await {
        Ok(answer) => answer.into_inner().groups,
        Err(status) => return failed(session.lang, &status),
    };
    let ids = groups.iter().flat_map(|g| g.rules.iter().map(|r| r.product_id.clone())).filter(|p| !p.is_empty());
    let titles = product_titles(&app, &session, ids.collect()).await;
    let lang = session.lang;
    let groups = groups
        .iter()
        .map(|g| MyGroup {
            name: g.name.clone(),
            supplier_id: g.supplier_id.clone(),
            since: app.local_time_of(&g.joined_at),
            until: app.local_time_of(&g.left_at),
            rules: g
                .rules
                .iter()
                .map(|r| {
                    let scope = scope_words(lang, &r.product_id, &r.category, |p| titles.get(p).cloned());
                    let rate = match r.kind() {
                        at::GroupRuleKind::Absolute => lang.tf("佣金率 {}", &[&percent(r.bps)]),
                        _ => lang.tf("佣金率加 {}", &[&percent(r.bps)]),
                    };
                    (scope, rate)
                })
                .collect(),
        })
        .collect();
    render(StatusCode::OK, &GroupsPage { frame: session.frame(&query), tabs: Tabs("groups"), groups })
}
