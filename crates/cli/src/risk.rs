//! `xiaopu risk …`: finance's review of the lines risk rules held, and of flagged
//! promoters (attribution's RPCs; every decision is audited there).
use clap::{Subcommand, ValueEnum};
use xiaopu_api::attribution::{self as pb, attribution_service_client::AttributionServiceClient};

use crate::Context;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HoldState {
    Held,
    Released,
    Voided,
}

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Lines a risk rule held (or released, or voided), each with its decisions.
    Holds {
        #[arg(long, value_enum, default_value = "held")]
        state: HoldState,
    },
    /// Release a held line: it goes on to settle and be paid.
    Release {
        #[arg(long)]
        line: String,
        /// Why (kept in the audit).
        #[arg(long)]
        note: String,
    },
    /// Void a held line: it earns nothing.
    Void {
        #[arg(long)]
        line: String,
        #[arg(long)]
        note: String,
    },
    /// Promoters flagged by a rule (their new lines are held).
    Flags,
    /// Clear a promoter's flag.
    ClearFlag {
        #[arg(long)]
        promoter: String,
        /// The rule, e.g. refund_rate.
        #[arg(long)]
        rule: String,
        #[arg(long)]
        note: String,
    },
}

pub async fn run(ctx: &Context, command: RiskCommand) -> anyhow::Result<()> {
    let mut client = AttributionServiceClient::new(ctx.connection.connect(&ctx.connection.attribution_url)?);
    let p = &ctx.printer;
    match command {
        RiskCommand::Holds { state } => {
            let state = match state {
                HoldState::Held => pb::RiskState::Held,
                HoldState::Released => pb::RiskState::Released,
                HoldState::Voided => pb::RiskState::Voided,
            };
            let request = pb::ListRiskHoldsRequest { state: state.into(), page_size: 0, page_token: String::new() };
            p.print(&client.list_risk_holds(request).await?.into_inner())
        }
        RiskCommand::Release { line, note } => {
            let request = pb::ReleaseRiskHoldRequest { line_id: line, note };
            p.print(&client.release_risk_hold(request).await?.into_inner())
        }
        RiskCommand::Void { line, note } => {
            p.print(&client.void_risk_hold(pb::VoidRiskHoldRequest { line_id: line, note }).await?.into_inner())
        }
        RiskCommand::Flags => p.print(&client.list_risk_flags(pb::ListRiskFlagsRequest {}).await?.into_inner()),
        RiskCommand::ClearFlag { promoter, rule, note } => {
            let request = pb::ClearRiskFlagRequest { promoter_id: promoter, rule, note };
            p.print(&client.clear_risk_flag(request).await?.into_inner())
        }
    }
}
