//! `xiaopu eligibility …`: every eligibility RPC.
use clap::Subcommand;
use xiaopu_api::eligibility::{self as pb, eligibility_service_client::EligibilityServiceClient};

use crate::{Context, request_id, timestamp_arg};

#[derive(Debug, Subcommand)]
pub enum EligibilityCommand {
    /// Record a credit score reported by a bureau (service/admin) and show the decision.
    RecordScore {
        #[arg(long)]
        person: String,
        #[arg(long)]
        score: i32,
        #[arg(long, default_value = "zhima")]
        source: String,
        /// When the bureau observed it (RFC 3339); defaults to now.
        #[arg(long)]
        observed_at: Option<String>,
        /// Idempotency key; a fresh one when omitted.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// May this person open a mini-shop now? (with the reason)
    Check {
        #[arg(long)]
        person: String,
    },
    /// The person's promoter status and the decision behind it.
    Status {
        #[arg(long)]
        person: String,
    },
    /// Every decision taken for the person, newest first.
    Decisions {
        #[arg(long)]
        person: String,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// Every credit score recorded for the person, newest first.
    Scores {
        #[arg(long)]
        person: String,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
}

pub async fn run(ctx: &Context, command: EligibilityCommand) -> anyhow::Result<()> {
    let mut client = EligibilityServiceClient::new(ctx.connection.connect(&ctx.connection.eligibility_url)?);
    match command {
        EligibilityCommand::RecordScore { person, score, source, observed_at, request_id: id } => {
            let request = pb::RecordCreditScoreRequest {
                request_id: request_id(id),
                person_id: person,
                score,
                source,
                observed_at: observed_at.as_deref().map(timestamp_arg).transpose()?,
            };
            ctx.printer.print(&client.record_credit_score(request).await?.into_inner())
        }
        EligibilityCommand::Check { person } => {
            let answer =
                client.check_eligibility(pb::CheckEligibilityRequest { person_id: person }).await?.into_inner();
            ctx.printer.print(&answer)
        }
        EligibilityCommand::Status { person } => {
            let answer = client.get_promoter_status(pb::GetPromoterStatusRequest { person_id: person }).await?;
            ctx.printer.print(&answer.into_inner())
        }
        EligibilityCommand::Decisions { person, page_size, page_token } => {
            let request = pb::ListDecisionsRequest { person_id: person, page_size, page_token };
            ctx.printer.print(&client.list_decisions(request).await?.into_inner())
        }
        EligibilityCommand::Scores { person, page_size, page_token } => {
            let request = pb::ListCreditScoresRequest { person_id: person, page_size, page_token };
            ctx.printer.print(&client.list_credit_scores(request).await?.into_inner())
        }
    }
}
