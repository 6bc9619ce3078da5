//! The eligibility service's errors and, in one place, the Status each becomes.
use tonic::Status;
use xiaopu_common::{
    error::{Invalid, database_status},
    idempotency,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
            Error::Invalid(invalid) => invalid.into(),
            Error::Idempotency(err) => err.into(),
            Error::Database(db) => database_status(&db),
        }
    }
}
