use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::{parse, product::ProductRecord};
use crate::domain::{ProductStatus, RemovalReason, StockStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingRecord {
    pub listing_id: Uuid,
    pub shop_id: Uuid,
    pub product_id: Uuid,
    pub recommendation_reason: String,
    pub position: i32,
    pub listed_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    pub removal_reason: Option<RemovalReason>,
}

struct ListingRow {
    listing_id: Uuid,
    shop_id: Uuid,
    product_id: Uuid,
    recommendation_reason: String,
    position: i32,
    listed_at: DateTime<Utc>,
    removed_at: Option<DateTime<Utc>>,
    removal_reason: Option<String>,
}

impl TryFrom<ListingRow> for ListingRecord {
    type Error = sqlx::Error;
    fn try_from(r: ListingRow) -> Result<Self, Self::Error> {
        Ok(ListingRecord {
            removal_reason: r.removal_reason.map(|s| parse("removal_reason", &s, RemovalReason::parse)).transpose()?,
            listing_id: r.listing_id,
            shop_id: r.shop_id,
            product_id: r.product_id,
            recommendation_reason: r.recommendation_reason,
            position: r.position,
            listed_at: r.listed_at,
            removed_at: r.removed_at,
        })
    }
}

pub async fn get(db: impl PgExecutor<'_>, listing_id: Uuid) -> Result<Option<ListingRecord>, sqlx::Error> {
    sqlx::query_as!(ListingRow, "SELECT * FROM listing WHERE listing_id = $1", listing_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

pub async fn active(
    db: impl PgExecutor<'_>,
    shop_id: Uuid,
    product_id: Uuid,
) -> Result<Option<ListingRecord>, sqlx::Error> {
    sqlx::query_as!(
        ListingRow,
        "SELECT * FROM listing WHERE shop_id = $1 AND product_id = $2 AND removed_at IS NULL",
        shop_id,
        product_id
    )
    .fetch_optional(db)
    .await?
    .map(TryInto::try_into)
    .transpose()
}

/// How many shops list each of `product_ids` now (products listed nowhere are absent).
pub async fn active_counts(db: impl PgExecutor<'_>, product_ids: &[Uuid]) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT product_id, count(*) AS "shops!" FROM listing
           WHERE product_id = ANY($1::uuid[]) AND removed_at IS NULL GROUP BY product_id"#,
        product_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.product_id, r.shops)).collect())
}

/// The position after the shop's last active listing.
pub async fn next_position(db: impl PgExecutor<'_>, shop_id: Uuid) -> Result<i32, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT COALESCE(MAX(position), 0) + 1 AS "next!" FROM listing WHERE shop_id = $1 AND removed_at IS NULL"#,
        shop_id
    )
    .fetch_one(db)
    .await?;
    Ok(row.next)
}

/// Moves active listings at or after `position` one place down to make room.
pub async fn make_room_at(db: impl PgExecutor<'_>, shop_id: Uuid, position: i32) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE listing SET position = position + 1 WHERE shop_id = $1 AND removed_at IS NULL AND position >= $2",
        shop_id,
        position
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Inserts new listings (active, so without removal) in one statement.
pub async fn insert_many(db: impl PgExecutor<'_>, listings: &[ListingRecord]) -> Result<(), sqlx::Error> {
    if listings.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = listings.iter().map(|l| l.listing_id).collect();
    let shops: Vec<Uuid> = listings.iter().map(|l| l.shop_id).collect();
    let products: Vec<Uuid> = listings.iter().map(|l| l.product_id).collect();
    let reasons: Vec<&str> = listings.iter().map(|l| l.recommendation_reason.as_str()).collect();
    let positions: Vec<i32> = listings.iter().map(|l| l.position).collect();
    let times: Vec<DateTime<Utc>> = listings.iter().map(|l| l.listed_at).collect();
    sqlx::query!(
        "INSERT INTO listing (listing_id, shop_id, product_id, recommendation_reason, position, listed_at)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int[], $6::timestamptz[])",
        &ids,
        &shops,
        &products,
        &reasons as &[&str],
        &positions,
        &times
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Which of `product_ids` the shop lists now.
pub async fn active_products(
    db: impl PgExecutor<'_>,
    shop_id: Uuid,
    product_ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT product_id FROM listing WHERE shop_id = $1 AND product_id = ANY($2::uuid[]) AND removed_at IS NULL",
        shop_id,
        product_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.product_id).collect())
}

pub async fn set_reason(db: impl PgExecutor<'_>, listing_id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE listing SET recommendation_reason = $2 WHERE listing_id = $1", listing_id, reason)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends an active listing; None if it was not active.
pub async fn end(
    db: impl PgExecutor<'_>,
    listing_id: Uuid,
    at: DateTime<Utc>,
    reason: RemovalReason,
) -> Result<Option<ListingRecord>, sqlx::Error> {
    sqlx::query_as!(
        ListingRow,
        "UPDATE listing SET removed_at = $2, removal_reason = $3
         WHERE listing_id = $1 AND removed_at IS NULL
         RETURNING *",
        listing_id,
        at,
        reason.as_str()
    )
    .fetch_optional(db)
    .await?
    .map(TryInto::try_into)
    .transpose()
}

/// Ends every active listing of a withdrawn product, with each listing's shop.
pub async fn end_all_of_product(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Vec<(ListingRecord, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH ended AS (
               UPDATE listing SET removed_at = $2, removal_reason = 'product_withdrawn'
               WHERE product_id = $1 AND removed_at IS NULL
               RETURNING *
           ), counted AS (
               UPDATE shop SET listing_count = shop.listing_count - n.ended, page_version = shop.page_version + 1
               FROM (SELECT shop_id, count(*)::int AS ended FROM ended GROUP BY shop_id) n
               WHERE shop.shop_id = n.shop_id
               RETURNING shop.shop_id, shop.promoter_id
           )
           SELECT e.listing_id, e.shop_id, e.product_id, e.recommendation_reason, e.position, e.listed_at,
                  e.removed_at, e.removal_reason, c.promoter_id
           FROM ended e JOIN counted c USING (shop_id)
           ORDER BY e.shop_id, e.listing_id"#,
        product_id,
        at
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            let listing = ListingRow {
                listing_id: r.listing_id,
                shop_id: r.shop_id,
                product_id: r.product_id,
                recommendation_reason: r.recommendation_reason,
                position: r.position,
                listed_at: r.listed_at,
                removed_at: r.removed_at,
                removal_reason: r.removal_reason,
            };
            Ok((listing.try_into()?, r.promoter_id))
        })
        .collect()
}

/// (listing id, position) of every active listing of the shop.
pub async fn active_positions(db: impl PgExecutor<'_>, shop_id: Uuid) -> Result<Vec<(Uuid, i32)>, sqlx::Error> {
    let rows =
        sqlx::query!("SELECT listing_id, position FROM listing WHERE shop_id = $1 AND removed_at IS NULL", shop_id)
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|r| (r.listing_id, r.position)).collect())
}

pub async fn set_positions(db: impl PgExecutor<'_>, positions: &[(Uuid, i32)]) -> Result<(), sqlx::Error> {
    let (ids, places): (Vec<Uuid>, Vec<i32>) = positions.iter().copied().unzip();
    sqlx::query!(
        "UPDATE listing SET position = p.position
         FROM UNNEST($1::uuid[], $2::int[]) AS p(listing_id, position)
         WHERE listing.listing_id = p.listing_id",
        &ids,
        &places
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The listing of `product_id` in `shop_id` that covered `at`, if any.
pub async fn covering(
    db: impl PgExecutor<'_>,
    shop_id: Uuid,
    product_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<ListingRecord>, sqlx::Error> {
    sqlx::query_as!(
        ListingRow,
        "SELECT * FROM listing
         WHERE shop_id = $1 AND product_id = $2 AND listed_at <= $3 AND (removed_at IS NULL OR removed_at > $3)
         ORDER BY listed_at DESC LIMIT 1",
        shop_id,
        product_id,
        at
    )
    .fetch_optional(db)
    .await?
    .map(TryInto::try_into)
    .transpose()
}

/// A listing as the public page shows it.
#[derive(Debug, Clone)]
pub struct PublicRow {
    pub listing_id: Uuid,
    pub product_id: Uuid,
    pub recommendation_reason: String,
    pub position: i32,
    pub title: String,
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    pub image_urls: Vec<String>,
    pub category: String,
    pub stock_status: String,
}

/// A page of what consumers see: active listings of active products, in position
/// order; no rates (the public page never shows commission).
pub async fn public_page(
    db: impl PgExecutor<'_>,
    shop_id: Uuid,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> Result<Vec<PublicRow>, sqlx::Error> {
    let (after_position, after_id) = after.unzip();
    sqlx::query_as!(
        PublicRow,
        "SELECT l.listing_id, l.product_id, l.recommendation_reason, l.position, p.title, p.description,
                p.price_minor, p.currency, p.image_urls, p.category, p.stock_status
         FROM listing l JOIN product p ON p.product_id = l.product_id
         WHERE l.shop_id = $1 AND l.removed_at IS NULL AND p.status = 'active'
           AND ($2::int IS NULL OR (l.position, l.listing_id) > ($2, $3))
         ORDER BY l.position, l.listing_id
         LIMIT $4",
        shop_id,
        after_position,
        after_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// One listing as the public page shows it, if it is active and its product too.
pub async fn public_listing(db: impl PgExecutor<'_>, listing_id: Uuid) -> Result<Option<PublicRow>, sqlx::Error> {
    sqlx::query_as!(
        PublicRow,
        "SELECT l.listing_id, l.product_id, l.recommendation_reason, l.position, p.title, p.description,
                p.price_minor, p.currency, p.image_urls, p.category, p.stock_status
         FROM listing l JOIN product p ON p.product_id = l.product_id
         WHERE l.listing_id = $1 AND l.removed_at IS NULL AND p.status = 'active'",
        listing_id
    )
    .fetch_optional(db)
    .await
}

/// An active listing with its product and the rate in force.
#[derive(Debug, Clone)]
pub struct ListedProduct {
    pub listing: ListingRecord,
    pub product: ProductRecord,
    /// None when no rate is in force.
    pub rate_bps: Option<i32>,
}

/// A page of the shop's active listings of active products, in position order.
pub async fn page(
    db: impl PgExecutor<'_>,
    shop_id: Uuid,
    now: DateTime<Utc>,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> Result<Vec<ListedProduct>, sqlx::Error> {
    let (after_position, after_id) = after.unzip();
    let rows = sqlx::query!(
        r#"SELECT l.listing_id, l.shop_id, l.product_id, l.recommendation_reason, l.position, l.listed_at,
                  p.supplier_id, p.title, p.description, p.price_minor, p.currency, p.image_urls, p.category,
                  p.stock_status, p.status, p.published_at, p.updated_at, p.request_id,
                  cr.rate_bps AS "rate_bps?"
           FROM listing l
           JOIN product p ON p.product_id = l.product_id
           LEFT JOIN LATERAL (
               SELECT r.rate_bps FROM commission_rate r
               WHERE r.product_id = l.product_id AND r.effective_from <= $2
               ORDER BY r.effective_from DESC LIMIT 1
           ) cr ON true
           WHERE l.shop_id = $1 AND l.removed_at IS NULL AND p.status = 'active'
             AND ($3::int IS NULL OR (l.position, l.listing_id) > ($3, $4))
           ORDER BY l.position, l.listing_id
           LIMIT $5"#,
        shop_id,
        now,
        after_position,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ListedProduct {
                listing: ListingRecord {
                    listing_id: r.listing_id,
                    shop_id: r.shop_id,
                    product_id: r.product_id,
                    recommendation_reason: r.recommendation_reason,
                    position: r.position,
                    listed_at: r.listed_at,
                    removed_at: None,
                    removal_reason: None,
                },
                product: ProductRecord {
                    product_id: r.product_id,
                    supplier_id: r.supplier_id,
                    title: r.title,
                    description: r.description,
                    price_minor: r.price_minor,
                    currency: r.currency,
                    image_urls: r.image_urls,
                    category: r.category,
                    stock_status: parse("stock_status", &r.stock_status, StockStatus::parse)?,
                    status: parse("status", &r.status, ProductStatus::parse)?,
                    published_at: r.published_at,
                    updated_at: r.updated_at,
                    withdrawn_at: None,
                    withdrawal_reason: None,
                    request_id: r.request_id,
                },
                rate_bps: r.rate_bps,
            })
        })
        .collect()
}
