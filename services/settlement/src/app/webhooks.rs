//! What settlement tells webhooks, written in the transaction of the change it
//! reports: a line attributed or voided (from attribution's feed, to the line's
//! promoter and supplier), a batch approved and a payout paid or failed (to the
//! payout line's promoter).
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::webhooks::WebhookEvent,
    store::webhooks::{self, NewDelivery},
};

/// Tells every subscribed webhook of `owners` that `event` happened, once per
/// `source` (the change's own id).
pub async fn tell(
    conn: &mut PgConnection,
    event: WebhookEvent,
    owners: &[&str],
    source: &str,
    data: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let subscribed = webhooks::subscribed(conn, owners, event).await?;
    let deliveries: Vec<NewDelivery> = subscribed
        .into_iter()
        .map(|(webhook_id, _)| NewDelivery { webhook_id, source: source.to_owned(), data: data.clone() })
        .collect();
    webhooks::enqueue(conn, event, at, &deliveries).await
}

/// Tells the promoters of a batch's payable lines that it was approved.
pub async fn batch_approved(conn: &mut PgConnection, batch_id: Uuid, at: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let event = WebhookEvent::BatchApproved;
    let deliveries: Vec<NewDelivery> = webhooks::subscribed_payees(conn, batch_id, event)
        .await?
        .into_iter()
        .map(|(webhook_id, p)| NewDelivery {
            webhook_id,
            source: p.batch_line_id.to_string(),
            data: json!({
                "batch_id": batch_id,
                "batch_line_id": p.batch_line_id,
                "promoter_id": p.promoter_id,
                "amount": { "minor_units": p.amount, "currency": p.currency },
            }),
        })
        .collect();
    webhooks::enqueue(conn, event, at, &deliveries).await
}
