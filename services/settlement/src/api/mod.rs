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

use chrono::TimeDelta;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
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

#[tonic::async_trait]
impl SettlementService for SettlementApi {
    #[tracing::instrument(skip_all)]
    async fn verify_ledger(
        &self,
        request: Request<pb::VerifyLedgerRequest>,
    ) -> Result<Response<pb::VerifyLedgerResponse>, Status> {
        request.caller()?.require_role(&[Role::Finance, Role::Admin])?;
        let (total, journals, postings) = store::reports::ledger_totals(&self.pool).await.map_err(Error::from)?;
        let unbalanced = store::reports::unbalanced_journals(&self.pool).await.map_err(Error::from)?;
        let accounts = store::reports::account_balances(&self.pool).await.map_err(Error::from)?;
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
    ) -> Result<Response<pb::RunSettleableSweepResponse>, Status> {
        request.caller()?.require_role(&[Role::Finance, Role::Admin])?;
        let moved = crate::jobs::sweep::run(&self.pool, &self.clock, self.hold()).await?;
        Ok(Response::new(pb::RunSettleableSweepResponse { moved }))
    }

    async fn close_period(
        &self,
        r: Request<pb::ClosePeriodRequest>,
    ) -> Result<Response<pb::ClosePeriodResponse>, Status> {
        batches::close_period(self, r).await
    }

    async fn list_periods(
        &self,
        r: Request<pb::ListPeriodsRequest>,
    ) -> Result<Response<pb::ListPeriodsResponse>, Status> {
        batches::list_periods(self, r).await
    }

    async fn list_batches(
        &self,
        r: Request<pb::ListBatchesRequest>,
    ) -> Result<Response<pb::ListBatchesResponse>, Status> {
        batches::list_batches(self, r).await
    }

    async fn get_batch(&self, r: Request<pb::GetBatchRequest>) -> Result<Response<pb::GetBatchResponse>, Status> {
        batches::get_batch(self, r).await
    }

    async fn list_batch_lines(
        &self,
        r: Request<pb::ListBatchLinesRequest>,
    ) -> Result<Response<pb::ListBatchLinesResponse>, Status> {
        batches::list_batch_lines(self, r).await
    }

    async fn approve_batch(
        &self,
        r: Request<pb::ApproveBatchRequest>,
    ) -> Result<Response<pb::ApproveBatchResponse>, Status> {
        batches::approve_batch(self, r).await
    }

    type ExportBatchStream = csv::CsvStream<pb::ExportBatchResponse>;

    async fn export_batch(
        &self,
        r: Request<pb::ExportBatchRequest>,
    ) -> Result<Response<Self::ExportBatchStream>, Status> {
        exports::export_batch(self, r).await
    }

    async fn record_payout(
        &self,
        r: Request<pb::RecordPayoutRequest>,
    ) -> Result<Response<pb::RecordPayoutResponse>, Status> {
        payouts::record_payout(self, r).await
    }

    async fn import_payment_results(
        &self,
        r: Request<pb::ImportPaymentResultsRequest>,
    ) -> Result<Response<pb::ImportPaymentResultsResponse>, Status> {
        payouts::import_payment_results(self, r).await
    }

    async fn set_payout_profile(
        &self,
        r: Request<pb::SetPayoutProfileRequest>,
    ) -> Result<Response<pb::SetPayoutProfileResponse>, Status> {
        payees::set_payout_profile(self, r).await
    }

    async fn get_payout_profile(
        &self,
        r: Request<pb::GetPayoutProfileRequest>,
    ) -> Result<Response<pb::GetPayoutProfileResponse>, Status> {
        payees::get_payout_profile(self, r).await
    }

    async fn place_hold(&self, r: Request<pb::PlaceHoldRequest>) -> Result<Response<pb::PlaceHoldResponse>, Status> {
        holds::place_hold(self, r).await
    }

    async fn release_hold(
        &self,
        r: Request<pb::ReleaseHoldRequest>,
    ) -> Result<Response<pb::ReleaseHoldResponse>, Status> {
        holds::release_hold(self, r).await
    }

    async fn list_holds(&self, r: Request<pb::ListHoldsRequest>) -> Result<Response<pb::ListHoldsResponse>, Status> {
        holds::list_holds(self, r).await
    }

    async fn create_adjustment(
        &self,
        r: Request<pb::CreateAdjustmentRequest>,
    ) -> Result<Response<pb::CreateAdjustmentResponse>, Status> {
        holds::create_adjustment(self, r).await
    }

    async fn get_promoter_earnings(
        &self,
        r: Request<pb::GetPromoterEarningsRequest>,
    ) -> Result<Response<pb::GetPromoterEarningsResponse>, Status> {
        views::promoter_earnings(self, r).await
    }

    async fn list_promoter_lines(
        &self,
        r: Request<pb::ListPromoterLinesRequest>,
    ) -> Result<Response<pb::ListPromoterLinesResponse>, Status> {
        lines::list_promoter_lines(self, r).await
    }

    async fn get_line_ledger(
        &self,
        r: Request<pb::GetLineLedgerRequest>,
    ) -> Result<Response<pb::GetLineLedgerResponse>, Status> {
        lines::get_line_ledger(self, r).await
    }

    async fn get_supplier_charges(
        &self,
        r: Request<pb::GetSupplierChargesRequest>,
    ) -> Result<Response<pb::GetSupplierChargesResponse>, Status> {
        views::supplier_charges(self, r).await
    }

    async fn get_period_report(
        &self,
        r: Request<pb::GetPeriodReportRequest>,
    ) -> Result<Response<pb::GetPeriodReportResponse>, Status> {
        views::period_report(self, r).await
    }

    type ExportPeriodReportStream = csv::CsvStream<pb::ExportPeriodReportResponse>;

    async fn export_period_report(
        &self,
        r: Request<pb::ExportPeriodReportRequest>,
    ) -> Result<Response<Self::ExportPeriodReportStream>, Status> {
        exports::export_period_report(self, r).await
    }

    async fn reconcile(&self, r: Request<pb::ReconcileRequest>) -> Result<Response<pb::ReconcileResponse>, Status> {
        reconcile::reconcile(self, r).await
    }
}
