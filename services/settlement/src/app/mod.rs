//! Use cases more than one entry point runs: what webhooks are told, from the
//! feed and from finance's batch and payout handlers.
pub mod webhooks;
