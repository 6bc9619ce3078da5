//! The failures every service shares — a refused caller, a malformed request, a
//! missing resource, a reused request id, a database that failed — with the one
//! Status each becomes. A service's own error enum holds these as its `Common`
//! variant and adds only the rules of its own domain ([`crate::service_error!`]).
use std::panic::Location;

use tonic::{Code, Status};

use crate::{
    error::{
        Invalid, database_status, internal_status, is_data_exception, is_database_unavailable, is_retryable_conflict,
        reason, status_with_reason,
    },
    idempotency,
};

/// A database call that failed, and where: the source line whose `?` received the
/// error, which names the operation (`store::periods::close(..).await?`). The line
/// goes to the log; the client sees only the Status.
#[derive(Debug, thiserror::Error)]
#[error("database call at {at}: {source}")]
pub struct DbError {
    pub at: &'static Location<'static>,
    #[source]
    pub source: sqlx::Error,
}

impl From<sqlx::Error> for DbError {
    #[track_caller]
    fn from(source: sqlx::Error) -> Self {
        Self { at: Location::caller(), source }
    }
}

impl DbError {
    /// Whether the statement lost a serialization or deadlock race.
    pub fn is_retryable_conflict(&self) -> bool {
        is_retryable_conflict(&self.source)
    }
}

impl From<DbError> for Status {
    fn from(err: DbError) -> Self {
        if err.is_retryable_conflict() {
            // Lost a lock race with a concurrent change: safe to retry as is.
            return status_with_reason(
                Code::Aborted,
                reason::CONCURRENT_UPDATE,
                "a concurrent change touched the same rows; retry",
            );
        }
        if is_database_unavailable(&err.source) || is_data_exception(&err.source) {
            return database_status(&err.source);
        }
        // A fault nobody expected: logged with the line of the call that failed.
        internal_status(&err)
    }
}

/// What every service's error enum holds besides its own rules.
#[derive(Debug, thiserror::Error)]
pub enum CommonError {
    /// Refused before any work: the caller's role or ownership, or a malformed
    /// request the common checks caught (already a `Status`).
    #[error("{}", .0.message())]
    Refused(#[from] Status),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    #[error(transparent)]
    Idempotency(#[from] idempotency::Error),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<sqlx::Error> for CommonError {
    #[track_caller]
    fn from(err: sqlx::Error) -> Self {
        Self::Database(DbError::from(err))
    }
}

impl CommonError {
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound { what, id: id.to_string() }
    }
}

impl From<CommonError> for Status {
    fn from(err: CommonError) -> Self {
        let message = err.to_string();
        match err {
            CommonError::Refused(status) => status,
            CommonError::Invalid(invalid) => invalid.into(),
            CommonError::NotFound { .. } => status_with_reason(Code::NotFound, reason::NOT_FOUND, message),
            CommonError::Idempotency(err) => err.into(),
            CommonError::Database(err) => err.into(),
        }
    }
}

/// The conversions a service's error enum `$error` needs to take every common
/// failure with `?` — it must have a `Common(CommonError)` variant:
///
/// ```ignore
/// #[derive(Debug, thiserror::Error)]
/// pub enum Error {
///     #[error(transparent)]
///     Common(#[from] CommonError),
///     #[error("shop `{0}` is suspended")]
///     ShopSuspended(String),
/// }
/// xiaopu_common::service_error!(Error);
/// ```
///
/// A database error keeps the line of the `?` that received it (`#[track_caller]`
/// runs through `?`), so a log names the failed operation.
#[macro_export]
macro_rules! service_error {
    ($error:ident) => {
        impl From<::tonic::Status> for $error {
            fn from(status: ::tonic::Status) -> Self {
                Self::Common(status.into())
            }
        }
        impl From<$crate::error::Invalid> for $error {
            fn from(invalid: $crate::error::Invalid) -> Self {
                Self::Common(invalid.into())
            }
        }
        impl From<$crate::idempotency::Error> for $error {
            fn from(err: $crate::idempotency::Error) -> Self {
                Self::Common(err.into())
            }
        }
        impl From<$crate::service_error::DbError> for $error {
            fn from(err: $crate::service_error::DbError) -> Self {
                Self::Common(err.into())
            }
        }
        impl From<::sqlx::Error> for $error {
            #[track_caller]
            fn from(err: ::sqlx::Error) -> Self {
                Self::Common($crate::service_error::CommonError::from(err))
            }
        }
        impl $error {
            pub fn not_found(what: &'static str, id: impl ToString) -> Self {
                Self::Common($crate::service_error::CommonError::not_found(what, id))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing_call() -> Result<(), CommonError> {
        Err(sqlx::Error::RowNotFound)?;
        Ok(())
    }

    #[test]
    fn a_database_error_keeps_the_line_of_its_question_mark() {
        let Err(CommonError::Database(err)) = failing_call() else { panic!("a database error") };
        assert!(err.at.file().ends_with("service_error.rs"), "{}", err.at);
        assert_eq!(err.at.line(), line!() - 8, "the `?` in failing_call");
        assert!(err.to_string().starts_with("database call at "), "{err}");
    }

    #[test]
    fn common_failures_keep_their_codes() {
        assert_eq!(Status::from(CommonError::from(sqlx::Error::PoolTimedOut)).code(), Code::Unavailable);
        assert_eq!(Status::from(CommonError::from(sqlx::Error::RowNotFound)).code(), Code::Internal);
        assert_eq!(Status::from(CommonError::not_found("shop", "s1")).code(), Code::NotFound);
        assert_eq!(Status::from(CommonError::not_found("shop", "s1")).message(), "shop `s1` not found");
    }
}
