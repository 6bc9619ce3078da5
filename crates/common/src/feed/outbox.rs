//! Writing events: always inside the producer's own transaction, so an event exists
//! if and only if the change it describes was committed.
use sqlx::PgConnection;
use uuid::Uuid;

/// One event to publish.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    /// Stable id: publishing the same id twice stores it once.
    pub event_id: Uuid,
    pub topic: &'static str,
    pub key: String,
    pub type_url: String,
    pub payload: Vec<u8>,
}

impl OutboxEvent {
    pub fn new<M: prost::Name>(event_id: Uuid, topic: &'static str, key: impl Into<String>, message: &M) -> Self {
        Self { event_id, topic, key: key.into(), type_url: M::type_url(), payload: message.encode_to_vec() }
    }
}

/// Publishes one event in the caller's transaction.
pub async fn publish(conn: &mut PgConnection, event: &OutboxEvent) -> Result<(), sqlx::Error> {
    publish_all(conn, std::slice::from_ref(event)).await
}

/// Publishes many events in one statement, in the given order.
pub async fn publish_all(conn: &mut PgConnection, events: &[OutboxEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(events.len());
    let mut topics = Vec::with_capacity(events.len());
    let mut keys = Vec::with_capacity(events.len());
    let mut types = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    for e in events {
        ids.push(e.event_id);
        topics.push(e.topic);
        keys.push(e.key.as_str());
        types.push(e.type_url.as_str());
        payloads.push(e.payload.as_slice());
    }
    // WITH ORDINALITY keeps the caller's order in the identity sequence.
    sqlx::query(
        "INSERT INTO outbox (event_id, topic, key, type_url, payload)
         SELECT id, topic, key, type_url, payload
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[])
              WITH ORDINALITY AS e(id, topic, key, type_url, payload, n)
         ORDER BY n
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&topics)
    .bind(&keys)
    .bind(&types)
    .bind(&payloads)
    .execute(conn)
    .await?;
    Ok(())
}
