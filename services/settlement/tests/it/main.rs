//! Settlement through real tonic clients, with the whole system beside it: the real
//! eligibility, storefront and attribution servers feeding it, each with its own
//! database.
mod batches;
mod books;
mod in_flight;
mod life_cycle;
mod payouts;
mod periods;
mod support;
mod webhooks;
