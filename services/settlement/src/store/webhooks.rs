//! Webhooks and their deliveries. A delivery is written in the transaction of the
//! change it reports, so it is sent exactly when that change committed (an outbox).
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::webhooks::{AfterAttempt, DeliveryStatus, WebhookEvent, delivery_id};

xiaopu_common::text_enum_column!(DeliveryStatus, "webhook_delivery.status");
xiaopu_common::text_enum_column!(WebhookEvent, "webhook_delivery.event");

#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub webhook_id: Uuid,
    pub owner_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub key_id: String,
    pub sealed_secret: Vec<u8>,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub event: WebhookEvent,
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_status_code: i32,
    pub last_error: String,
}

/// Stores a new webhook; false when the owner already made one with this request id.
pub async fn insert(db: impl PgExecutor<'_>, w: &WebhookRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO webhook (webhook_id, owner_id, url, events, key_id, sealed_secret, request_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (owner_id, request_id) DO NOTHING",
        w.webhook_id,
        w.owner_id,
        w.url,
        &w.events,
        w.key_id,
        w.sealed_secret,
        w.request_id,
        w.created_at
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_request(
    db: impl PgExecutor<'_>,
    owner_id: &str,
    request_id: &str,
) -> Result<Option<WebhookRow>, sqlx::Error> {
    sqlx::query_as!(WebhookRow, "SELECT * FROM webhook WHERE owner_id = $1 AND request_id = $2", owner_id, request_id)
        .fetch_optional(db)
        .await
}

pub async fn get(db: impl PgExecutor<'_>, webhook_id: Uuid) -> Result<Option<WebhookRow>, sqlx::Error> {
    sqlx::query_as!(WebhookRow, "SELECT * FROM webhook WHERE webhook_id = $1", webhook_id).fetch_optional(db).await
}

/// An owner's webhooks, deleted ones too, newest first.
pub async fn of_owner(db: impl PgExecutor<'_>, owner_id: &str) -> Result<Vec<WebhookRow>, sqlx::Error> {
    sqlx::query_as!(WebhookRow, "SELECT * FROM webhook WHERE owner_id = $1 ORDER BY created_at DESC", owner_id)
        .fetch_all(db)
        .await
}

/// Marks a webhook deleted (once); its pending deliveries are no longer sent.
pub async fn delete(db: impl PgExecutor<'_>, webhook_id: Uuid, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE webhook SET deleted_at = $2 WHERE webhook_id = $1 AND deleted_at IS NULL", webhook_id, at)
        .execute(db)
        .await?;
    Ok(())
}

/// The live webhooks of any of `owners` subscribed to `event`, with their owner.
pub async fn subscribed(
    conn: &mut PgConnection,
    owners: &[&str],
    event: WebhookEvent,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let owners: Vec<String> = owners.iter().map(|s| (*s).to_owned()).collect();
    let rows = sqlx::query!(
        "SELECT webhook_id, owner_id FROM webhook
         WHERE owner_id = ANY($1) AND deleted_at IS NULL AND $2 = ANY(events)",
        &owners,
        event.as_str()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.webhook_id, r.owner_id)).collect())
}

/// A batch's payable lines whose promoter has a live webhook subscribed to `event`.
pub async fn subscribed_payees(
    conn: &mut PgConnection,
    batch_id: Uuid,
    event: WebhookEvent,
) -> Result<Vec<(Uuid, Payee)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT w.webhook_id, l.batch_line_id, l.promoter_id, l.amount, l.currency
         FROM batch_line l JOIN webhook w ON w.owner_id = l.promoter_id
         WHERE l.batch_id = $1 AND l.status = 'pending' AND w.deleted_at IS NULL AND $2 = ANY(w.events)",
        batch_id,
        event.as_str()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let payee = Payee {
                batch_line_id: r.batch_line_id,
                promoter_id: r.promoter_id,
                amount: r.amount,
                currency: r.currency,
            };
            (r.webhook_id, payee)
        })
        .collect())
}

/// A payout line as a webhook reports it.
#[derive(Debug, Clone)]
pub struct Payee {
    pub batch_line_id: Uuid,
    pub promoter_id: String,
    pub amount: i64,
    pub currency: String,
}

/// A delivery to write: to which webhook, the change it reports (which makes its id)
/// and what the body says of it.
pub struct NewDelivery {
    pub webhook_id: Uuid,
    pub source: String,
    pub data: serde_json::Value,
}

/// Writes deliveries of `event` in the caller's transaction; one already written
/// for the same webhook and change is left as it is.
pub async fn enqueue(
    conn: &mut PgConnection,
    event: WebhookEvent,
    at: DateTime<Utc>,
    deliveries: &[NewDelivery],
) -> Result<u64, sqlx::Error> {
    if deliveries.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = deliveries.iter().map(|d| delivery_id(d.webhook_id, event, &d.source)).collect();
    let webhooks: Vec<Uuid> = deliveries.iter().map(|d| d.webhook_id).collect();
    let bodies: Vec<String> = deliveries
        .iter()
        .zip(&ids)
        .map(|(d, id)| {
            serde_json::json!({ "id": id, "type": event.as_str(), "occurred_at": at.to_rfc3339(), "data": d.data })
                .to_string()
        })
        .collect();
    let done = sqlx::query!(
        "INSERT INTO webhook_delivery (delivery_id, webhook_id, event, body, status, created_at, next_attempt_at)
         SELECT d, w, $3, b, 'pending', $4, $4 FROM UNNEST($1::uuid[], $2::uuid[], $5::text[]) AS u(d, w, b)
         ON CONFLICT (delivery_id) DO NOTHING",
        &ids,
        &webhooks,
        event.as_str(),
        at,
        &bodies
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A delivery due now, with where and how to sign it.
#[derive(Debug, Clone)]
pub struct Due {
    pub delivery_id: Uuid,
    pub body: String,
    pub attempts: i32,
    pub url: String,
    pub owner_id: String,
    pub key_id: String,
    pub sealed_secret: Vec<u8>,
}

/// Takes up to `limit` due deliveries of live webhooks, each held by this
/// transaction (another sender skips it) until its outcome is recorded.
pub async fn claim_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        "SELECT d.delivery_id, d.body, d.attempts, w.url, w.owner_id, w.key_id, w.sealed_secret
         FROM webhook_delivery d JOIN webhook w USING (webhook_id)
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.deleted_at IS NULL
         ORDER BY d.next_attempt_at
         LIMIT $2
         FOR UPDATE OF d SKIP LOCKED",
        now,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Records where a delivery stands after an attempt.
pub async fn record(conn: &mut PgConnection, delivery_id: Uuid, after: &AfterAttempt) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE webhook_delivery
         SET status = $2, attempts = attempts + 1, next_attempt_at = $3, delivered_at = $4,
             last_status_code = $5, last_error = $6
         WHERE delivery_id = $1",
        delivery_id,
        after.status.as_str(),
        after.next_attempt_at,
        after.delivered_at,
        after.status_code,
        after.error
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A webhook's deliveries, newest first.
pub async fn deliveries(
    db: impl PgExecutor<'_>,
    webhook_id: Uuid,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryRow,
        r#"SELECT delivery_id, webhook_id, event AS "event: _", body, status AS "status: _", attempts, created_at,
                  next_attempt_at, delivered_at, last_status_code, last_error
           FROM webhook_delivery WHERE webhook_id = $1
           ORDER BY created_at DESC, delivery_id DESC LIMIT $2"#,
        webhook_id,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn delivery(db: impl PgExecutor<'_>, delivery_id: Uuid) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryRow,
        r#"SELECT delivery_id, webhook_id, event AS "event: _", body, status AS "status: _", attempts, created_at,
                  next_attempt_at, delivered_at, last_status_code, last_error
           FROM webhook_delivery WHERE delivery_id = $1"#,
        delivery_id
    )
    .fetch_optional(db)
    .await
}

/// Puts a failed delivery back in line, due `at`; false when it had not failed.
pub async fn redeliver(db: impl PgExecutor<'_>, delivery_id: Uuid, at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE webhook_delivery SET status = 'pending', next_attempt_at = $2
         WHERE delivery_id = $1 AND status = 'failed'",
        delivery_id,
        at
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
