//! 风控: lines a risk rule held at attribution (many orders from one buyer, a click
//! seconds before paying, a promoter flagged for refunds), each with the evidence and
//! every decision so far; finance releases one (it goes on to settle) or voids it
//! (it earns nothing), with a note. Flagged promoters, and clearing a flag.
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use xiaopu_api::attribution as at;

use super::{
    PageQuery, Session, back, failed,
    session::Posted,
    views::{RiskFlagRow, RiskHoldRow, RiskPage},
};
use crate::{
    SharedApp,
    pages::{money, render},
};

#[derive(Debug, Default, Deserialize)]
pub struct StateQuery {
    /// held (default), released or voided.
    #[serde(default)]
    state: String,
}

pub async fn list(
    State(app): State<SharedApp>,
    session: Session,
    Query(query): Query<PageQuery>,
    Query(shown): Query<StateQuery>,
) -> Response {
    let state = match shown.state.as_str() {
        "released" => at::RiskState::Released,
        "voided" => at::RiskState::Voided,
        _ => at::RiskState::Held,
    };
    let request = at::ListRiskHoldsRequest { state: state.into(), page_size: 100, page_token: String::new() };
    let holds = match app.attribution_as_user.clone().list_risk_holds(session.request(request)).await {
        Ok(answer) => answer.into_inner().holds,
        Err(status) => return failed(session.lang, &status),
    };
    let flags =
        match app.attribution_as_user.clone().list_risk_flags(session.request(at::ListRiskFlagsRequest {})).await {
            Ok(answer) => answer.into_inner().flags,
            Err(status) => return failed(session.lang, &status),
        };
    let lang = session.lang;
    let holds = holds
        .iter()
        .filter_map(|h| {
            let line = h.line.as_ref()?;
            Some(RiskHoldRow {
                line_id: line.line_id.clone(),
                promoter_id: line.promoter_id.clone(),
                paid_at: app.local_time_of(&line.paid_at),
                commission: money(line.commission.as_ref()),
                rule: lang.t(rule_words(&line.risk_rule)).to_owned(),
                decisions: h
                    .decisions
                    .iter()
                    .map(|d| {
                        format!(
                            "{} {} {}：{}",
                            app.local_time_of(&d.decided_at),
                            d.actor,
                            lang.t(action_words(&d.action)),
                            d.note
                        )
                    })
                    .collect(),
                held: line.risk_state() == at::RiskState::Held,
            })
        })
        .collect();
    let flags = flags
        .iter()
        .map(|f| RiskFlagRow {
            promoter_id: f.promoter_id.clone(),
            rule: f.rule.clone(),
            rule_words: lang.t(rule_words(&f.rule)).to_owned(),
            note: f.note.clone(),
            raised_at: app.local_time_of(&f.raised_at),
        })
        .collect();
    let shown = match state {
        at::RiskState::Released => "released",
        at::RiskState::Voided => "voided",
        _ => "held",
    };
    render(StatusCode::OK, &RiskPage { frame: session.frame(&query), shown, holds, flags })
}

fn rule_words(rule: &str) -> &'static str {
    match rule {
        "burst_orders" => "同一买家短时间内多次下单",
        "fast_click" => "首次点击后数秒内付款",
        "refund_rate" => "推广者退款率过高",
        _ => "其他规则",
    }
}

fn action_words(action: &str) -> &'static str {
    match action {
        "held" => "暂扣",
        "released" => "放行",
        "voided" => "作废",
        "flagged" => "标记",
        "cleared" => "解除标记",
        _ => "处理",
    }
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    note: String,
    /// `release` or `void`.
    decision: String,
}

pub async fn review(
    State(app): State<SharedApp>,
    session: Session,
    Path(line_id): Path<String>,
    Form(posted): Form<Posted<ReviewForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let mut client = app.attribution_as_user.clone();
    let lang = session.lang;
    let outcome = if form.decision == "void" {
        let request = at::VoidRiskHoldRequest { line_id: line_id.clone(), note: form.note };
        client.void_risk_hold(session.request(request)).await.map(|_| lang.t1("已作废 {}：不计佣金", &line_id))
    } else {
        let request = at::ReleaseRiskHoldRequest { line_id: line_id.clone(), note: form.note };
        client.release_risk_hold(session.request(request)).await.map(|_| lang.t1("已放行 {}：照常结算", &line_id))
    };
    back(lang, "/console/risk", outcome)
}

#[derive(Debug, Deserialize)]
pub struct ClearForm {
    promoter_id: String,
    rule: String,
    note: String,
}

pub async fn clear_flag(
    State(app): State<SharedApp>,
    session: Session,
    Form(posted): Form<Posted<ClearForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let request = at::ClearRiskFlagRequest { promoter_id: form.promoter_id.clone(), rule: form.rule, note: form.note };
    let outcome = app.attribution_as_user.clone().clear_risk_flag(session.request(request)).await;
    back(session.lang, "/console/risk", outcome.map(|_| session.lang.t1("已解除 {} 的风控标记", &form.promoter_id)))
}
