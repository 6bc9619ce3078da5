//! `xiaopu`: one command-line client for every Xiaopu role (promoter, supplier,
//! finance, ops), the local token minter and the demo's driver.
mod connect;
mod eligibility;
mod finance;
mod health;
mod orders;
mod output;
mod promoter;
mod risk;
mod supplier;

use std::{process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use xiaopu_common::{auth::Role, error::status_details};

use crate::{connect::Connection, output::Printer};

#[derive(Debug, Parser)]
#[command(name = "xiaopu", version, about = "Xiaopu: distributed-commission platform client")]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    /// Print responses as canonical protobuf JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Print only one field of the response, e.g. `--field shop.shop_id` (for scripts).
    #[arg(long, global = true, value_name = "PATH")]
    field: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mint a bearer token for local use (HS256 with the shared secret).
    Token {
        #[arg(long)]
        role: Role,
        #[arg(long)]
        sub: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Ask each service's health endpoint; with --wait, until all are SERVING.
    Health(health::HealthArgs),
    /// Credit-score decisions and promoter status.
    #[command(subcommand)]
    Eligibility(eligibility::EligibilityCommand),
    /// A supplier's catalog and commission rates.
    #[command(subcommand)]
    Supplier(supplier::SupplierCommand),
    /// A promoter's supply search, mini-shop, listings, share links and orders.
    #[command(subcommand)]
    Promoter(promoter::PromoterCommand),
    /// Order-system events: clicks, payments, confirmations, refunds.
    #[command(subcommand)]
    Orders(orders::OrdersCommand),
    /// Finance: periods, payout batches, holds, adjustments, reports, reconciliation.
    #[command(subcommand)]
    Finance(finance::FinanceCommand),
    /// Finance: lines risk rules held (release or void) and flagged promoters.
    #[command(subcommand)]
    Risk(risk::RiskCommand),
}

pub struct Context {
    pub connection: Connection,
    pub printer: Printer,
}

/// A fresh idempotency key unless the user gave one.
pub fn request_id(given: Option<String>) -> String {
    given.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// Parses an RFC 3339 time argument.
pub fn timestamp_arg(value: &str) -> anyhow::Result<prost_types::Timestamp> {
    let time = chrono::DateTime::parse_from_rfc3339(value)
        .map_err(|e| anyhow::anyhow!("`{value}` is not an RFC 3339 time (e.g. 2026-11-23T10:00:00Z): {e}"))?;
    Ok(xiaopu_common::time::to_timestamp(time.with_timezone(&chrono::Utc)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = match Printer::new(cli.json, cli.field) {
        Ok(printer) => printer,
        Err(err) => {
            eprintln!("xiaopu: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = Context { connection: cli.connection, printer };
    let result = match cli.command {
        Command::Token { role, sub, ttl } => {
            connect::mint(ctx.connection.secret.as_deref(), role, &sub, Duration::from_secs(ttl))
                .map(|t| println!("{t}"))
        }
        Command::Health(args) => health::run(&ctx, args).await,
        Command::Eligibility(command) => eligibility::run(&ctx, command).await,
        Command::Supplier(command) => supplier::run(&ctx, command).await,
        Command::Promoter(command) => promoter::run(&ctx, command).await,
        Command::Orders(command) => orders::run(&ctx, command).await,
        Command::Finance(command) => finance::run(&ctx, command).await,
        Command::Risk(command) => risk::run(&ctx, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::FAILURE
        }
    }
}

/// Prints an error the way a person wants to read it: the gRPC code, the message,
/// and each field that broke a rule.
fn report(err: &anyhow::Error) {
    if let Some(status) = err.downcast_ref::<tonic::Status>() {
        eprintln!("error: {:?}: {}", status.code(), status.message());
        let (reason, fields) = status_details(status);
        if let Some(reason) = reason {
            eprintln!("  reason: {reason}");
        }
        for field in fields {
            eprintln!("  field `{}`: {}", field.field, field.rule);
        }
    } else {
        eprintln!("error: {err:#}");
    }
}
