//! Attribution through real tonic clients against the real server, with the real
//! storefront (and eligibility) beside it feeding its read model.
mod bad_input;
mod budgets;
mod concurrency;
mod feed_out;
mod groups;
mod order_independence;
mod risk;
mod rules;
mod storefront_down;
mod support;
mod views;
