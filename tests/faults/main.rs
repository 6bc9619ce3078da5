//! Faults, each bounded in time and on loopback: service processes killed with
//! SIGKILL mid-work, PostgreSQL stopped under load, an upstream down during ingest, a
//! NATS node and the relay killed mid-stream.
//! Each proves nothing is lost and nothing counted twice.
mod attribution_crash;
mod database_down;
mod jetstream_cluster;
mod nats_down;
mod settlement_crash;
mod storefront_down;
mod webhook_sender_crash;
