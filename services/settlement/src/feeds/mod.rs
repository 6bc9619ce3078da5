//! Consumers of other services' feeds: attribution's commission changes and budget
//! alerts.
mod budget;
mod commission;

pub use self::commission::CommissionFeed;
