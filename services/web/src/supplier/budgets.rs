//! A supplier's commission budgets: each month's cap, what it has spent, a warning
//! from 80 %, and the form to set, change or lift one.
use std::collections::HashMap;

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use xiaopu_api::{attribution as at, types::Money};

use super::{
    CURRENCY, Session, offered_products,
    views::{BudgetRow, BudgetsPage},
    yuan,
};
use crate::{
    SharedApp,
    pages::{PageQuery, back, failed, money, render, scope_words},
    session::{NoFields, Posted},
};

#[derive(Debug, Default, Deserialize)]
pub struct MonthQuery {
    /// `YYYY-MM`; empty for this month.
    #[serde(default)]
    month: String,
}

/// Spent as a share of the cap, in whole percent (100 at or past the cap).
fn used_percent(b: &at::Budget) -> i64 {
    let (spent, cap) = (b.spent.as_ref().map_or(0, |m| m.minor_units), b.cap.as_ref().map_or(0, |m| m.minor_units));
    if cap <= 0 { 100 } else { (i128::from(spent) * 100 / i128::from(cap)).min(100) as i64 }
}

pub async fn page(
    State(app): State<SharedApp>,
    session: Session,
    Query(query): Query<PageQuery>,
    Query(month): Query<MonthQuery>,
) -> Response {
    let request = at::ListBudgetsRequest { supplier_id: session.user.clone(), month: month.month.trim().to_owned() };
    let listed = match app.attribution_as_user.clone().list_budgets(session.request(request)).await {
        Ok(answer) => answer.into_inner().budgets,
        Err(status) => return failed(session.lang, &status),
    };
    let products = match offered_products(&app, &session).await {
        Ok(products) => products,
        Err(status) => return failed(session.lang, &status),
    };
    let titles: HashMap<&str, &str> = products.iter().map(|p| (p.product_id.as_str(), p.title.as_str())).collect();
    let lang = session.lang;
    let rows: Vec<BudgetRow> = listed
        .iter()
        .map(|b| BudgetRow {
            budget_id: b.budget_id.clone(),
            scope: scope_words(lang, &b.product_id, "", |p| titles.get(p).map(|t| (*t).to_owned())),
            cap: money(b.cap.as_ref()),
            spent: money(b.spent.as_ref()),
            remaining: money(b.remaining.as_ref()),
            used: used_percent(b),
            refused_lines: b.refused_lines,
            status: lang.words(b.status().as_str_name()),
            alarm: b.status() != at::BudgetStatus::Open,
        })
        .collect();
    let warnings: Vec<String> = rows.iter().filter(|r| r.alarm).map(|r| r.scope.clone()).collect();
    let page = BudgetsPage {
        frame: session.frame(&query),
        month: listed.first().map_or_else(|| month.month.clone(), |b| b.month.clone()),
        rows,
        warnings,
        products: products.into_iter().map(|p| (p.product_id, p.title)).collect(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct BudgetForm {
    request_id: String,
    /// Empty for the whole catalogue.
    #[serde(default)]
    product_id: String,
    /// Yuan, as typed: `5000` or `5000.00`.
    cap: String,
}

pub async fn set(State(app): State<SharedApp>, session: Session, Form(posted): Form<Posted<BudgetForm>>) -> Response {
    let to = "/supplier/budgets";
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let Some(cap) = yuan(&form.cap) else {
        let why = tonic::Status::invalid_argument(session.lang.t("每月上限：请填写金额，如 5000（元）"));
        return back(session.lang, to, Err(why));
    };
    let request = at::SetBudgetRequest {
        request_id: form.request_id,
        supplier_id: session.user.clone(),
        product_id: form.product_id.trim().to_owned(),
        cap: Some(Money { minor_units: cap, currency: CURRENCY.into() }),
    };
    let outcome = app.attribution_as_user.clone().set_budget(session.request(request)).await;
    back(session.lang, to, outcome.map(|_| session.lang.t("预算已设置").to_owned()))
}

pub async fn remove(
    State(app): State<SharedApp>,
    session: Session,
    Path(budget_id): Path<String>,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let request = at::RemoveBudgetRequest { budget_id };
    let outcome = app.attribution_as_user.clone().remove_budget(session.request(request)).await;
    back(session.lang, "/supplier/budgets", outcome.map(|_| session.lang.t("预算已解除").to_owned()))
}
