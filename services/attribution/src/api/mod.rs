//! The gRPC face of attribution: ingest for the order system and link redirector,
//! views for promoters, support and finance. Handlers live in the modules below.
mod budgets;
mod groups;
mod risk;
mod views;

use sqlx::PgPool;
use tonic::{Request, Response};
use xiaopu_api::attribution::{self as pb, attribution_service_server::AttributionService, order_event};
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{Invalid, Violations},
    time::SharedClock,
};
use xiaopu_money::Minor;

pub use self::views::mask;
use crate::{
    Error,
    app::{
        Engine,
        ingest::{self, Pipeline},
    },
};

/// A positive amount in an accepted currency at `field`, or the violations saying why
/// not (an absent one is "required").
fn amount(
    v: &mut Violations,
    field: &str,
    money: Option<&xiaopu_api::types::Money>,
    currencies: &[String],
) -> Option<(Minor, String)> {
    match money {
        None => v.add(field, "is required"),
        Some(m) if !currencies.contains(&m.currency) => {
            v.add(format!("{field}.currency"), format!("must be one of {}", currencies.join(", ")))
        }
        Some(m) if m.minor_units <= 0 => v.add(format!("{field}.minor_units"), "must be positive"),
        Some(m) => return Some((Minor::new(m.minor_units), m.currency.clone())),
    }
    None
}

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

/// The RPC handlers written here; the rest live by subject in the modules above.
impl AttributionApi {
    #[tracing::instrument(skip_all, fields(events = request.get_ref().events.len()))]
    async fn ingest_events(
        &self,
        request: Request<pb::IngestEventsRequest>,
    ) -> Result<Response<pb::IngestEventsResponse>, Error> {
        request.caller()?.require_role(&[Role::Service, Role::Admin])?;
        let events = &request.get_ref().events;
        if events.len() > ingest::MAX_BATCH {
            return Err(Error::from(Invalid::field(
                "events",
                format!("must hold at most {} events", ingest::MAX_BATCH),
            )));
        }
        let results = ingest::ingest(&self.pipeline, events).await?;
        Ok(Response::new(pb::IngestEventsResponse { results }))
    }

    #[tracing::instrument(skip_all)]
    async fn record_click(
        &self,
        request: Request<pb::RecordClickRequest>,
    ) -> Result<Response<pb::RecordClickResponse>, Error> {
        request.caller()?.require_role(&[Role::Service, Role::Admin])?;
        let click = request.into_inner().click.unwrap_or_default();
        let event = pb::OrderEvent { event: Some(order_event::Event::Click(click)) };
        let result = ingest::ingest(&self.pipeline, &[event]).await?.into_iter().next();
        Ok(Response::new(pb::RecordClickResponse { result }))
    }
}

xiaopu_common::route! {
    impl AttributionService for AttributionApi [type StreamPeriodLinesStream = views::LineStream;] {
        ingest_events => AttributionApi::ingest_events: pb::IngestEventsRequest => pb::IngestEventsResponse;
        record_click => AttributionApi::record_click: pb::RecordClickRequest => pb::RecordClickResponse;
        list_promoter_lines => views::list_promoter_lines:
            pb::ListPromoterLinesRequest => pb::ListPromoterLinesResponse;
        list_supplier_lines => views::list_supplier_lines:
            pb::ListSupplierLinesRequest => pb::ListSupplierLinesResponse;
        get_link_stats => views::get_link_stats: pb::GetLinkStatsRequest => pb::GetLinkStatsResponse;
        explain_line => views::explain_line: pb::ExplainLineRequest => pb::ExplainLineResponse;
        get_period_totals => views::get_period_totals: pb::GetPeriodTotalsRequest => pb::GetPeriodTotalsResponse;
        stream_period_lines => views::stream_period_lines:
            pb::StreamPeriodLinesRequest => Self::StreamPeriodLinesStream;
        set_budget => budgets::set_budget: pb::SetBudgetRequest => pb::SetBudgetResponse;
        list_budgets => budgets::list_budgets: pb::ListBudgetsRequest => pb::ListBudgetsResponse;
        remove_budget => budgets::remove_budget: pb::RemoveBudgetRequest => pb::RemoveBudgetResponse;
        create_group => groups::create_group: pb::CreateGroupRequest => pb::CreateGroupResponse;
        update_group => groups::update_group: pb::UpdateGroupRequest => pb::UpdateGroupResponse;
        list_groups => groups::list_groups: pb::ListGroupsRequest => pb::ListGroupsResponse;
        set_group_rule => groups::set_group_rule: pb::SetGroupRuleRequest => pb::SetGroupRuleResponse;
        add_group_member => groups::add_group_member: pb::AddGroupMemberRequest => pb::AddGroupMemberResponse;
        remove_group_member => groups::remove_group_member:
            pb::RemoveGroupMemberRequest => pb::RemoveGroupMemberResponse;
        list_group_members => groups::list_group_members:
            pb::ListGroupMembersRequest => pb::ListGroupMembersResponse;
        list_promoter_groups => groups::list_promoter_groups:
            pb::ListPromoterGroupsRequest => pb::ListPromoterGroupsResponse;
        list_risk_holds => risk::list_risk_holds: pb::ListRiskHoldsRequest => pb::ListRiskHoldsResponse;
        release_risk_hold => risk::release_risk_hold: pb::ReleaseRiskHoldRequest => pb::ReleaseRiskHoldResponse;
        void_risk_hold => risk::void_risk_hold: pb::VoidRiskHoldRequest => pb::VoidRiskHoldResponse;
        list_risk_flags => risk::list_risk_flags: pb::ListRiskFlagsRequest => pb::ListRiskFlagsResponse;
        clear_risk_flag => risk::clear_risk_flag: pb::ClearRiskFlagRequest => pb::ClearRiskFlagResponse;
    }
}
