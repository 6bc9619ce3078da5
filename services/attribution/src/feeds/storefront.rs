//! Keeps the storefront read model from the storefront's feed, and re-decides the
//! lines a late fact can change (a listing, rate, link or shop status that arrived
//! after the payment it describes), so the outcome never depends on feed lag.
use prost::Name;
use xiaopu_api::{feed::Event, storefront as sf, topics};
use xiaopu_common::{
    feed::{ApplyError, EventHandler, decode_payload},
    time::{SharedClock, from_timestamp},
};
use xiaopu_money::Bps;

use crate::{
    app::Engine,
    store::{self, lines, read_model},
};

pub struct StorefrontFeed {
    pub engine: Engine,
    pub clock: SharedClock,
}

fn time(event: &Event, ts: Option<&prost_types::Timestamp>) -> Result<chrono::DateTime<chrono::Utc>, ApplyError> {
    ts.and_then(from_timestamp).ok_or_else(|| ApplyError::Malformed {
        event_id: event.event_id.clone(),
        why: "missing or invalid time".into(),
    })
}

fn uuid(event: &Event, value: &str) -> Result<uuid::Uuid, ApplyError> {
    uuid::Uuid::parse_str(value)
        .map_err(|_| ApplyError::Malformed { event_id: event.event_id.clone(), why: format!("`{value}` is not an id") })
}

/// Whether the event carries an `M` (topics with more than one message type).
fn payload_is<M: Name>(event: &Event) -> bool {
    event.payload.as_ref().is_some_and(|p| p.type_url == M::type_url())
}

fn optional_uuid(event: &Event, value: &str) -> Result<Option<uuid::Uuid>, ApplyError> {
    if value.is_empty() { Ok(None) } else { uuid(event, value).map(Some) }
}

impl EventHandler for StorefrontFeed {
    async fn apply(&self, conn: &mut sqlx::PgConnection, event: &Event) -> Result<(), ApplyError> {
        // No ingest decides lines while the read model changes under it.
        store::own_read_model(conn).await?;
        let now = self.clock.now();
        let affected = match event.topic.as_str() {
            topics::LISTING => {
                let l: sf::ListingChanged = decode_payload(event)?;
                let listing = read_model::Listing {
                    listing_id: uuid(event, &l.listing_id)?,
                    shop_id: uuid(event, &l.shop_id)?,
                    promoter_id: l.promoter_id.clone(),
                    product_id: uuid(event, &l.product_id)?,
                    listed_at: time(event, l.listed_at.as_ref())?,
                    removed_at: l.removed_at.as_ref().and_then(from_timestamp),
                };
                read_model::upsert_listing(conn, &listing).await?;
                lines::through_shop_since(conn, listing.shop_id, Some(listing.product_id), listing.listed_at).await?
            }
            topics::RATE if payload_is::<sf::CommissionRateCancelled>(event) => {
                let r: sf::CommissionRateCancelled = decode_payload(event)?;
                let product = uuid(event, &r.product_id)?;
                let from = time(event, r.effective_from.as_ref())?;
                read_model::delete_rate(conn, uuid(event, &r.rate_id)?).await?;
                // Normally none yet; a feed that lagged past the effective time
                // re-decides what it snapshotted.
                lines::of_product_since(conn, product, from).await?
            }
            topics::RATE => {
                let r: sf::CommissionRateSet = decode_payload(event)?;
                let product = uuid(event, &r.product_id)?;
                let from = time(event, r.effective_from.as_ref())?;
                let rate = Bps::new(r.rate_bps).ok_or_else(|| ApplyError::Malformed {
                    event_id: event.event_id.clone(),
                    why: format!("rate_bps {} is not a rate of 0 to 100 %", r.rate_bps),
                })?;
                read_model::insert_rate(conn, uuid(event, &r.rate_id)?, product, rate, from).await?;
                lines::of_product_since(conn, product, from).await?
            }
            topics::PRODUCT if payload_is::<sf::ProductCategorized>(event) => {
                let c: sf::ProductCategorized = decode_payload(event)?;
                let product = uuid(event, &c.product_id)?;
                let since = time(event, c.categorized_at.as_ref())?;
                read_model::categorize(conn, product, &c.category, since).await?;
                // Group rules may apply per category: what was paid since is decided again.
                lines::of_product_since(conn, product, since).await?
            }
            topics::PRODUCT => {
                if payload_is::<sf::ProductPublished>(event) {
                    let p: sf::ProductPublished = decode_payload(event)?;
                    let at = time(event, p.published_at.as_ref())?;
                    let product = uuid(event, &p.product_id)?;
                    read_model::publish_product(conn, product, &p.supplier_id, at).await?;
                    if !p.category.is_empty() {
                        read_model::categorize(conn, product, &p.category, at).await?;
                    }
                } else {
                    let p: sf::ProductWithdrawn = decode_payload(event)?;
                    let at = time(event, p.withdrawn_at.as_ref())?;
                    read_model::withdraw_product(conn, uuid(event, &p.product_id)?, &p.supplier_id, at).await?;
                }
                // Listings end with their own events; those re-decide what they move.
                Vec::new()
            }
            topics::SHARE_LINK => {
                let changed: sf::ShareLinkChanged = decode_payload(event)?;
                let Some(l) = changed.share_link else { return Ok(()) };
                let link = read_model::ShareLink {
                    shop_id: uuid(event, &l.shop_id)?,
                    listing_id: optional_uuid(event, &l.listing_id)?,
                    product_id: optional_uuid(event, &l.product_id)?,
                    channel: l.channel().as_str_name().to_lowercase(),
                    created_at: time(event, l.created_at.as_ref())?,
                    revoked_at: l.revoked_at.as_ref().and_then(from_timestamp),
                    promoter_id: l.promoter_id,
                    code: l.code,
                };
                read_model::upsert_share_link(conn, &link).await?;
                lines::using_code(conn, &link.code).await?
            }
            topics::SHOP => {
                let s: sf::ShopStatusChanged = decode_payload(event)?;
                let shop = uuid(event, &s.shop_id)?;
                let at = time(event, s.changed_at.as_ref())?;
                let status = if s.status() == sf::ShopStatus::Suspended { "suspended" } else { "active" };
                read_model::insert_shop_status(conn, shop, &s.promoter_id, status, at).await?;
                lines::through_shop_since(conn, shop, None, at).await?
            }
            _ => return Ok(()),
        };
        self.engine.reevaluate(conn, affected, &event.event_id, now).await?;
        Ok(())
    }
}
