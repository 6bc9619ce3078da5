//! The shared vocabulary of errors a client sees: a `tonic::Status` with the standard
//! rich details (`ErrorInfo` with a reason code, `BadRequest` field violations).
//! Each service keeps its own error enum and maps it to a Status in one place with
//! these helpers.
use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every Xiaopu error.
pub const ERROR_DOMAIN: &str = "xiaopu.dev";

/// Reason codes (`ErrorInfo.reason`): every one is defined once, with its words, in
/// the API crate.
pub use xiaopu_api::reasons as reason;

/// The longest message a Status carries. Messages may quote what the client sent (an
/// unknown id); a quoted 200 kB string would not fit an HTTP/2 header block.
pub const MAX_MESSAGE_CHARS: usize = 512;

/// The most field violations one `BadRequest` lists, and the longest field path or
/// rule it quotes: the details travel in a trailer, which a client refuses past its
/// header-list limit (16 KiB for many), so 10 000 bad fields must not become 1 MB.
pub const MAX_VIOLATIONS_LISTED: usize = 10;
const MAX_VIOLATION_CHARS: usize = 200;

/// `message`, cut to [`MAX_MESSAGE_CHARS`] on a character boundary.
pub fn bounded_message(message: impl Into<String>) -> String {
    cut_to(message.into(), MAX_MESSAGE_CHARS)
}

fn cut_to(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A Status carrying an `ErrorInfo` with `reason`.
pub fn status_with_reason(code: Code, reason: &str, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
    Status::with_error_details(code, bounded_message(message), details)
}

/// One broken rule of one request field, e.g. `score`: "must be between 350 and 950".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request, e.g. `lines[2].paid_amount.minor_units`.
    pub field: String,
    pub rule: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into() }
    }

    /// The same violation seen from an enclosing message, e.g. `lines[2].` + field.
    pub fn nested(self, prefix: &str) -> Self {
        Self { field: format!("{prefix}{}", self.field), rule: self.rule }
    }
}

impl std::fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.field, self.rule)
    }
}

/// A request that broke one or more field rules: InvalidArgument naming each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join(.0))]
pub struct Invalid(pub Vec<FieldViolation>);

fn join(violations: &[FieldViolation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Invalid {
    pub fn field(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self(vec![FieldViolation::new(field, rule)])
    }
}

impl From<FieldViolation> for Invalid {
    fn from(violation: FieldViolation) -> Self {
        Self(vec![violation])
    }
}

impl From<Invalid> for Status {
    fn from(invalid: Invalid) -> Self {
        let mut details =
            ErrorDetails::with_error_info(reason::INVALID_ARGUMENT, ERROR_DOMAIN, HashMap::<String, String>::new());
        for v in invalid.0.iter().take(MAX_VIOLATIONS_LISTED) {
            details.add_bad_request_violation(
                cut_to(v.field.clone(), MAX_VIOLATION_CHARS),
                cut_to(v.rule.clone(), MAX_VIOLATION_CHARS),
            );
        }
        if let Some(left_out) = invalid.0.len().checked_sub(MAX_VIOLATIONS_LISTED).filter(|n| *n > 0) {
            details.add_bad_request_violation(
                "request",
                format!("{left_out} more violations are not listed (at most {MAX_VIOLATIONS_LISTED} are)"),
            );
        }
        Status::with_error_details(Code::InvalidArgument, bounded_message(invalid.to_string()), details)
    }
}

/// Collects every violation of a request before answering, so a client learns all
/// its mistakes at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value of a passing check; records the violation of a failing one.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        result.map_err(|v| self.0.push(v)).ok()
    }

    pub fn add(&mut self, field: impl Into<String>, rule: impl Into<String>) {
        self.0.push(FieldViolation::new(field, rule));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok when nothing was recorded.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(Invalid(self.0)) }
    }

    /// The checked values when nothing was recorded, e.g. `v.finish_with(a.zip(b))?`.
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T, Invalid> {
        if !self.0.is_empty() {
            return Err(Invalid(self.0));
        }
        // Every check passed, so every value is present; None would be a caller bug.
        value.ok_or_else(|| Invalid::field("request", "is incomplete"))
    }
}

/// Whether a database error means "the database cannot be reached now" (the call may
/// succeed later) rather than a fault in the statement.
pub fn is_database_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Errors of getting or keeping a connection, not of a statement:
            // 08 connection exception; 57P01-57P04 shutdown, crash, cannot connect now;
            // 53300 too many connections; 55000 database not accepting connections;
            // 3D000 database missing; 28 authorization failed.
            code.starts_with("08")
                || code.starts_with("28")
                || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "57P04" | "53300" | "55000" | "3D000")
        }),
        _ => false,
    }
}

/// The constraint a statement violated with a unique violation (SQLSTATE 23505).
pub fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => db.constraint(),
        _ => None,
    }
}

/// Whether the statement lost a serialization or deadlock race and may be retried.
pub fn is_retryable_conflict(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")))
}

/// Whether the database refused a value itself (SQLSTATE class 22, data exception:
/// a NUL byte in text, a number out of range) — a value the request carried that
/// validation let through.
pub fn is_data_exception(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|code| code.starts_with("22")))
}

/// The Status for a database error nobody expected: Unavailable when the database is
/// unreachable, InvalidArgument when it refused a value of the request, otherwise
/// Internal (logged with its cause, which the client never sees).
pub fn database_status(err: &sqlx::Error) -> Status {
    if is_database_unavailable(err) {
        tracing::warn!(error = %err, "database unavailable");
        return status_with_reason(
            Code::Unavailable,
            reason::DATABASE_UNAVAILABLE,
            "database unavailable; retry later",
        );
    }
    if is_data_exception(err) {
        // Still worth a look: validation should have named the field.
        tracing::warn!(error = %err, "database refused a request value");
        let detail = match err {
            sqlx::Error::Database(db) => db.message().to_owned(),
            _ => String::new(),
        };
        return status_with_reason(
            Code::InvalidArgument,
            reason::INVALID_ARGUMENT,
            format!("a value in the request is not acceptable: {detail}"),
        );
    }
    internal_status(err)
}

/// The Status for an upstream service's refusal, seen by this service's caller. A
/// refusal of what the caller sent (an id the upstream cannot use, a missing
/// resource, a failed precondition) stays the caller's error with its code and
/// message; an unreachable or slow upstream is Unavailable; anything else is this
/// service's Internal error.
pub fn upstream_status(upstream: &str, status: Status) -> Status {
    match status.code() {
        Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition | Code::OutOfRange => {
            let (why, _) = status_details(&status);
            let why = why.unwrap_or_else(|| reason::INVALID_ARGUMENT.to_owned());
            status_with_reason(status.code(), &why, format!("{upstream}: {}", status.message()))
        }
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => status_with_reason(
            Code::Unavailable,
            reason::UPSTREAM_UNAVAILABLE,
            format!("{upstream} cannot answer now ({}); retry later", status.message()),
        ),
        _ => internal_status(&format!("{upstream} answered {:?}: {}", status.code(), status.message())),
    }
}

/// Internal, with the cause logged and kept out of the client's message.
pub fn internal_status(err: &dyn std::fmt::Display) -> Status {
    tracing::error!(error = %err, "internal error");
    status_with_reason(Code::Internal, reason::INTERNAL, "internal error")
}

/// Reads the reason code and field violations of a Status (tests and the CLI).
pub fn status_details(status: &Status) -> (Option<String>, Vec<FieldViolation>) {
    let details = status.get_error_details();
    let reason = details.error_info().map(|info| info.reason.clone());
    let fields = details
        .bad_request()
        .map(|br| br.field_violations.iter().map(|v| FieldViolation::new(&v.field, &v.description)).collect())
        .unwrap_or_default();
    (reason, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_every_field_in_message_and_details() {
        let mut v = Violations::new();
        v.add("score", "must be between 350 and 950");
        v.add("person_id", "is required");
        let status = Status::from(v.finish().expect_err("two violations"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("`score` must be between 350 and 950"), "{}", status.message());
        let (reason, fields) = status_details(&status);
        assert_eq!(reason.as_deref(), Some(reason::INVALID_ARGUMENT));
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].field, "person_id");
    }

    #[test]
    fn bad_request_details_stay_small_and_say_how_many_were_left_out() {
        let mut v = Violations::new();
        for i in 0..10_000 {
            v.add(format!("update_mask.paths[{i}]{}", "x".repeat(1_000)), "is not an editable field");
        }
        let status = Status::from(v.finish().expect_err("violations"));
        let (_, fields) = status_details(&status);
        assert_eq!(fields.len(), MAX_VIOLATIONS_LISTED + 1);
        assert!(fields.iter().all(|f| f.field.chars().count() <= MAX_VIOLATION_CHARS + 1));
        assert_eq!(fields[MAX_VIOLATIONS_LISTED].rule, "9990 more violations are not listed (at most 10 are)");
        assert!(status.details().len() < 8 * 1024, "details of {} bytes", status.details().len());
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let status = status_with_reason(Code::NotFound, reason::NOT_FOUND, "码".repeat(10_000));
        assert_eq!(status.message().chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(status.message().ends_with('…'));
        assert_eq!(bounded_message("short"), "short");
    }

    #[test]
    fn an_upstreams_refusal_of_the_callers_data_stays_the_callers_error() {
        let refused = Invalid::field("person_id", "may contain only letters, digits and - _ . : @");
        let passed_on = upstream_status("eligibility", Status::from(refused));
        assert_eq!(passed_on.code(), Code::InvalidArgument);
        assert!(passed_on.message().starts_with("eligibility: `person_id`"), "{}", passed_on.message());
        assert_eq!(status_details(&passed_on).0.as_deref(), Some(reason::INVALID_ARGUMENT));
        assert_eq!(upstream_status("eligibility", Status::unavailable("down")).code(), Code::Unavailable);
        assert_eq!(upstream_status("eligibility", Status::internal("bug")).code(), Code::Internal);
    }

    #[test]
    fn pool_timeout_is_unavailable_not_internal() {
        assert_eq!(database_status(&sqlx::Error::PoolTimedOut).code(), Code::Unavailable);
        assert_eq!(database_status(&sqlx::Error::RowNotFound).code(), Code::Internal);
    }
}
