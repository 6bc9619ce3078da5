//! The API's contract, checked against the whole system in-process: every RPC refuses
//! missing, expired, forged and wrong-role tokens (from a table of the whole API, so
//! a new RPC without an entry fails), random and hostile requests never panic, never
//! come back Internal and change no row when refused, and oversized messages are
//! refused by the configured limit, and malformed bytes are the client's error.
mod auth_table;
mod bounds;
mod fuzz;
mod grpc_web;
mod malformed;
mod raw;
mod replay;
