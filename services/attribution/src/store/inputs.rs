//! The raw inputs: clicks, paid orders, confirmations and refunds, each stored once
//! by its event id (or its order, for a payment).
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone)]
pub struct NewClick {
    pub event_id: String,
    pub share_code: String,
    pub visitor_id: String,
    pub clicked_at: DateTime<Utc>,
}

/// Stores clicks; returns the event ids that were new.
pub async fn insert_clicks(
    conn: &mut PgConnection,
    clicks: &[NewClick],
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let ids: Vec<&str> = clicks.iter().map(|c| c.event_id.as_str()).collect();
    let codes: Vec<&str> = clicks.iter().map(|c| c.share_code.as_str()).collect();
    let visitors: Vec<&str> = clicks.iter().map(|c| c.visitor_id.as_str()).collect();
    let times: Vec<DateTime<Utc>> = clicks.iter().map(|c| c.clicked_at).collect();
    let rows = sqlx::query!(
        "INSERT INTO click (event_id, share_code, visitor_id, clicked_at, received_at)
         SELECT e, c, v, t, $5 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS i(e, c, v, t)
         ON CONFLICT (event_id) DO NOTHING
         RETURNING event_id",
        &ids as &[&str],
        &codes as &[&str],
        &visitors as &[&str],
        &times,
        now
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.event_id).collect())
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub event_id: String,
    pub order_id: String,
    pub buyer_id: String,
    pub paid_at: DateTime<Utc>,
    pub share_code: Option<String>,
}

/// Stores paid orders; returns the order ids that were new (an order is paid once).
pub async fn insert_orders(
    conn: &mut PgConnection,
    orders: &[NewOrder],
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let events: Vec<&str> = orders.iter().map(|o| o.event_id.as_str()).collect();
    let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    let buyers: Vec<&str> = orders.iter().map(|o| o.buyer_id.as_str()).collect();
    let times: Vec<DateTime<Utc>> = orders.iter().map(|o| o.paid_at).collect();
    let codes: Vec<Option<&str>> = orders.iter().map(|o| o.share_code.as_deref()).collect();
    let rows = sqlx::query!(
        "INSERT INTO paid_order (event_id, order_id, buyer_id, paid_at, share_code, received_at)
         SELECT e, o, b, t, c, $6
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS i(e, o, b, t, c)
         ON CONFLICT DO NOTHING
         RETURNING order_id",
        &events as &[&str],
        &ids as &[&str],
        &buyers as &[&str],
        &times,
        &codes as &[Option<&str>],
        now
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.order_id).collect())
}

/// Line ids among `line_ids` that already exist, with their order.
pub async fn existing_lines(conn: &mut PgConnection, line_ids: &[&str]) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows =
        sqlx::query!("SELECT line_id, order_id FROM order_line WHERE line_id = ANY($1::text[])", line_ids as &[&str])
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|r| (r.line_id, r.order_id)).collect())
}

/// Orders among `order_ids` that have been paid.
pub async fn paid_orders(conn: &mut PgConnection, order_ids: &[&str]) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT order_id FROM paid_order WHERE order_id = ANY($1::text[])", order_ids as &[&str])
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.order_id).collect())
}

#[derive(Debug, Clone)]
pub struct NewConfirmation {
    pub event_id: String,
    pub order_id: String,
    pub confirmed_at: DateTime<Utc>,
}

/// Stores confirmations; returns the order ids whose confirmation was new.
pub async fn insert_confirmations(
    conn: &mut PgConnection,
    confirmations: &[NewConfirmation],
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let events: Vec<&str> = confirmations.iter().map(|c| c.event_id.as_str()).collect();
    let orders: Vec<&str> = confirmations.iter().map(|c| c.order_id.as_str()).collect();
    let times: Vec<DateTime<Utc>> = confirmations.iter().map(|c| c.confirmed_at).collect();
    let rows = sqlx::query!(
        "INSERT INTO order_confirmation (event_id, order_id, confirmed_at, received_at)
         SELECT e, o, t, $4 FROM UNNEST($1::text[], $2::text[], $3::timestamptz[]) AS i(e, o, t)
         ON CONFLICT DO NOTHING
         RETURNING order_id",
        &events as &[&str],
        &orders as &[&str],
        &times,
        now
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.order_id).collect())
}

/// When each of `order_ids` was confirmed, for those that were.
pub async fn confirmations(
    conn: &mut PgConnection,
    order_ids: &[&str],
) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT order_id, confirmed_at FROM order_confirmation WHERE order_id = ANY($1::text[])",
        order_ids as &[&str]
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.order_id, r.confirmed_at)).collect())
}

#[derive(Debug, Clone)]
pub struct StoredRefund {
    pub event_id: String,
    pub order_id: String,
    pub line_id: String,
    pub currency: String,
    pub amount_minor: i64,
    pub refunded_at: DateTime<Utc>,
}

/// Stores refunds as pending; returns the event ids that were new.
pub async fn insert_refunds(
    conn: &mut PgConnection,
    refunds: &[StoredRefund],
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let events: Vec<&str> = refunds.iter().map(|r| r.event_id.as_str()).collect();
    let orders: Vec<&str> = refunds.iter().map(|r| r.order_id.as_str()).collect();
    let lines: Vec<&str> = refunds.iter().map(|r| r.line_id.as_str()).collect();
    let currencies: Vec<&str> = refunds.iter().map(|r| r.currency.as_str()).collect();
    let amounts: Vec<i64> = refunds.iter().map(|r| r.amount_minor).collect();
    let times: Vec<DateTime<Utc>> = refunds.iter().map(|r| r.refunded_at).collect();
    let rows = sqlx::query!(
        "INSERT INTO refund (event_id, order_id, line_id, currency, amount_minor, refunded_at, status, received_at)
         SELECT e, o, l, c, a, t, 'pending', $7
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[]) AS i(e, o, l, c, a, t)
         ON CONFLICT (event_id) DO NOTHING
         RETURNING event_id",
        &events as &[&str],
        &orders as &[&str],
        &lines as &[&str],
        &currencies as &[&str],
        &amounts,
        &times,
        now
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.event_id).collect())
}

/// Pending refunds of `line_ids`, oldest first.
pub async fn pending_refunds(conn: &mut PgConnection, line_ids: &[&str]) -> Result<Vec<StoredRefund>, sqlx::Error> {
    sqlx::query_as!(
        StoredRefund,
        "SELECT event_id, order_id, line_id, currency, amount_minor, refunded_at FROM refund
         WHERE line_id = ANY($1::text[]) AND status = 'pending'
         ORDER BY refunded_at, event_id",
        line_ids as &[&str]
    )
    .fetch_all(conn)
    .await
}

/// Marks refunds applied or rejected (with why).
pub async fn settle_refunds(conn: &mut PgConnection, outcomes: &[(String, Option<String>)]) -> Result<(), sqlx::Error> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = outcomes.iter().map(|(id, _)| id.as_str()).collect();
    let rejections: Vec<Option<&str>> = outcomes.iter().map(|(_, why)| why.as_deref()).collect();
    sqlx::query!(
        "UPDATE refund SET status = CASE WHEN u.why IS NULL THEN 'applied' ELSE 'rejected' END, rejection = u.why
         FROM UNNEST($1::text[], $2::text[]) AS u(id, why)
         WHERE refund.event_id = u.id",
        &ids as &[&str],
        &rejections as &[Option<&str>]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The status and rejection of refunds by event id (to answer duplicates truthfully).
pub async fn refund_statuses(
    conn: &mut PgConnection,
    event_ids: &[&str],
) -> Result<Vec<(String, String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT event_id, status, rejection FROM refund WHERE event_id = ANY($1::text[])",
        event_ids as &[&str]
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.event_id, r.status, r.rejection)).collect())
}
