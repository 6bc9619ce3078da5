//! Faults, each bounded in time and on loopback: service processes killed with
//! SIGKILL mid-work, PostgreSQL stopped under load, an upstream down during ingest.
//! Each proves nothing is lost and nothing counted twice.
mod attribution_crash;
mod database_down;
mod settlement_crash;
mod storefront_down;
