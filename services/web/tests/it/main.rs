//! The web front in-process against the four services in-process, each on its own
//! loopback port, called over real HTTP: the shop pages share links open and the
//! finance console.
mod areas;
mod console;
mod harness;
mod programme;
mod shop;
mod webhooks;
