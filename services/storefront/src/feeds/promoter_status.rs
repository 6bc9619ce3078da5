//! Applies eligibility's `PromoterStatusChanged` events: a suspended promoter's shop
//! is suspended, a reinstated one's reactivated. Idempotent: applying the same change
//! twice changes the shop once.
use xiaopu_api::{
    eligibility::{PromoterStatus, PromoterStatusChanged},
    feed::Event,
    topics,
};
use xiaopu_common::{
    feed::{ApplyError, EventHandler, decode_payload, publish},
    time::{SharedClock, from_timestamp},
};

use crate::{app::events, domain::shop_status_for, store};

pub struct PromoterStatusHandler {
    pub clock: SharedClock,
}

impl EventHandler for PromoterStatusHandler {
    async fn apply(&self, conn: &mut sqlx::PgConnection, event: &Event) -> Result<(), ApplyError> {
        if event.topic != topics::PROMOTER_STATUS {
            return Ok(());
        }
        let change: PromoterStatusChanged = decode_payload(event)?;
        let suspended = match change.status() {
            PromoterStatus::Suspended => true,
            PromoterStatus::Approved => false,
            // Refused or never scored: they cannot have a shop to change.
            _ => return Ok(()),
        };
        let at = change.changed_at.as_ref().and_then(from_timestamp).unwrap_or_else(|| self.clock.now());
        store::shop::lock_promoter(conn, &change.person_id).await?;
        if !store::shop::set_promoter_standing(&mut *conn, &change.person_id, suspended, at).await? {
            return Ok(());
        }
        let Some(mut shop) = store::shop::by_promoter(&mut *conn, &change.person_id).await? else {
            return Ok(());
        };
        let status = shop_status_for(suspended);
        if shop.status == status {
            return Ok(());
        }
        store::shop::set_status(&mut *conn, shop.shop_id, status, at).await?;
        shop.status = status;
        shop.status_since = at;
        publish(conn, &events::shop_status_changed(&shop)).await?;
        tracing::info!(shop_id = %shop.shop_id, promoter_id = %shop.promoter_id, status = status.as_str(), "shop status follows eligibility");
        Ok(())
    }
}
