//! Plumbing shared by every Xiaopu service, written once: configuration, telemetry,
//! the database, authentication, errors, validation, server bootstrap and the feed.
pub mod auth;
pub mod config;
pub mod connections;
pub mod db;
pub mod error;
pub mod feed;
pub mod group_commit;
pub mod grpc_client;
pub mod idempotency;
pub mod ids;
pub mod malformed;
pub mod paging;
mod route;
pub mod schedule;
pub mod sealed;
pub mod server;
pub mod service;
pub mod service_error;
pub mod telemetry;
mod text_enum;
pub mod time;
pub mod validate;
pub mod webhook;

#[cfg(feature = "testing")]
pub mod testing;
