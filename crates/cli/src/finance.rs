//! `xiaopu finance …`: closing periods, four-eyes approval, exports, payouts, holds,
//! adjustments, reports and reconciliation.
use std::io::Write;

use anyhow::Context as _;
use clap::Subcommand;
use xiaopu_api::{
    settlement::{self as pb, settlement_service_client::SettlementServiceClient},
    types::Money,
};

use crate::{Context, request_id, timestamp_arg};

#[derive(Debug, Subcommand)]
pub enum FinanceCommand {
    /// Move lines past the after-sale hold to settleable now (the service also does it on a schedule).
    Sweep,
    /// Close a period into a draft payout batch (closing it again returns the same batch).
    Close {
        /// RFC 3339, e.g. 2026-11-01T00:00:00+08:00
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Closed periods, latest first, each with its batch, and where the next begins.
    Periods,
    /// Payout batches, newest first.
    Batches,
    /// One batch.
    Batch {
        #[arg(long)]
        batch: String,
    },
    /// A batch's payout lines (every page), optionally only one promoter's or one status.
    Lines {
        #[arg(long)]
        batch: String,
        #[arg(long)]
        promoter: Option<String>,
        /// pending, paid, failed, carried_forward or held
        #[arg(long, value_parser = line_status)]
        status: Option<pb::BatchLineStatus>,
    },
    /// Approve a draft batch (a finance user other than its creator).
    Approve {
        #[arg(long)]
        batch: String,
    },
    /// Export an approved batch's payout file, or its detail file, as CSV for a
    /// spreadsheet or the bank (to --out or stdout). The approver's payout file has
    /// payees' accounts in full; everyone else's is masked.
    Export {
        #[arg(long)]
        batch: String,
        /// payouts (one row per promoter to pay) or detail (every amount of each payout)
        #[arg(long, default_value = "payouts", value_parser = ["payouts", "detail"])]
        file: String,
        /// Header language: zh-CN or en
        #[arg(long, default_value = "zh-CN")]
        language: String,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Record a bank's or Alipay's result file for a batch (CSV: 付款明细号, 结果,
    /// 银行流水号, 失败原因); prints each row's outcome. Importing it again changes nothing.
    ImportResults {
        #[arg(long)]
        batch: String,
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// A promoter's payout profile, masked.
    Payee {
        #[arg(long)]
        promoter: String,
    },
    /// Record a payout line as paid, with the bank's reference.
    Pay {
        #[arg(long)]
        line: String,
        #[arg(long)]
        reference: String,
    },
    /// Record a payout line as failed (it is re-issued in a later batch).
    Fail {
        #[arg(long)]
        line: String,
        #[arg(long)]
        reason: String,
    },
    /// Hold a promoter out of payouts (fraud review).
    Hold {
        #[arg(long)]
        promoter: String,
        #[arg(long)]
        reason: String,
    },
    Release {
        #[arg(long)]
        promoter: String,
        #[arg(long)]
        reason: String,
    },
    Holds {
        #[arg(long)]
        all: bool,
    },
    /// A manual credit (positive) or debit (negative) to a promoter, in fen, with a reason.
    Adjust {
        #[arg(long)]
        promoter: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: i64,
        #[arg(long, default_value = "CNY")]
        currency: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Prove the books balance.
    Verify,
    /// Per promoter and supplier: lines, commission by stage, fees, clawbacks, payouts.
    Report {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// The period's order lines as CSV (to --out or stdout).
    ExportReport {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Header language: zh-CN or en
        #[arg(long, default_value = "zh-CN")]
        language: String,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Attribution vs the ledger vs the batches, line by line.
    Reconcile {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

/// A payout line status as a person types it (`carried_forward` or `CARRIED_FORWARD`).
fn line_status(word: &str) -> Result<pb::BatchLineStatus, String> {
    pb::BatchLineStatus::from_str_name(&format!("BATCH_LINE_STATUS_{}", word.to_ascii_uppercase()))
        .filter(|s| *s != pb::BatchLineStatus::Unspecified)
        .ok_or_else(|| format!("`{word}` is not one of pending, paid, failed, carried_forward, held"))
}

/// A streamed CSV's chunks.
trait Bytes {
    fn bytes(self) -> Vec<u8>;
}

impl Bytes for pb::ExportBatchResponse {
    fn bytes(self) -> Vec<u8> {
        self.data
    }
}

impl Bytes for pb::ExportPeriodReportResponse {
    fn bytes(self) -> Vec<u8> {
        self.data
    }
}

/// Writes a CSV stream to a file or stdout.
async fn save<M: Bytes>(mut stream: tonic::Streaming<M>, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?),
        None => Box::new(std::io::stdout()),
    };
    let mut bytes = 0;
    while let Some(chunk) = stream.message().await? {
        let data = chunk.bytes();
        bytes += data.len();
        sink.write_all(&data)?;
    }
    sink.flush()?;
    if let Some(path) = out {
        eprintln!("wrote {bytes} bytes to {}", path.display());
    }
    Ok(())
}

pub async fn run(ctx: &Context, command: FinanceCommand) -> anyhow::Result<()> {
    let mut client = SettlementServiceClient::new(ctx.connection.connect(&ctx.connection.settlement_url)?);
    let p = &ctx.printer;
    let period =
        |from: &str, to: &str| -> anyhow::Result<_> { Ok((Some(timestamp_arg(from)?), Some(timestamp_arg(to)?))) };
    match command {
        FinanceCommand::Sweep => {
            p.print(&client.run_settleable_sweep(pb::RunSettleableSweepRequest {}).await?.into_inner())
        }
        FinanceCommand::Close { from, to, request_id: id } => {
            let (from, to) = period(&from, &to)?;
            p.print(
                &client
                    .close_period(pb::ClosePeriodRequest { request_id: request_id(id), from, to })
                    .await?
                    .into_inner(),
            )
        }
        FinanceCommand::Periods => p.print(
            &client
                .list_periods(pb::ListPeriodsRequest { page_size: 0, page_token: String::new() })
                .await?
                .into_inner(),
        ),
        FinanceCommand::Batches => p.print(&client.list_batches(pb::ListBatchesRequest::default()).await?.into_inner()),
        FinanceCommand::Batch { batch } => {
            p.print(&client.get_batch(pb::GetBatchRequest { batch_id: batch }).await?.into_inner())
        }
        FinanceCommand::Lines { batch, promoter, status } => {
            let mut lines = Vec::new();
            let mut page_token = String::new();
            loop {
                let request = pb::ListBatchLinesRequest { batch_id: batch.clone(), page_size: 0, page_token };
                let page = client.list_batch_lines(request).await?.into_inner();
                lines.extend(page.lines.into_iter().filter(|line| {
                    promoter.as_ref().is_none_or(|p| &line.promoter_id == p)
                        && status.is_none_or(|s| line.status == i32::from(s))
                }));
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            p.print(&pb::ListBatchLinesResponse { lines, next_page_token: String::new() })
        }
        FinanceCommand::Approve { batch } => {
            p.print(&client.approve_batch(pb::ApproveBatchRequest { batch_id: batch }).await?.into_inner())
        }
        FinanceCommand::Export { batch, file, language, out } => {
            let file = if file == "detail" { pb::BatchFile::Detail } else { pb::BatchFile::Payouts };
            let request = pb::ExportBatchRequest { batch_id: batch, file: file.into(), language };
            save(client.export_batch(request).await?.into_inner(), out.as_deref()).await
        }
        FinanceCommand::ImportResults { batch, file } => {
            let file = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let request = pb::ImportPaymentResultsRequest { batch_id: batch, file };
            p.print(&client.import_payment_results(request).await?.into_inner())
        }
        FinanceCommand::Payee { promoter } => p.print(
            &client.get_payout_profile(pb::GetPayoutProfileRequest { promoter_id: promoter }).await?.into_inner(),
        ),
        FinanceCommand::Pay { line, reference } => {
            let request =
                pb::RecordPayoutRequest { batch_line_id: line, outcome: pb::PayoutOutcome::Paid.into(), reference };
            p.print(&client.record_payout(request).await?.into_inner())
        }
        FinanceCommand::Fail { line, reason } => {
            let request = pb::RecordPayoutRequest {
                batch_line_id: line,
                outcome: pb::PayoutOutcome::Failed.into(),
                reference: reason,
            };
            p.print(&client.record_payout(request).await?.into_inner())
        }
        FinanceCommand::Hold { promoter, reason } => {
            p.print(&client.place_hold(pb::PlaceHoldRequest { promoter_id: promoter, reason }).await?.into_inner())
        }
        FinanceCommand::Release { promoter, reason } => {
            p.print(&client.release_hold(pb::ReleaseHoldRequest { promoter_id: promoter, reason }).await?.into_inner())
        }
        FinanceCommand::Holds { all } => p.print(
            &client
                .list_holds(pb::ListHoldsRequest { include_released: all, ..Default::default() })
                .await?
                .into_inner(),
        ),
        FinanceCommand::Adjust { promoter, amount, currency, reason, request_id: id } => {
            let request = pb::CreateAdjustmentRequest {
                request_id: request_id(id),
                promoter_id: promoter,
                amount: Some(Money { minor_units: amount, currency }),
                reason,
            };
            p.print(&client.create_adjustment(request).await?.into_inner())
        }
        FinanceCommand::Verify => p.print(&client.verify_ledger(pb::VerifyLedgerRequest {}).await?.into_inner()),
        FinanceCommand::Report { from, to } => {
            let (from, to) = period(&from, &to)?;
            p.print(&client.get_period_report(pb::GetPeriodReportRequest { from, to }).await?.into_inner())
        }
        FinanceCommand::ExportReport { from, to, language, out } => {
            let (from, to) = period(&from, &to)?;
            let request = pb::ExportPeriodReportRequest { from, to, language };
            save(client.export_period_report(request).await?.into_inner(), out.as_deref()).await
        }
        FinanceCommand::Reconcile { from, to } => {
            let (from, to) = period(&from, &to)?;
            let answer = client.reconcile(pb::ReconcileRequest { from, to }).await?.into_inner();
            p.print(&answer)?;
            anyhow::ensure!(answer.clean, "the books do not reconcile: {} discrepancies", answer.discrepancies.len());
            Ok(())
        }
    }
}
