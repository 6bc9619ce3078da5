//! Settlement's errors and, in one place, the Status each becomes.
use tonic::{Code, Status};
use xiaopu_common::{
    error::{internal_status, reason, status_with_reason, upstream_status},
    service_error::CommonError,
};

use crate::domain::{batch::Refusal, ledger::Unbalanced};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] CommonError),
    #[error("batch {batch_id} was created by {creator}; a different finance user must approve it")]
    FourEyes { batch_id: String, creator: String },
    #[error("batch {batch_id} is {status}; {action} needs it {wanted}")]
    BatchState { batch_id: String, status: String, action: &'static str, wanted: &'static str },
    #[error("payout line {line_id} is {status}; it was already recorded")]
    AlreadyRecorded { line_id: String, status: String },
    #[error("the period ends at {to}, after now ({now}); close it once it has ended")]
    PeriodNotEnded { to: String, now: String },
    #[error("the period overlaps the closed period [{from}, {to}); close only time no period holds yet")]
    PeriodOverlaps { from: String, to: String },
    #[error("payout line {line_id} is not in batch {batch_id}")]
    WrongBatch { line_id: String, batch_id: String },
    #[error("promoter `{0}` is unknown to settlement: no commission, adjustment, payout or payout profile")]
    UnknownPromoter(String),
    #[error("payee details: {0}")]
    Sealing(String),
    #[error("promoter {0} is already on hold")]
    AlreadyHeld(String),
    #[error("promoter {0} is not on hold")]
    NotHeld(String),
    #[error("webhook {0} has been deleted; create another")]
    WebhookDeleted(String),
    #[error("delivery {delivery_id} is {status}; only a failed delivery is sent again")]
    DeliveryNotFailed { delivery_id: String, status: &'static str },
    #[error("attribution: {0}")]
    Upstream(Status),
    #[error("ledger: {0}")]
    Unbalanced(#[from] Unbalanced),
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotEnded { to, now } => Error::PeriodNotEnded { to: to.to_rfc3339(), now: now.to_rfc3339() },
            Refusal::Overlaps { from, to } => Error::PeriodOverlaps { from: from.to_rfc3339(), to: to.to_rfc3339() },
        }
    }
}

xiaopu_common::service_error!(Error);

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::Common(common) => common.into(),
            Error::FourEyes { .. } => status_with_reason(Code::FailedPrecondition, reason::FOUR_EYES, message),
            Error::BatchState { .. } => status_with_reason(Code::FailedPrecondition, reason::BATCH_STATE, message),
            Error::AlreadyRecorded { .. } => {
                status_with_reason(Code::FailedPrecondition, reason::PAYOUT_RECORDED, message)
            }
            Error::PeriodNotEnded { .. } => {
                status_with_reason(Code::FailedPrecondition, reason::PERIOD_NOT_ENDED, message)
            }
            Error::PeriodOverlaps { .. } => {
                status_with_reason(Code::FailedPrecondition, reason::PERIOD_OVERLAPS, message)
            }
            Error::WrongBatch { .. } => status_with_reason(Code::FailedPrecondition, reason::WRONG_BATCH, message),
            Error::UnknownPromoter(_) => status_with_reason(Code::NotFound, reason::UNKNOWN_PROMOTER, message),
            Error::Sealing(why) => internal_status(&why),
            Error::AlreadyHeld(_) => status_with_reason(Code::AlreadyExists, reason::ALREADY_EXISTS, message),
            Error::NotHeld(_) => status_with_reason(Code::FailedPrecondition, reason::NOT_HELD, message),
            Error::WebhookDeleted(_) => status_with_reason(Code::FailedPrecondition, reason::WEBHOOK_DELETED, message),
            Error::DeliveryNotFailed { .. } => {
                status_with_reason(Code::FailedPrecondition, reason::DELIVERY_NOT_FAILED, message)
            }
            Error::Upstream(status) => upstream_status("attribution", status),
            Error::Unbalanced(unbalanced) => internal_status(&unbalanced),
        }
    }
}
