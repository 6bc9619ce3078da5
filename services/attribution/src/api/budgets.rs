//! Suppliers' commission budgets: set (or change the cap of) a budget, list them with
//! a month's spend, lift one. Only the supplier (or admin) changes a budget; finance
//! may read them.
use chrono::{DateTime, Utc};
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::{attribution as pb, types::Money};
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{FieldViolation, Invalid, Violations},
    idempotency::{self, Claim},
    time::{Month, to_timestamp},
    validate,
};
use xiaopu_money::Minor;

use super::{AttributionApi, amount};
use crate::{
    Error,
    app::budgets::level_message,
    domain::budget::Budget,
    store::{
        self,
        budgets::{BudgetRow, SpendRow},
    },
};

const SET_BUDGET_SCOPE: &str = "attribution.set_budget";

fn budget_message(b: &BudgetRow, s: &SpendRow) -> pb::Budget {
    let money = |m: Minor| Some(Money { minor_units: m.get(), currency: b.budget.currency.clone() });
    pb::Budget {
        budget_id: b.budget.budget_id.to_string(),
        supplier_id: b.budget.supplier_id.clone(),
        product_id: b.budget.product_id.map(|p| p.to_string()).unwrap_or_default(),
        cap: money(b.budget.cap),
        month: s.month.clone(),
        spent: money(s.spend.spent),
        remaining: money(s.spend.remaining()),
        refused_lines: s.spend.refused,
        status: level_message(s.spend.level()).into(),
        first_month: b.budget.first_month.clone(),
        created_at: Some(to_timestamp(b.created_at)),
        updated_at: Some(to_timestamp(b.updated_at)),
    }
}

/// The month a request names (`YYYY-MM`), or the current one.
fn month(api: &AttributionApi, label: &str, now: DateTime<Utc>) -> Result<Month, FieldViolation> {
    let zone = api.pipeline.engine.zone;
    if label.is_empty() {
        return Ok(zone.month_of(now));
    }
    zone.month(label).ok_or_else(|| FieldViolation::new("month", "must be a month as YYYY-MM, e.g. 2026-12"))
}

#[tracing::instrument(skip_all)]
pub async fn set_budget(
    api: &AttributionApi,
    request: Request<pb::SetBudgetRequest>,
) -> Result<Response<pb::SetBudgetResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Admin])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let supplier_id = v.check(validate::id("supplier_id", &r.supplier_id));
    let product_id = v.check(validate::optional_uuid("product_id", &r.product_id));
    let cap = amount(&mut v, "cap", r.cap.as_ref(), &api.pipeline.currencies);
    let (request_id, supplier_id, product_id, (cap, currency)) =
        v.finish_with(request_id.zip(supplier_id).zip(product_id).zip(cap).map(|(((a, b), c), d)| (a, b, c, d)))?;
    caller.require_owner(Role::Supplier, supplier_id, &[Role::Admin])?;
    if let Some(product) = product_id {
        let owners = store::read_model::suppliers(&api.pool, &[product]).await?;
        if !owners.iter().any(|(_, s)| s == supplier_id) {
            return Err(Error::not_found("product of the supplier's", product));
        }
    }

    let now = api.pipeline.clock.now();
    let mut tx = api.pool.begin().await?;
    let fingerprint = idempotency::fingerprint(&r);
    let key = match idempotency::claim(&mut tx, SET_BUDGET_SCOPE, &caller.subject, request_id, &fingerprint).await? {
        Claim::Replay(answer) => return Ok(Response::new(answer)),
        Claim::New(key) => key,
    };
    let this_month = api.pipeline.engine.zone.month_of(now);
    let budget = match store::budgets::live_of_scope(&mut tx, supplier_id, product_id, &currency).await? {
        Some(mut row) => {
            store::budgets::set_cap(&mut tx, row.budget.budget_id, cap, now).await?;
            row.budget.cap = cap;
            row.updated_at = now;
            row
        }
        None => {
            let row = BudgetRow {
                budget: Budget {
                    budget_id: Uuid::now_v7(),
                    supplier_id: supplier_id.to_owned(),
                    product_id,
                    currency,
                    cap,
                    first_month: this_month.label.clone(),
                },
                created_at: now,
                updated_at: now,
                removed_at: None,
            };
            // The month's lines so far count: none may move while they are summed.
            store::budgets::hold_lines_still(&mut tx).await?;
            store::budgets::insert(&mut tx, &row, api.pipeline.engine.zone.name(), this_month.start).await?;
            row
        }
    };
    let spend = store::budgets::of_supplier(&mut *tx, supplier_id, &this_month.label)
        .await?
        .into_iter()
        .find(|(b, _)| b.budget.budget_id == budget.budget.budget_id)
        .map(|(_, s)| s)
        .ok_or_else(|| sqlx::Error::Protocol("a budget just set is not listed".into()))?;
    let answer = pb::SetBudgetResponse { budget: Some(budget_message(&budget, &spend)) };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(budget = %budget.budget.budget_id, supplier = supplier_id, cap = cap.get(), "budget set");
    Ok(Response::new(answer))
}

#[tracing::instrument(skip_all)]
pub async fn list_budgets(
    api: &AttributionApi,
    request: Request<pb::ListBudgetsRequest>,
) -> Result<Response<pb::ListBudgetsResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Finance, Role::Admin])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let supplier_id = v.check(validate::id("supplier_id", &r.supplier_id));
    let month = v.check(month(api, &r.month, api.pipeline.clock.now()));
    let (supplier_id, month) = v.finish_with(supplier_id.zip(month))?;
    caller.require_owner(Role::Supplier, supplier_id, &[Role::Finance, Role::Admin])?;
    let rows = store::budgets::of_supplier(&api.pool, supplier_id, &month.label).await?;
    Ok(Response::new(pb::ListBudgetsResponse { budgets: rows.iter().map(|(b, s)| budget_message(b, s)).collect() }))
}

#[tracing::instrument(skip_all)]
pub async fn remove_budget(
    api: &AttributionApi,
    request: Request<pb::RemoveBudgetRequest>,
) -> Result<Response<pb::RemoveBudgetResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Admin])?;
    let id = validate::uuid("budget_id", &request.get_ref().budget_id).map_err(Invalid::from)?;
    // Another supplier's budget is not found, as if it did not exist.
    let budget = store::budgets::get(&api.pool, id)
        .await?
        .filter(|b| caller.role == Role::Admin || b.budget.supplier_id == caller.subject)
        .ok_or_else(|| Error::not_found("budget", id))?;
    // Lifting twice is lifting once.
    if budget.removed_at.is_none() {
        store::budgets::remove(&api.pool, id, api.pipeline.clock.now()).await?;
        tracing::info!(budget = %id, supplier = %budget.budget.supplier_id, "budget lifted");
    }
    Ok(Response::new(pb::RemoveBudgetResponse {}))
}
