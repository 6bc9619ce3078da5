//! Background work of settlement.
pub mod sweep;
