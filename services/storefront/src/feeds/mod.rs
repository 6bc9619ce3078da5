//! Consumers of other services' feeds.
mod promoter_status;

pub use self::promoter_status::PromoterStatusHandler;
