//! The gRPC face of settlement: finance's periods, batches, holds, adjustments and
//! reconciliation; promoters' and suppliers' views. Handlers live in the modules below.
mod batches;
mod convert;
mod csv;
mod exports;
mod files;
mod holds;
mod lines;
mod payees;
mod payouts;
mod reconcile;
mod views;
mod webhooks;

use chrono::TimeDelta;
use sqlx::PgPool;
use tonic::{Request, Response};
use xiaopu_api::{
    attribution::attribution_service_client::AttributionServiceClient,
    feed::feed_service_client::FeedServiceClient,
    settlement::{self as pb, settlement_service_server::SettlementService},
};
use xiaopu_common::{
    auth::{CallerExt, Role},
    grpc_client::Upstream,
    sealed::SealingKey,
    time::SharedClock,
};

pub use self::batches::close;
pub use crate::Error;
use crate::{SettlementSettings, store};

/// Every period a request names is `[from, to)`, checked the same way everywhere.
pub(crate) use xiaopu_common::validate::period;

#[derive(Clone)]
pub struct SettlementApi {
    pool: PgPool,
    clock: SharedClock,
    settings: SettlementSettings,
    attribution: AttributionServiceClient<Upstream>,
    /// Attribution's feed, asked what settlement has still to apply.
    attribution_feed: FeedServiceClient<Upstream>,
    /// Seals payees' details at rest.
    payee_key: SealingKey,
}

impl SettlementApi {
    pub fn new(
        pool: PgPool,
        clock: SharedClock,
        settings: SettlementSettings,
        attribution: Upstream,
        payee_key: SealingKey,
    ) -> Self {
        Self {
            pool,
            clock,
            settings,
            attribution_feed: FeedServiceClient::new(attribution.clone()),
            attribution: AttributionServiceClient::new(attribution),
            payee_key,
        }
    }

    fn hold(&self) -> TimeDelta {
        self.settings.hold()
    }
}

/// The RPC handlers written here; the rest live by subject in the modules above.
impl SettlementApi {
    #[tracing::instrument(skip_all)]
    async fn verify_ledger(
        &self,
        request: Request<pb::VerifyLedgerRequest>,
    ) -> Result<Response<pb::VerifyLedgerResponse>, Error> {
        request.caller()?.require_role(&[Role::Finance, Role::Admin])?;
        let (total, journals, postings) = store::reports::ledger_totals(&self.pool).await?;
        let unbalanced = store::reports::unbalanced_journals(&self.pool).await?;
        let accounts = store::reports::account_balances(&self.pool).await?;
        Ok(Response::new(pb::VerifyLedgerResponse {
            total: convert::money(total, &self.settings.currency),
            unbalanced_journals: unbalanced,
            journals,
            postings,
            accounts: accounts
                .iter()
                .map(|b| pb::AccountBalance {
                    account: b.account.clone(),
                    balance: convert::money(b.amount, &b.currency),
                })
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn run_settleable_sweep(
        &self,
        request: Request<pb::RunSettleableSweepRequest>,
    ) -> Result<Response<pb::RunSettleableSweepResponse>, Error> {
        request.caller()?.require_role(&[Role::Finance, Role::Admin])?;
        let moved = crate::jobs::sweep::run(&self.pool, &self.clock, self.hold()).await?;
        Ok(Response::new(pb::RunSettleableSweepResponse { moved }))
    }
}

xiaopu_common::route! {
    impl SettlementService for SettlementApi [
        type ExportBatchStream = csv::CsvStream<pb::ExportBatchResponse>;
        type ExportPeriodReportStream = csv::CsvStream<pb::ExportPeriodReportResponse>;
    ] {
        verify_ledger => SettlementApi::verify_ledger: pb::VerifyLedgerRequest => pb::VerifyLedgerResponse;
        run_settleable_sweep => SettlementApi::run_settleable_sweep:
            pb::RunSettleableSweepRequest => pb::RunSettleableSweepResponse;
        close_period => batches::close_period: pb::ClosePeriodRequest => pb::ClosePeriodResponse;
        list_periods => batches::list_periods: pb::ListPeriodsRequest => pb::ListPeriodsResponse;
        list_batches => batches::list_batches: pb::ListBatchesRequest => pb::ListBatchesResponse;
        get_batch => batches::get_batch: pb::GetBatchRequest => pb::GetBatchResponse;
        list_batch_lines => batches::list_batch_lines: pb::ListBatchLinesRequest => pb::ListBatchLinesResponse;
        approve_batch => batches::approve_batch: pb::ApproveBatchRequest => pb::ApproveBatchResponse;
        export_batch => exports::export_batch: pb::ExportBatchRequest => Self::ExportBatchStream;
        record_payout => payouts::record_payout: pb::RecordPayoutRequest => pb::RecordPayoutResponse;
        import_payment_results => payouts::import_payment_results:
            pb::ImportPaymentResultsRequest => pb::ImportPaymentResultsResponse;
        set_payout_profile => payees::set_payout_profile: pb::SetPayoutProfileRequest => pb::SetPayoutProfileResponse;
        get_payout_profile => payees::get_payout_profile: pb::GetPayoutProfileRequest => pb::GetPayoutProfileResponse;
        place_hold => holds::place_hold: pb::PlaceHoldRequest => pb::PlaceHoldResponse;
        release_hold => holds::release_hold: pb::ReleaseHoldRequest => pb::ReleaseHoldResponse;
        list_holds => holds::list_holds: pb::ListHoldsRequest => pb::ListHoldsResponse;
        create_adjustment => holds::create_adjustment: pb::CreateAdjustmentRequest => pb::CreateAdjustmentResponse;
        get_promoter_earnings => views::promoter_earnings:
            pb::GetPromoterEarningsRequest => pb::GetPromoterEarningsResponse;
        list_promoter_lines => lines::list_promoter_lines:
            pb::ListPromoterLinesRequest => pb::ListPromoterLinesResponse;
        get_line_ledger => lines::get_line_ledger: pb::GetLineLedgerRequest => pb::GetLineLedgerResponse;
        get_supplier_charges => views::supplier_charges:
            pb::GetSupplierChargesRequest => pb::GetSupplierChargesResponse;
        get_period_report => views::period_report: pb::GetPeriodReportRequest => pb::GetPeriodReportResponse;
        export_period_report => exports::export_period_report:
            pb::ExportPeriodReportRequest => Self::ExportPeriodReportStream;
        reconcile => reconcile::reconcile: pb::ReconcileRequest => pb::ReconcileResponse;
        create_webhook => webhooks::create_webhook: pb::CreateWebhookRequest => pb::CreateWebhookResponse;
        list_webhooks => webhooks::list_webhooks: pb::ListWebhooksRequest => pb::ListWebhooksResponse;
        delete_webhook => webhooks::delete_webhook: pb::DeleteWebhookRequest => pb::DeleteWebhookResponse;
        list_webhook_deliveries => webhooks::list_webhook_deliveries:
            pb::ListWebhookDeliveriesRequest => pb::ListWebhookDeliveriesResponse;
        redeliver_webhook => webhooks::redeliver_webhook:
            pb::RedeliverWebhookRequest => pb::RedeliverWebhookResponse;
    }
}
