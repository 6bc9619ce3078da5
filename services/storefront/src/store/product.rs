use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::parse;
use crate::domain::{ProductStatus, StockStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRecord {
    pub product_id: Uuid,
    pub supplier_id: String,
    pub title: String,
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    pub image_urls: Vec<String>,
    pub category: String,
    pub stock_status: StockStatus,
    pub status: ProductStatus,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawal_reason: Option<String>,
    pub request_id: String,
}

pub(super) struct ProductRow {
    pub product_id: Uuid,
    pub supplier_id: String,
    pub title: String,
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    pub image_urls: Vec<String>,
    pub category: String,
    pub stock_status: String,
    pub status: String,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawal_reason: Option<String>,
    pub request_id: String,
}

impl TryFrom<ProductRow> for ProductRecord {
    type Error = sqlx::Error;
    fn try_from(r: ProductRow) -> Result<Self, Self::Error> {
        Ok(ProductRecord {
            stock_status: parse("stock_status", &r.stock_status, StockStatus::parse)?,
            status: parse("status", &r.status, ProductStatus::parse)?,
            product_id: r.product_id,
            supplier_id: r.supplier_id,
            title: r.title,
            description: r.description,
            price_minor: r.price_minor,
            currency: r.currency,
            image_urls: r.image_urls,
            category: r.category,
            published_at: r.published_at,
            updated_at: r.updated_at,
            withdrawn_at: r.withdrawn_at,
            withdrawal_reason: r.withdrawal_reason,
            request_id: r.request_id,
        })
    }
}

/// Stores a product; false when the supplier already used the request id.
pub async fn insert(db: impl PgExecutor<'_>, p: &ProductRecord) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO product (product_id, supplier_id, title, description, price_minor, currency, image_urls,
                              category, stock_status, status, published_at, updated_at, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT ON CONSTRAINT product_request_unique DO NOTHING",
        p.product_id,
        p.supplier_id,
        p.title,
        p.description,
        p.price_minor,
        p.currency,
        &p.image_urls,
        p.category,
        p.stock_status.as_str(),
        p.status.as_str(),
        p.published_at,
        p.updated_at,
        p.request_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_request(
    db: impl PgExecutor<'_>,
    supplier_id: &str,
    request_id: &str,
) -> Result<Option<ProductRecord>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "SELECT * FROM product WHERE supplier_id = $1 AND request_id = $2",
        supplier_id,
        request_id
    )
    .fetch_optional(db)
    .await?
    .map(TryInto::try_into)
    .transpose()
}

pub async fn get(db: impl PgExecutor<'_>, product_id: Uuid) -> Result<Option<ProductRecord>, sqlx::Error> {
    sqlx::query_as!(ProductRow, "SELECT * FROM product WHERE product_id = $1", product_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Reads the products among `product_ids` that exist and holds them against changes
/// until commit (a withdrawal waits, then sees the listings this transaction added).
pub async fn get_many_for_share(
    db: impl PgExecutor<'_>,
    product_ids: &[Uuid],
) -> Result<Vec<ProductRecord>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "SELECT * FROM product WHERE product_id = ANY($1::uuid[]) ORDER BY product_id FOR SHARE",
        product_ids
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

/// The products among `product_ids` that exist.
pub async fn get_many(db: impl PgExecutor<'_>, product_ids: &[Uuid]) -> Result<Vec<ProductRecord>, sqlx::Error> {
    sqlx::query_as!(ProductRow, "SELECT * FROM product WHERE product_id = ANY($1::uuid[])", product_ids)
        .fetch_all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// Reads and locks the product until the transaction ends.
pub async fn get_for_update(db: impl PgExecutor<'_>, product_id: Uuid) -> Result<Option<ProductRecord>, sqlx::Error> {
    sqlx::query_as!(ProductRow, "SELECT * FROM product WHERE product_id = $1 FOR UPDATE", product_id)
        .fetch_optional(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Writes the supplier-editable fields and the status.
pub async fn update(db: impl PgExecutor<'_>, p: &ProductRecord) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE product SET title = $2, description = $3, price_minor = $4, currency = $5, image_urls = $6,
                            category = $7, stock_status = $8, status = $9, updated_at = $10,
                            withdrawn_at = $11, withdrawal_reason = $12
         WHERE product_id = $1",
        p.product_id,
        p.title,
        p.description,
        p.price_minor,
        p.currency,
        &p.image_urls,
        p.category,
        p.stock_status.as_str(),
        p.status.as_str(),
        p.updated_at,
        p.withdrawn_at,
        p.withdrawal_reason
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A supplier's products, newest first, withdrawn ones included.
pub async fn list_by_supplier(
    db: impl PgExecutor<'_>,
    supplier_id: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ProductRecord>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    sqlx::query_as!(
        ProductRow,
        "SELECT * FROM product
         WHERE supplier_id = $1 AND ($2::timestamptz IS NULL OR (published_at, product_id) < ($2, $3))
         ORDER BY published_at DESC, product_id DESC
         LIMIT $4",
        supplier_id,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

/// An active product with the rate in force now.
#[derive(Debug, Clone)]
pub struct Offer {
    pub product: ProductRecord,
    pub rate_bps: i32,
}

/// What promoters search by.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// An `ILIKE` pattern, already escaped.
    pub pattern: Option<String>,
    pub category: Option<String>,
    pub min_rate_bps: i32,
    pub max_rate_bps: i32,
}

struct OfferRow {
    product_id: Uuid,
    supplier_id: String,
    title: String,
    description: String,
    price_minor: i64,
    currency: String,
    image_urls: Vec<String>,
    category: String,
    stock_status: String,
    status: String,
    published_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    withdrawn_at: Option<DateTime<Utc>>,
    withdrawal_reason: Option<String>,
    request_id: String,
    rate_bps: i32,
}

impl TryFrom<OfferRow> for Offer {
    type Error = sqlx::Error;
    fn try_from(r: OfferRow) -> Result<Self, Self::Error> {
        let rate_bps = r.rate_bps;
        let product = ProductRow {
            product_id: r.product_id,
            supplier_id: r.supplier_id,
            title: r.title,
            description: r.description,
            price_minor: r.price_minor,
            currency: r.currency,
            image_urls: r.image_urls,
            category: r.category,
            stock_status: r.stock_status,
            status: r.status,
            published_at: r.published_at,
            updated_at: r.updated_at,
            withdrawn_at: r.withdrawn_at,
            withdrawal_reason: r.withdrawal_reason,
            request_id: r.request_id,
        };
        Ok(Offer { product: product.try_into()?, rate_bps })
    }
}

/// Active products with a rate in force at `now`, highest rate first.
pub async fn search_by_rate(
    db: impl PgExecutor<'_>,
    filter: &SearchFilter,
    now: DateTime<Utc>,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> Result<Vec<Offer>, sqlx::Error> {
    let (after_rate, after_id) = after.unzip();
    sqlx::query_as!(
        OfferRow,
        r#"SELECT p.*, cr.rate_bps AS "rate_bps!"
           FROM product p
           CROSS JOIN LATERAL (
               SELECT r.rate_bps FROM commission_rate r
               WHERE r.product_id = p.product_id AND r.effective_from <= $1
               ORDER BY r.effective_from DESC LIMIT 1
           ) cr
           WHERE p.status = 'active'
             AND ($2::text IS NULL OR p.title ILIKE $2 OR p.description ILIKE $2)
             AND ($3::text IS NULL OR p.category = $3)
             AND cr.rate_bps BETWEEN $4 AND $5
             AND ($6::int IS NULL OR (cr.rate_bps, p.product_id) < ($6, $7))
           ORDER BY cr.rate_bps DESC, p.product_id DESC
           LIMIT $8"#,
        now,
        filter.pattern,
        filter.category,
        filter.min_rate_bps,
        filter.max_rate_bps,
        after_rate,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

/// Active products with a rate in force at `now`, newest first.
pub async fn search_by_newest(
    db: impl PgExecutor<'_>,
    filter: &SearchFilter,
    now: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Offer>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    sqlx::query_as!(
        OfferRow,
        r#"SELECT p.*, cr.rate_bps AS "rate_bps!"
           FROM product p
           CROSS JOIN LATERAL (
               SELECT r.rate_bps FROM commission_rate r
               WHERE r.product_id = p.product_id AND r.effective_from <= $1
               ORDER BY r.effective_from DESC LIMIT 1
           ) cr
           WHERE p.status = 'active'
             AND ($2::text IS NULL OR p.title ILIKE $2 OR p.description ILIKE $2)
             AND ($3::text IS NULL OR p.category = $3)
             AND cr.rate_bps BETWEEN $4 AND $5
             AND ($6::timestamptz IS NULL OR (p.published_at, p.product_id) < ($6, $7))
           ORDER BY p.published_at DESC, p.product_id DESC
           LIMIT $8"#,
        now,
        filter.pattern,
        filter.category,
        filter.min_rate_bps,
        filter.max_rate_bps,
        after_time,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}
