//! Holds: a promoter under fraud review is kept out of payout batches until released,
//! with a reason either way (settlement audits who and when).
use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use xiaopu_api::settlement as st;
use xiaopu_common::time::from_timestamp;

use super::{
    PageQuery, Session, back, failed,
    session::Posted,
    views::{HoldRow, HoldsPage},
};
use crate::{SharedApp, pages::render};

pub async fn list(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let request = session.request(st::ListHoldsRequest { include_released: true, ..Default::default() });
    let holds = match app.settlement_as_user.clone().list_holds(request).await {
        Ok(answer) => answer.into_inner().holds,
        Err(status) => return failed(session.lang, &status),
    };
    let when = |t: &Option<prost_types::Timestamp>, by: &str| {
        t.as_ref().and_then(from_timestamp).map(|t| format!("{} {by}", app.local_time(t))).unwrap_or_default()
    };
    let rows = holds
        .iter()
        .map(|h| HoldRow {
            promoter_id: h.promoter_id.clone(),
            reason: if h.release_reason.is_empty() {
                h.reason.clone()
            } else {
                session.lang.tf("{}（解除：{}）", &[&h.reason, &h.release_reason])
            },
            placed: when(&h.placed_at, &h.placed_by),
            released: when(&h.released_at, &h.released_by),
            active: h.released_at.is_none(),
        })
        .collect();
    render(StatusCode::OK, &HoldsPage { frame: session.frame(&query), holds: rows })
}

#[derive(Debug, Deserialize)]
pub struct HoldForm {
    promoter_id: String,
    reason: String,
}

pub async fn place(State(app): State<SharedApp>, session: Session, Form(posted): Form<Posted<HoldForm>>) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let request = session.request(st::PlaceHoldRequest { promoter_id: form.promoter_id.clone(), reason: form.reason });
    let placed = app.settlement_as_user.clone().place_hold(request).await;
    back(session.lang, "/console/holds", placed.map(|_| session.lang.t1("已冻结 {}", &form.promoter_id)))
}

pub async fn release(State(app): State<SharedApp>, session: Session, Form(posted): Form<Posted<HoldForm>>) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let request =
        session.request(st::ReleaseHoldRequest { promoter_id: form.promoter_id.clone(), reason: form.reason });
    let released = app.settlement_as_user.clone().release_hold(request).await;
    back(session.lang, "/console/holds", released.map(|_| session.lang.t1("已解除 {} 的冻结", &form.promoter_id)))
}
