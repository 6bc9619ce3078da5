//! Finance's side of the risk rules: the lines they held, releasing one (it goes on
//! to settle and be paid) or voiding it (it earns nothing), and the promoters flagged.
//! Every decision is audited with who, when and why.
use chrono::{DateTime, Utc};
use tonic::{Code, Request, Response};
use xiaopu_api::attribution::{self as pb, CommissionCause};
use xiaopu_common::{
    auth::{Caller, CallerExt, Role},
    db::unknown_value,
    error::{Violations, reason, status_with_reason},
    feed::publish_all,
    paging::{Page, next_page},
    time::to_timestamp,
    validate,
};

use super::{AttributionApi, views};
use crate::{
    Error,
    app::{
        budgets,
        engine::{Cause, events, recompute},
    },
    domain::{
        Reason,
        risk::{Rule, State},
    },
    store::{self, lines::LineRow, risk::Decision},
};

const REVIEWERS: &[Role] = &[Role::Finance, Role::Admin];
const MAX_NOTE_CHARS: usize = 500;

pub(super) fn state_message(state: Option<State>) -> pb::RiskState {
    match state {
        None => pb::RiskState::Unspecified,
        Some(State::Held) => pb::RiskState::Held,
        Some(State::Released) => pb::RiskState::Released,
        Some(State::Voided) => pb::RiskState::Voided,
    }
}

/// Lines with their decisions, as finance sees them.
async fn holds(api: &AttributionApi, caller: &Caller, lines: &[LineRow]) -> Result<Vec<pb::RiskHold>, Error> {
    let ids: Vec<String> = lines.iter().map(|l| l.line_id.clone()).collect();
    let decisions = store::risk::decisions_on(&api.pool, &ids).await?;
    lines
        .iter()
        .map(|l| {
            let decisions = decisions
                .iter()
                .filter(|d| d.line_id == l.line_id)
                .map(|d| pb::RiskDecision {
                    action: d.action.clone(),
                    rule: d.rule.clone(),
                    actor: d.actor.clone(),
                    note: d.note.clone(),
                    decided_at: Some(to_timestamp(d.decided_at)),
                })
                .collect();
            Ok(pb::RiskHold { line: Some(views::line(l, caller)?), summary: l.summary.clone(), decisions })
        })
        .collect()
}

#[tracing::instrument(skip_all)]
pub async fn list_risk_holds(
    api: &AttributionApi,
    request: Request<pb::ListRiskHoldsRequest>,
) -> Result<Response<pb::ListRiskHoldsResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(REVIEWERS)?;
    let r = request.into_inner();
    let state = match r.state() {
        pb::RiskState::Unspecified | pb::RiskState::Held => State::Held,
        pb::RiskState::Released => State::Released,
        pb::RiskState::Voided => State::Voided,
    };
    let page: Page<(DateTime<Utc>, String)> = Page::from_request(r.page_size, &r.page_token, 50, 200)?;
    let mut rows = store::risk::lines_in_state(&api.pool, state.as_str(), page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |l| (l.decided_at, l.line_id.clone()));
    Ok(Response::new(pb::ListRiskHoldsResponse { holds: holds(api, &caller, &rows).await?, next_page_token }))
}

/// The line and note of a review, checked.
fn review_request<'a>(line_id: &'a str, note: &'a str) -> Result<(&'a str, &'a str), Error> {
    let mut v = Violations::new();
    let line = v.check(validate::id("line_id", line_id));
    let note = v.check(validate::text("note", note, MAX_NOTE_CHARS, true));
    Ok(v.finish_with(line.zip(note))?)
}

fn not_held(line_id: &str, state: Option<State>) -> Error {
    let now = state.map_or("not held", State::as_str);
    Error::from(status_with_reason(
        Code::FailedPrecondition,
        reason::LINE_NOT_HELD,
        format!("line {line_id} is {now}; only a held line is released or voided"),
    ))
}

/// Releases (`void` false) or voids a held line: the line written, its commission
/// events published, the decision audited, in one transaction.
async fn review(
    api: &AttributionApi,
    caller: &Caller,
    line_id: &str,
    note: &str,
    void: bool,
) -> Result<LineRow, Error> {
    let now = api.pipeline.clock.now();
    let mut tx = api.pool.begin().await?;
    let before = store::lines::lock(&mut tx, &[line_id.to_owned()])
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("order line", line_id))?;
    if before.risk_state != Some(State::Held) {
        return Err(not_held(line_id, before.risk_state));
    }
    let mut after = before.clone();
    let (action, kind) = if void {
        after.risk_state = Some(State::Voided);
        after.attributed = false;
        after.reason = Reason::RiskVoided;
        after.summary.push_str(&format!("; voided by {}: {note}", caller.subject));
        after.decided_at = now;
        ("voided", CommissionCause::RiskVoided)
    } else {
        after.risk_state = Some(State::Released);
        ("released", CommissionCause::RiskReleased)
    };
    after.updated_at = now;
    recompute(&mut after);
    // A voided line gives its commission back to the supplier's budget.
    budgets::charge(&mut tx, api.pipeline.engine.zone, now, [(Some(&before), &mut after)]).await?;
    let outgoing = events(Some(&before), &after, Cause { kind, id: &format!("risk:{action}:{line_id}"), at: now })?;
    store::lines::update(&mut tx, std::slice::from_ref(&after)).await?;
    let decision = Decision {
        line_id: Some(line_id.to_owned()),
        promoter_id: before.promoter_id.clone().unwrap_or_default(),
        action,
        // A held line has its rule (a CHECK of the table).
        rule: before.risk_rule.ok_or_else(|| unknown_value("order_line.risk_rule", ""))?,
        actor: caller.subject.clone(),
        note: note.to_owned(),
        decided_at: now,
    };
    store::risk::audit(&mut tx, &[decision]).await?;
    publish_all(&mut tx, &outgoing).await?;
    tx.commit().await?;
    tracing::info!(line = line_id, action, by = %caller.subject, "risk hold reviewed");
    Ok(after)
}

#[tracing::instrument(skip_all)]
pub async fn release_risk_hold(
    api: &AttributionApi,
    request: Request<pb::ReleaseRiskHoldRequest>,
) -> Result<Response<pb::ReleaseRiskHoldResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(REVIEWERS)?;
    let r = request.get_ref();
    let (line_id, note) = review_request(&r.line_id, &r.note)?;
    let line = review(api, &caller, line_id, note, false).await?;
    Ok(Response::new(pb::ReleaseRiskHoldResponse { hold: holds(api, &caller, &[line]).await?.pop() }))
}

#[tracing::instrument(skip_all)]
pub async fn void_risk_hold(
    api: &AttributionApi,
    request: Request<pb::VoidRiskHoldRequest>,
) -> Result<Response<pb::VoidRiskHoldResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(REVIEWERS)?;
    let r = request.get_ref();
    let (line_id, note) = review_request(&r.line_id, &r.note)?;
    let line = review(api, &caller, line_id, note, true).await?;
    Ok(Response::new(pb::VoidRiskHoldResponse { hold: holds(api, &caller, &[line]).await?.pop() }))
}

#[tracing::instrument(skip_all)]
pub async fn list_risk_flags(
    api: &AttributionApi,
    request: Request<pb::ListRiskFlagsRequest>,
) -> Result<Response<pb::ListRiskFlagsResponse>, Error> {
    request.caller()?.require_role(REVIEWERS)?;
    let flags = store::risk::open_flags(&api.pool)
        .await?
        .into_iter()
        .map(|f| pb::RiskFlag {
            promoter_id: f.promoter_id,
            rule: f.rule,
            note: f.note,
            raised_at: Some(to_timestamp(f.raised_at)),
        })
        .collect();
    Ok(Response::new(pb::ListRiskFlagsResponse { flags }))
}

#[tracing::instrument(skip_all)]
pub async fn clear_risk_flag(
    api: &AttributionApi,
    request: Request<pb::ClearRiskFlagRequest>,
) -> Result<Response<pb::ClearRiskFlagResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(REVIEWERS)?;
    let r = request.get_ref();
    let mut v = Violations::new();
    let promoter = v.check(validate::id("promoter_id", &r.promoter_id));
    let note = v.check(validate::text("note", &r.note, MAX_NOTE_CHARS, true));
    let rule = Rule::parse(&r.rule);
    if rule.is_none() {
        v.add("rule", "must be burst_orders, fast_click or refund_rate");
    }
    let (promoter, (note, rule)) = v.finish_with(promoter.zip(note.zip(rule)))?;
    let now = api.pipeline.clock.now();
    let mut tx = api.pool.begin().await?;
    if !store::risk::clear_flag(&mut tx, promoter, rule, now).await? {
        return Err(Error::from(status_with_reason(
            Code::FailedPrecondition,
            reason::FLAG_NOT_RAISED,
            format!("promoter {promoter} has no open {} flag", rule.as_str()),
        )));
    }
    let decision = Decision {
        line_id: None,
        promoter_id: promoter.to_owned(),
        action: "cleared",
        rule,
        actor: caller.subject.clone(),
        note: note.to_owned(),
        decided_at: now,
    };
    store::risk::audit(&mut tx, &[decision]).await?;
    tx.commit().await?;
    Ok(Response::new(pb::ClearRiskFlagResponse {}))
}
