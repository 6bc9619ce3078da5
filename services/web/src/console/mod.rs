//! `/console`: the finance console. A finance user signs in with a bearer token from
//! the platform's identity provider (or, on local runs only, a development sign-in
//! that mints one); every call to settlement and attribution carries that user's own
//! token, so the services decide who may do what (four eyes included). Forms carry a
//! double-submit CSRF token; a refused action shows the service's message.
mod batches;
mod holds;
mod ledger;
mod reconcile;
mod risk;
mod views;

use axum::{
    Router,
    routing::{get, post},
};

pub use crate::pages::{PageQuery, back, failed};
use crate::{
    SharedApp,
    session::{self, Finance},
};

/// A signed-in finance user.
pub type Session = session::Session<Finance>;

pub fn router() -> Router<SharedApp> {
    Router::new()
        .route("/", get(batches::home))
        .route("/sign-in", get(session::sign_in_page::<Finance>).post(session::sign_in::<Finance>))
        .route("/dev-sign-in", post(session::dev_sign_in::<Finance>))
        .route("/sign-out", post(session::sign_out::<Finance>))
        .route("/periods", get(ledger::periods))
        .route("/periods/close", post(batches::close_period))
        .route("/promoters/{promoter_id}", get(ledger::promoter))
        .route("/batches/{batch_id}", get(batches::batch))
        .route("/batches/{batch_id}/approve", post(batches::approve))
        .route("/batches/{batch_id}/export.csv", get(batches::export))
        .route("/batches/{batch_id}/lines/{line_id}/payout", post(batches::record_payout))
        .route("/holds", get(holds::list).post(holds::place))
        .route("/holds/release", post(holds::release))
        .route("/risk", get(risk::list))
        .route("/risk/flags/clear", post(risk::clear_flag))
        .route("/risk/{line_id}", post(risk::review))
        .route("/reconcile", get(reconcile::statement))
        .route("/lines/{line_id}", get(reconcile::line))
}
