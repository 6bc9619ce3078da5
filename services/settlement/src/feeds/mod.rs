//! Consumers of other services' feeds.
mod commission;

pub use self::commission::CommissionFeed;
