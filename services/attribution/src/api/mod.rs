//! The gRPC face of attribution: ingest for the order system and link redirector,
//! views for promoters, support and finance. Handlers live in the modules below.
mod views;

use sqlx::PgPool;
use tonic::{Request, Response, Status};
use xiaopu_api::attribution::{self as pb, attribution_service_server::AttributionService, order_event};
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::Invalid,
    time::SharedClock,
};

pub use self::views::mask;
use crate::{
    Error,
    app::{
        Engine,
        ingest::{self, Pipeline},
    },
};

pub struct AttributionApi {
    pool: PgPool,
    pipeline: Pipeline,
}

impl AttributionApi {
    pub fn new(pool: PgPool, clock: SharedClock, engine: Engine, currencies: Vec<String>) -> Self {
        let pipeline = Pipeline { pool: pool.clone(), clock, engine, currencies };
        Self { pool, pipeline }
    }
}

#[tonic::async_trait]
impl AttributionService for AttributionApi {
    #[tracing::instrument(skip_all, fields(events = request.get_ref().events.len()))]
    async fn ingest_events(
        &self,
        request: Request<pb::IngestEventsRequest>,
    ) -> Result<Response<pb::IngestEventsResponse>, Status> {
        request.caller()?.require_role(&[Role::Service, Role::Admin])?;
        let events = &request.get_ref().events;
        if events.len() > ingest::MAX_BATCH {
            return Err(Error::from(Invalid::field(
                "events",
                format!("must hold at most {} events", ingest::MAX_BATCH),
            ))
            .into());
        }
        let results = ingest::ingest(&self.pipeline, events).await?;
        Ok(Response::new(pb::IngestEventsResponse { results }))
    }

    #[tracing::instrument(skip_all)]
    async fn record_click(
        &self,
        request: Request<pb::RecordClickRequest>,
    ) -> Result<Response<pb::RecordClickResponse>, Status> {
        request.caller()?.require_role(&[Role::Service, Role::Admin])?;
        let click = request.into_inner().click.unwrap_or_default();
        let event = pb::OrderEvent { event: Some(order_event::Event::Click(click)) };
        let result = ingest::ingest(&self.pipeline, &[event]).await?.into_iter().next();
        Ok(Response::new(pb::RecordClickResponse { result }))
    }

    async fn list_promoter_lines(
        &self,
        request: Request<pb::ListPromoterLinesRequest>,
    ) -> Result<Response<pb::ListPromoterLinesResponse>, Status> {
        views::list_promoter_lines(self, request).await
    }

    async fn list_supplier_lines(
        &self,
        request: Request<pb::ListSupplierLinesRequest>,
    ) -> Result<Response<pb::ListSupplierLinesResponse>, Status> {
        views::list_supplier_lines(self, request).await
    }

    async fn get_link_stats(
        &self,
        request: Request<pb::GetLinkStatsRequest>,
    ) -> Result<Response<pb::GetLinkStatsResponse>, Status> {
        views::get_link_stats(self, request).await
    }

    async fn explain_line(
        &self,
        request: Request<pb::ExplainLineRequest>,
    ) -> Result<Response<pb::ExplainLineResponse>, Status> {
        views::explain_line(self, request).await
    }

    async fn get_period_totals(
        &self,
        request: Request<pb::GetPeriodTotalsRequest>,
    ) -> Result<Response<pb::GetPeriodTotalsResponse>, Status> {
        views::get_period_totals(self, request).await
    }

    type StreamPeriodLinesStream = views::LineStream;

    async fn stream_period_lines(
        &self,
        request: Request<pb::StreamPeriodLinesRequest>,
    ) -> Result<Response<Self::StreamPeriodLinesStream>, Status> {
        views::stream_period_lines(self, request).await
    }
}
