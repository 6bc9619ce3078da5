//! `/console`: the finance console. A finance user signs in with a bearer token from
//! the platform's identity provider (or, on local runs only, a development sign-in
//! that mints one); every call to settlement and attribution carries that user's own
//! token, so the services decide who may do what (four eyes included). Forms carry a
//! double-submit CSRF token; a refused action shows the service's message.
mod batches;
mod holds;
mod ledger;
mod reconcile;
mod session;
mod views;

use axum::{
    Router,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use xiaopu_api::reasons;
use xiaopu_common::error::status_details;

use crate::{
    SharedApp,
    pages::{status_of, url_encode},
};

pub use session::Session;

pub fn router() -> Router<SharedApp> {
    Router::new()
        .route("/", get(batches::home))
        .route("/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/dev-sign-in", post(session::dev_sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/periods", get(ledger::periods))
        .route("/periods/close", post(batches::close_period))
        .route("/promoters/{promoter_id}", get(ledger::promoter))
        .route("/batches/{batch_id}", get(batches::batch))
        .route("/batches/{batch_id}/approve", post(batches::approve))
        .route("/batches/{batch_id}/export.csv", get(batches::export))
        .route("/batches/{batch_id}/lines/{line_id}/payout", post(batches::record_payout))
        .route("/holds", get(holds::list).post(holds::place))
        .route("/holds/release", post(holds::release))
        .route("/reconcile", get(reconcile::statement))
        .route("/lines/{line_id}", get(reconcile::line))
}

/// After a form: back to `to`, with what happened for the page to show.
fn back(to: &str, outcome: Result<String, tonic::Status>) -> Response {
    let (key, text) = match outcome {
        Ok(done) => ("done", done),
        Err(status) => ("error", refusal_text(&status)),
    };
    let separator = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{separator}{key}={}", url_encode(&text))).into_response()
}

/// A service's refusal in words: what its reason code means, in Chinese, then the
/// service's own detail and the code.
fn refusal_text(status: &tonic::Status) -> String {
    match status_details(status).0 {
        Some(reason) => match reasons::describe(&reason, reasons::Language::Chinese) {
            Some(words) => format!("{words}：{}（{reason}）", status.message()),
            None => format!("{} ({reason})", status.message()),
        },
        None => status.message().to_owned(),
    }
}

/// A page that could not be loaded because the service refused.
fn failed(status: &tonic::Status) -> Response {
    let code = status_of(status);
    let code = if code == StatusCode::UNAUTHORIZED { StatusCode::FORBIDDEN } else { code };
    crate::pages::notice(code, "操作未完成", &refusal_text(status))
}
