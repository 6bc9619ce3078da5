//! The eligibility service's errors and, in one place, the Status each becomes.
//! Eligibility has no failure of its own: every refusal is a common one.
pub use xiaopu_common::service_error::CommonError as Error;
