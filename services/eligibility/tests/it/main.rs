//! Eligibility through a real tonic client against the real server on a loopback
//! port and a fresh PostgreSQL database per test.
mod auth;
mod config;
mod feed;
mod grpc_web;
mod lifecycle;
mod rules;
mod support;
