//! Support for the end-to-end and fault tests: the services as processes with the
//! Helm chart's environment, an OTLP receiver, and the users' first steps.
pub mod books;
pub mod otlp;
pub mod system;
pub mod world;
