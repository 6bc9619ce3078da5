//! Storefront use cases shared by the gRPC handlers (`api`) and the feed consumers
//! (`feeds`): the feed events each write announces, and listing adds committed
//! together per shop.
pub mod events;
pub mod listing_adds;
