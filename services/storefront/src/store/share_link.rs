use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::parse;
use crate::domain::{Channel, ProductStatus, ShopStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLinkRecord {
    pub code: String,
    pub shop_id: Uuid,
    pub promoter_id: String,
    pub listing_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub channel: Channel,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub request_id: String,
    /// Chosen by the promoter (口令), not drawn.
    pub promo_code: bool,
}

struct ShareLinkRow {
    code: String,
    shop_id: Uuid,
    promoter_id: String,
    listing_id: Option<Uuid>,
    product_id: Option<Uuid>,
    channel: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    request_id: String,
    promo_code: bool,
}

impl TryFrom<ShareLinkRow> for ShareLinkRecord {
    type Error = sqlx::Error;
    fn try_from(r: ShareLinkRow) -> Result<Self, Self::Error> {
        Ok(ShareLinkRecord {
            channel: parse("channel", &r.channel, Channel::parse)?,
            code: r.code,
            shop_id: r.shop_id,
            promoter_id: r.promoter_id,
            listing_id: r.listing_id,
            product_id: r.product_id,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            request_id: r.request_id,
            promo_code: r.promo_code,
        })
    }
}

/// Stores a link; false when the promoter already used the request id. A code that
/// already exists is a unique violation of `share_link_pkey` (draw another).
pub async fn insert(db: impl PgExecutor<'_>, l: &ShareLinkRecord) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO share_link (code, shop_id, promoter_id, listing_id, product_id, channel, created_at, request_id,
                                 promo_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT ON CONSTRAINT share_link_request_unique DO NOTHING",
        l.code,
        l.shop_id,
        l.promoter_id,
        l.listing_id,
        l.product_id,
        l.channel.as_str(),
        l.created_at,
        l.request_id,
        l.promo_code
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_request(
    db: impl PgExecutor<'_>,
    promoter_id: &str,
    request_id: &str,
) -> Result<Option<ShareLinkRecord>, sqlx::Error> {
    sqlx::query_as!(
        ShareLinkRow,
        "SELECT * FROM share_link WHERE promoter_id = $1 AND request_id = $2",
        promoter_id,
        request_id
    )
    .fetch_optional(db)
    .await?
    .map(TryInto::try_into)
    .transpose()
}

/// The link of the first of `forms` (a code as typed, then its promo form) that
/// exists; no lookup for none (a malformed code).
pub async fn get(db: impl PgExecutor<'_>, forms: &[String]) -> Result<Option<ShareLinkRecord>, sqlx::Error> {
    if forms.is_empty() {
        return Ok(None);
    }
    sqlx::query_as!(
        ShareLinkRow,
        "SELECT * FROM share_link WHERE code = ANY($1) ORDER BY array_position($1, code) LIMIT 1",
        forms
    )
    .fetch_optional(db)
    .await?
    .map(TryInto::try_into)
    .transpose()
}

/// A link with what decides whether it still resolves.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub link: ShareLinkRecord,
    pub shop_name: String,
    pub shop_status: ShopStatus,
    /// For a listing link: the product's status and whether the listing is active.
    pub product_status: Option<ProductStatus>,
    pub listing_active: Option<bool>,
}

/// [`get`] with what decides whether the link still resolves.
pub async fn resolve(db: impl PgExecutor<'_>, forms: &[String]) -> Result<Option<Resolution>, sqlx::Error> {
    if forms.is_empty() {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"SELECT s.code, s.shop_id, s.promoter_id, s.listing_id, s.product_id, s.channel, s.created_at,
                  s.revoked_at, s.request_id, s.promo_code, sh.name AS shop_name, sh.status AS shop_status,
                  p.status AS "product_status?", (l.removed_at IS NULL) AS "listing_active?"
           FROM share_link s
           JOIN shop sh ON sh.shop_id = s.shop_id
           LEFT JOIN product p ON p.product_id = s.product_id
           LEFT JOIN listing l ON l.listing_id = s.listing_id
           WHERE s.code = ANY($1) ORDER BY array_position($1, s.code) LIMIT 1"#,
        forms
    )
    .fetch_optional(db)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let link = ShareLinkRow {
        code: r.code,
        shop_id: r.shop_id,
        promoter_id: r.promoter_id,
        listing_id: r.listing_id,
        product_id: r.product_id,
        channel: r.channel,
        created_at: r.created_at,
        revoked_at: r.revoked_at,
        request_id: r.request_id,
        promo_code: r.promo_code,
    };
    Ok(Some(Resolution {
        link: link.try_into()?,
        shop_name: r.shop_name,
        shop_status: parse("status", &r.shop_status, ShopStatus::parse)?,
        product_status: r.product_status.map(|s| parse("status", &s, ProductStatus::parse)).transpose()?,
        listing_active: if r.listing_id.is_some() { r.listing_active } else { None },
    }))
}

/// Revokes an active link; None when it was not active.
pub async fn revoke(
    db: impl PgExecutor<'_>,
    code: &str,
    at: DateTime<Utc>,
) -> Result<Option<ShareLinkRecord>, sqlx::Error> {
    sqlx::query_as!(
        ShareLinkRow,
        "UPDATE share_link SET revoked_at = $2 WHERE code = $1 AND revoked_at IS NULL RETURNING *",
        code,
        at
    )
    .fetch_optional(db)
    .await?
    .map(TryInto::try_into)
    .transpose()
}

/// A shop's links, newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    shop_id: Uuid,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<ShareLinkRecord>, sqlx::Error> {
    let (after_time, after_code) = after.unzip();
    sqlx::query_as!(
        ShareLinkRow,
        "SELECT * FROM share_link
         WHERE shop_id = $1 AND ($2::timestamptz IS NULL OR (created_at, code) < ($2, $3))
         ORDER BY created_at DESC, code DESC
         LIMIT $4",
        shop_id,
        after_time,
        after_code,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

/// How many live promo codes a shop has.
pub async fn live_promo_codes(db: impl PgExecutor<'_>, shop_id: Uuid) -> Result<i64, sqlx::Error> {
    let n = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM share_link WHERE shop_id = $1 AND promo_code AND revoked_at IS NULL"#,
        shop_id
    )
    .fetch_one(db)
    .await?;
    Ok(n)
}

/// A visitor's misses in the window as stored: (window start, misses).
pub async fn guesses(db: impl PgExecutor<'_>, visitor_key: &str) -> Result<Option<(DateTime<Utc>, i32)>, sqlx::Error> {
    let row = sqlx::query!("SELECT window_start, misses FROM code_guess WHERE visitor_key = $1", visitor_key)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| (r.window_start, r.misses)))
}

/// Records a visitor's miss: one more in the window begun at `window_start`, or the
/// first of a new one.
pub async fn record_miss(
    db: impl PgExecutor<'_>,
    visitor_key: &str,
    now: DateTime<Utc>,
    window_start_after: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO code_guess (visitor_key, window_start, misses) VALUES ($1, $2, 1)
         ON CONFLICT (visitor_key) DO UPDATE SET
             misses = CASE WHEN code_guess.window_start > $3 THEN code_guess.misses + 1 ELSE 1 END,
             window_start = CASE WHEN code_guess.window_start > $3 THEN code_guess.window_start ELSE $2 END",
        visitor_key,
        now,
        window_start_after
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes misses of windows that ended before `before`.
pub async fn prune_guesses(db: impl PgExecutor<'_>, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!("DELETE FROM code_guess WHERE window_start < $1", before).execute(db).await?;
    Ok(done.rows_affected())
}
