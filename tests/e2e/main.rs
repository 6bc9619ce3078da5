//! The whole system as it runs in production, on loopback: the four service binaries
//! as separate processes (started with the XIAOPU_* environment the Helm chart sets),
//! each with its own database, and an OTLP receiver collecting their traces. The
//! test acts as their users, from a supplier's first product to a clawback netted in
//! the second payout.
mod whole_flow;
