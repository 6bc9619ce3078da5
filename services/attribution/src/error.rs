//! Attribution's errors and, in one place, the Status each becomes.
use tonic::{Code, Status};
use xiaopu_common::error::{Invalid, database_status, is_retryable_conflict, reason, status_with_reason};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused before any work: the caller's role or ownership, or a malformed
    /// request the common checks caught (already a `Status`).
    #[error("{}", .0.message())]
    Refused(#[from] Status),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::Refused(status) => status,
            Error::Invalid(invalid) => invalid.into(),
            Error::NotFound { .. } => status_with_reason(Code::NotFound, reason::NOT_FOUND, message),
            // Lost a lock race with a concurrent batch: safe to retry as is.
            Error::Database(db) if is_retryable_conflict(&db) => status_with_reason(
                Code::Aborted,
                reason::CONCURRENT_UPDATE,
                "a concurrent batch touched the same lines; retry",
            ),
            Error::Database(db) => database_status(&db),
        }
    }
}
