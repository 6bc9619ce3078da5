//! Attribution's errors and, in one place, the Status each becomes. Attribution has
//! no failure of its own: every refusal is a common one (a lost lock race with a
//! concurrent batch is Aborted, safe to retry as is).
pub use xiaopu_common::service_error::CommonError as Error;
