//! Attribution's `BudgetAlert` events: a supplier's budget passed 80 % or was spent.
//! Settlement holds no budgets; it tells the supplier's webhooks.
use chrono::{DateTime, Utc};
use serde_json::json;
use xiaopu_api::{
    attribution::{BudgetAlert, BudgetStatus},
    feed::Event,
};
use xiaopu_common::feed::{ApplyError, decode_payload};

use crate::{app, domain::webhooks::WebhookEvent};

pub async fn apply(conn: &mut sqlx::PgConnection, event: &Event, now: DateTime<Utc>) -> Result<(), ApplyError> {
    let alert: BudgetAlert = decode_payload(event)?;
    let level = match alert.level() {
        BudgetStatus::Warning => "warning",
        BudgetStatus::Exhausted => "exhausted",
        BudgetStatus::Open | BudgetStatus::Unspecified => {
            return Err(ApplyError::Malformed { event_id: event.event_id.clone(), why: "no alert level".into() });
        }
    };
    let money = |m: Option<&xiaopu_api::types::Money>| {
        m.map(|m| json!({ "minor_units": m.minor_units, "currency": m.currency }))
    };
    let data = json!({
        "budget_id": alert.budget_id,
        "supplier_id": alert.supplier_id,
        "product_id": (!alert.product_id.is_empty()).then_some(&alert.product_id),
        "month": alert.month,
        "level": level,
        "cap": money(alert.cap.as_ref()),
        "spent": money(alert.spent.as_ref()),
    });
    app::webhooks::tell(conn, WebhookEvent::BudgetAlert, &[alert.supplier_id.as_str()], &event.event_id, data, now)
        .await?;
    Ok(())
}
