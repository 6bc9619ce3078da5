//! The storefront through real tonic clients against the real server, with the real
//! eligibility server beside it, each on a loopback port with its own database.
mod catalog;
mod links;
mod listings;
mod promo_codes;
mod rates;
mod shops;
mod support;
