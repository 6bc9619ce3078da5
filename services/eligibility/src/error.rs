//! The eligibility service's errors and, in one place, the Status each becomes.
use tonic::Status;
use xiaopu_common::{
    error::{Invalid, database_status},
    idempotency,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused before any work: the caller's role or ownership, or a malformed
    /// request the common checks caught (already a `Status`).
    #[error("{}", .0.message())]
    Refused(#[from] Status),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Idempotency(#[from] idempotency::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Refused(status) => status,
            Error::Invalid(invalid) => invalid.into(),
            Error::Idempotency(err) => err.into(),
            Error::Database(db) => database_status(&db),
        }
    }
}
