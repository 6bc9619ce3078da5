//! The storefront read model, written from its feed only.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;
use xiaopu_money::Bps;

pub async fn publish_product(
    conn: &mut PgConnection,
    product_id: Uuid,
    supplier_id: &str,
    published_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO rm_product (product_id, supplier_id, published_at) VALUES ($1, $2, $3)
         ON CONFLICT (product_id) DO NOTHING",
        product_id,
        supplier_id,
        published_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn withdraw_product(
    conn: &mut PgConnection,
    product_id: Uuid,
    supplier_id: &str,
    withdrawn_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO rm_product (product_id, supplier_id, published_at, withdrawn_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (product_id) DO UPDATE SET withdrawn_at = EXCLUDED.withdrawn_at",
        product_id,
        supplier_id,
        withdrawn_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct ShareLink {
    pub code: String,
    pub shop_id: Uuid,
    pub promoter_id: String,
    pub listing_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub channel: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn upsert_share_link(conn: &mut PgConnection, l: &ShareLink) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO rm_share_link (code, shop_id, promoter_id, listing_id, product_id, channel, created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (code) DO UPDATE SET revoked_at = COALESCE(EXCLUDED.revoked_at, rm_share_link.revoked_at)",
        l.code,
        l.shop_id,
        l.promoter_id,
        l.listing_id,
        l.product_id,
        l.channel,
        l.created_at,
        l.revoked_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct Listing {
    pub listing_id: Uuid,
    pub shop_id: Uuid,
    pub promoter_id: String,
    pub product_id: Uuid,
    pub listed_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

pub async fn upsert_listing(conn: &mut PgConnection, l: &Listing) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO rm_listing (listing_id, shop_id, promoter_id, product_id, listed_at, removed_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (listing_id) DO UPDATE SET removed_at = COALESCE(EXCLUDED.removed_at, rm_listing.removed_at)",
        l.listing_id,
        l.shop_id,
        l.promoter_id,
        l.product_id,
        l.listed_at,
        l.removed_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_rate(
    conn: &mut PgConnection,
    rate_id: Uuid,
    product_id: Uuid,
    rate: Bps,
    effective_from: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO rm_rate (rate_id, product_id, rate_bps, effective_from) VALUES ($1, $2, $3, $4)
         ON CONFLICT (rate_id) DO NOTHING",
        rate_id,
        product_id,
        rate.get(),
        effective_from
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A scheduled rate its supplier cancelled: it never applies.
pub async fn delete_rate(conn: &mut PgConnection, rate_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM rm_rate WHERE rate_id = $1", rate_id).execute(conn).await?;
    Ok(())
}

pub async fn insert_shop_status(
    conn: &mut PgConnection,
    shop_id: Uuid,
    promoter_id: &str,
    status: &str,
    changed_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO rm_shop_status (shop_id, changed_at, promoter_id, status) VALUES ($1, $2, $3, $4)
         ON CONFLICT (shop_id, changed_at) DO UPDATE SET status = EXCLUDED.status",
        shop_id,
        changed_at,
        promoter_id,
        status
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The supplier of each known product among `product_ids`.
pub async fn suppliers(db: impl PgExecutor<'_>, product_ids: &[Uuid]) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let rows =
        sqlx::query!("SELECT product_id, supplier_id FROM rm_product WHERE product_id = ANY($1::uuid[])", product_ids)
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|r| (r.product_id, r.supplier_id)).collect())
}

/// The product's category from `since` on (the storefront's feed).
pub async fn categorize(
    conn: &mut PgConnection,
    product_id: Uuid,
    category: &str,
    since: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO rm_product_category (product_id, since, category) VALUES ($1, $2, $3)
         ON CONFLICT (product_id, since) DO UPDATE SET category = EXCLUDED.category",
        product_id,
        since,
        category
    )
    .execute(conn)
    .await?;
    Ok(())
}
