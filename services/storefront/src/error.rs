//! The storefront's errors and, in one place, the Status each becomes.
use tonic::{Code, Status};
use xiaopu_common::{
    error::{internal_status, reason, status_with_reason, upstream_status},
    group_commit,
    service_error::CommonError,
};

use crate::domain::MAX_LISTINGS_PER_SHOP;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] CommonError),
    #[error("product `{0}` has been withdrawn by its supplier")]
    ProductWithdrawn(String),
    #[error("the shop already holds {MAX_LISTINGS_PER_SHOP} listings, the most a shop may have; remove one first")]
    ListingLimit,
    #[error("product `{0}` is already listed in this shop")]
    AlreadyListed(String),
    #[error("a rate for product `{product_id}` already takes effect at {effective_from}")]
    RateAlreadyScheduled { product_id: String, effective_from: String },
    #[error("rate `{rate_id}` has been in force since {since}; only a scheduled rate can be cancelled")]
    RateInForce { rate_id: String, since: String },
    #[error("{explanation}")]
    NotEligible { explanation: String },
    #[error("eligibility cannot be checked now ({0}); try again shortly")]
    EligibilityUnavailable(String),
    #[error("shop `{0}` is suspended")]
    ShopSuspended(String),
    #[error("the listing behind share code `{0}` has been removed")]
    ListingRemoved(String),
    #[error("code: `{0}` is taken; choose another")]
    CodeTaken(String),
    #[error("the shop already has {0} live promo codes, the most it may have; revoke one first")]
    PromoCodeLimit(i64),
    #[error("too many unknown codes from this visitor lately; try again in a few minutes")]
    TooManyGuesses,
    #[error("eligibility refused or failed: {0}")]
    Upstream(Status),
    #[error(transparent)]
    Unanswered(#[from] group_commit::Unanswered),
}

pub use xiaopu_api::reasons;

xiaopu_common::service_error!(Error);

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::Common(common) => common.into(),
            Error::ProductWithdrawn(_) => {
                status_with_reason(Code::FailedPrecondition, reasons::PRODUCT_WITHDRAWN, message)
            }
            Error::ListingLimit => status_with_reason(Code::ResourceExhausted, reasons::LISTING_LIMIT_REACHED, message),
            Error::AlreadyListed(_) => status_with_reason(Code::AlreadyExists, reasons::ALREADY_LISTED, message),
            Error::RateAlreadyScheduled { .. } => {
                status_with_reason(Code::AlreadyExists, reasons::RATE_ALREADY_SCHEDULED, message)
            }
            Error::RateInForce { .. } => status_with_reason(Code::FailedPrecondition, reasons::RATE_IN_FORCE, message),
            Error::NotEligible { .. } => status_with_reason(Code::FailedPrecondition, reasons::NOT_ELIGIBLE, message),
            Error::EligibilityUnavailable(_) => {
                status_with_reason(Code::Unavailable, reason::UPSTREAM_UNAVAILABLE, message)
            }
            Error::ShopSuspended(_) => status_with_reason(Code::FailedPrecondition, reasons::SHOP_SUSPENDED, message),
            Error::ListingRemoved(_) => status_with_reason(Code::FailedPrecondition, reasons::LISTING_REMOVED, message),
            Error::CodeTaken(_) => status_with_reason(Code::AlreadyExists, reasons::CODE_TAKEN, message),
            Error::PromoCodeLimit(_) => status_with_reason(Code::ResourceExhausted, reasons::PROMO_CODE_LIMIT, message),
            Error::TooManyGuesses => status_with_reason(Code::ResourceExhausted, reasons::TOO_MANY_GUESSES, message),
            Error::Upstream(status) => upstream_status("eligibility", status),
            Error::Unanswered(err) => internal_status(&err),
        }
    }
}
