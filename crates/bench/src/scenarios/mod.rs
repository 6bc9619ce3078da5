//! One module per scenario; each sets up what it needs through the real APIs and
//! returns its rows, every figure beside a baseline measured in the same run.
pub mod baseline;
pub mod eligibility;
pub mod feed;
pub mod ingest;
pub mod listings;
pub mod settlement;
pub mod shop_page;
pub mod web_page;

use std::time::Duration;

/// How hard and how long to drive each measurement.
#[derive(Debug, Clone)]
pub struct Options {
    pub concurrency: usize,
    pub duration: Duration,
}
