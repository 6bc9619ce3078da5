//! Eligibility's use cases: what a write does beyond one statement.
pub mod scores;
