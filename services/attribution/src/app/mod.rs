//! Attribution's use cases, between the gRPC handlers (`api`), the feed consumers
//! (`feeds`) and background work (`jobs`) above, and the pure rules (`domain`) and
//! the database (`store`) below: ingesting a batch of events, and deciding lines.
pub mod budgets;
pub mod engine;
pub mod groups;
pub mod ingest;
pub mod risk;

pub use self::engine::Engine;
