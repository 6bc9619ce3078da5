//! Consumers of other services' feeds.
mod storefront;

pub use self::storefront::StorefrontFeed;
