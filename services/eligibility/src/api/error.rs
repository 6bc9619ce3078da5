//! The eligibility service's errors and, in one place, the Status each becomes.
use tonic::{Code, Status};
use xiaopu_common::error::{Invalid, database_status, reason, status_with_reason};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("request_id `{0}` was already used for a different credit score")]
    RequestIdReused(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(invalid) => invalid.into(),
            Error::RequestIdReused(_) => {
                status_with_reason(Code::FailedPrecondition, reason::IDEMPOTENCY_KEY_REUSED, err.to_string())
            }
            Error::Database(db) => database_status(&db),
        }
    }
}
