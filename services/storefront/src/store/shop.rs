use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::parse;
use crate::domain::ShopStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopRecord {
    pub shop_id: Uuid,
    pub promoter_id: String,
    pub name: String,
    pub description: String,
    pub status: ShopStatus,
    pub listing_count: i32,
    pub opened_at: DateTime<Utc>,
    pub status_since: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes whenever the public page would.
    pub page_version: i64,
}

struct ShopRow {
    shop_id: Uuid,
    promoter_id: String,
    name: String,
    description: String,
    status: String,
    listing_count: i32,
    opened_at: DateTime<Utc>,
    status_since: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    page_version: i64,
}

impl TryFrom<ShopRow> for ShopRecord {
    type Error = sqlx::Error;
    fn try_from(r: ShopRow) -> Result<Self, Self::Error> {
        Ok(ShopRecord {
            status: parse("status", &r.status, ShopStatus::parse)?,
            shop_id: r.shop_id,
            promoter_id: r.promoter_id,
            name: r.name,
            description: r.description,
            listing_count: r.listing_count,
            opened_at: r.opened_at,
            status_since: r.status_since,
            updated_at: r.updated_at,
            page_version: r.page_version,
        })
    }
}

/// Serialises opening a promoter's shop with applying their status changes.
pub async fn lock_promoter(conn: &mut PgConnection, promoter_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended('promoter:' || $1, 0))", promoter_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn by_promoter(db: impl PgExecutor<'_>, promoter_id: &str) -> Result<Option<ShopRecord>, sqlx::Error> {
    sqlx::query_as!(ShopRow, "SELECT * FROM shop WHERE promoter_id = $1", promoter_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

pub async fn get(db: impl PgExecutor<'_>, shop_id: Uuid) -> Result<Option<ShopRecord>, sqlx::Error> {
    sqlx::query_as!(ShopRow, "SELECT * FROM shop WHERE shop_id = $1", shop_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Reads and locks the shop row: every change to its listings takes this lock first,
/// which is what makes the 1000-listing cap hold under concurrency.
pub async fn get_for_update(db: impl PgExecutor<'_>, shop_id: Uuid) -> Result<Option<ShopRecord>, sqlx::Error> {
    sqlx::query_as!(ShopRow, "SELECT * FROM shop WHERE shop_id = $1 FOR UPDATE", shop_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

pub async fn insert(db: impl PgExecutor<'_>, s: &ShopRecord) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO shop (shop_id, promoter_id, name, description, status, listing_count, opened_at, status_since,
                           updated_at, page_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        s.shop_id,
        s.promoter_id,
        s.name,
        s.description,
        s.status.as_str(),
        s.listing_count,
        s.opened_at,
        s.status_since,
        s.updated_at,
        s.page_version
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn update_details(
    db: impl PgExecutor<'_>,
    shop_id: Uuid,
    name: &str,
    description: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE shop SET name = $2, description = $3, updated_at = $4 WHERE shop_id = $1",
        shop_id,
        name,
        description,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_status(
    db: impl PgExecutor<'_>,
    shop_id: Uuid,
    status: ShopStatus,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE shop SET status = $2, status_since = $3, updated_at = $3, page_version = page_version + 1
         WHERE shop_id = $1",
        shop_id,
        status.as_str(),
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Adds `delta` to the shop's count of active listings (its page changes too).
pub async fn adjust_listing_count(db: impl PgExecutor<'_>, shop_id: Uuid, delta: i32) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE shop SET listing_count = listing_count + $2, page_version = page_version + 1 WHERE shop_id = $1",
        shop_id,
        delta
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Marks the shop's page changed (a reason edited, listings reordered).
pub async fn touch_page(db: impl PgExecutor<'_>, shop_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE shop SET page_version = page_version + 1 WHERE shop_id = $1", shop_id).execute(db).await?;
    Ok(())
}

/// Locks, in shop id order, every shop listing `product_id` now: a withdrawal takes
/// them before it touches their listings, the order an add or a removal takes a shop
/// and then its listings, so the two never wait for each other in a cycle.
pub async fn lock_listing(conn: &mut sqlx::PgConnection, product_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT shop_id FROM shop
         WHERE shop_id IN (SELECT shop_id FROM listing WHERE product_id = $1 AND removed_at IS NULL)
         ORDER BY shop_id FOR UPDATE",
        product_id
    )
    .fetch_all(conn)
    .await?;
    Ok(())
}

/// Marks changed the pages of every shop listing `product_id` (its data changed).
pub async fn touch_pages_listing(db: impl PgExecutor<'_>, product_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE shop SET page_version = page_version + 1
         WHERE shop_id IN (SELECT shop_id FROM listing WHERE product_id = $1 AND removed_at IS NULL)",
        product_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Whether eligibility's feed last said the promoter is suspended.
pub async fn promoter_suspended(db: impl PgExecutor<'_>, promoter_id: &str) -> Result<Option<bool>, sqlx::Error> {
    let row = sqlx::query!("SELECT suspended FROM promoter_standing WHERE promoter_id = $1", promoter_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.suspended))
}

/// Records what eligibility said of the promoter; false when the change is stale.
pub async fn set_promoter_standing(
    db: impl PgExecutor<'_>,
    promoter_id: &str,
    suspended: bool,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // A change older than the one on record is stale (it was overtaken): ignored.
    let done = sqlx::query!(
        "INSERT INTO promoter_standing (promoter_id, suspended, changed_at) VALUES ($1, $2, $3)
         ON CONFLICT (promoter_id) DO UPDATE SET suspended = EXCLUDED.suspended, changed_at = EXCLUDED.changed_at
         WHERE promoter_standing.changed_at <= EXCLUDED.changed_at",
        promoter_id,
        suspended,
        at
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
