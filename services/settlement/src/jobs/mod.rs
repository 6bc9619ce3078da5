//! Background work of settlement.
pub mod sweep;
pub mod webhooks;
