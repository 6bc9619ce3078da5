//! Applies attribution's `CommissionChanged` events to the ledger: each moves one
//! line's commission for one promoter, posted as the difference at the line's stage
//! (a clawback once settled). The consumer records the event id in the same
//! transaction, so a redelivery posts nothing.
use chrono::{DateTime, Utc};
use serde_json::json;
use xiaopu_api::{
    attribution::{self as pb, CommissionChanged},
    feed::Event,
    topics,
};
use xiaopu_common::{
    db::unknown_value,
    feed::{ApplyError, EventHandler, decode_payload},
    ids::{PromoterId, SupplierId},
    time::{SharedClock, from_timestamp},
};
use xiaopu_money::{Bps, Minor};

use crate::{
    app,
    domain::{
        LineState, Split, Stage,
        ledger::{self, JournalKind},
        split,
        webhooks::line_event,
    },
    store::{self, Journal, positions::Position},
};

pub struct CommissionFeed {
    /// The platform's fee on a line first seen now.
    pub fee: Bps,
    pub clock: SharedClock,
}

fn malformed(event: &Event, why: &str) -> ApplyError {
    ApplyError::Malformed { event_id: event.event_id.clone(), why: why.to_owned() }
}

fn time(event: &Event, ts: Option<&prost_types::Timestamp>, what: &str) -> Result<DateTime<Utc>, ApplyError> {
    ts.and_then(from_timestamp).ok_or_else(|| malformed(event, what))
}

impl EventHandler for CommissionFeed {
    async fn apply(&self, conn: &mut sqlx::PgConnection, event: &Event) -> Result<(), ApplyError> {
        if event.topic == topics::BUDGET {
            return super::budget::apply(conn, event, self.clock.now()).await;
        }
        if event.topic != topics::COMMISSION {
            return Ok(());
        }
        let c: CommissionChanged = decode_payload(event)?;
        let commission = c.commission.as_ref().ok_or_else(|| malformed(event, "no commission"))?;
        if commission.minor_units < 0 {
            return Err(malformed(event, "negative commission"));
        }
        let now = self.clock.now();
        let occurred_at = time(event, c.occurred_at.as_ref(), "no occurred_at")?;
        let existing = store::positions::get_for_update(conn, &c.line_id, &c.promoter_id).await?;
        // A line keeps the fee rate it was first split at.
        let fee = match existing.as_ref() {
            Some(p) => Bps::new(p.fee_bps).ok_or_else(|| unknown_value("position.fee_bps", &p.fee_bps.to_string()))?,
            None => self.fee,
        };
        let before = existing.as_ref().map_or(Split::default(), |p| Split {
            commission: Minor::new(p.commission),
            fee: Minor::new(p.fee),
            share: Minor::new(p.share),
        });
        let after = split(Minor::new(commission.minor_units), fee);
        let stage = match existing.as_ref() {
            Some(p) => p.stage,
            None => Stage::Estimated,
        };
        let state = match c.state() {
            pb::LineState::Received => LineState::Received,
            pb::LineState::Void => LineState::Void,
            _ => LineState::Paid,
        };
        let position = Position {
            line_id: c.line_id.clone(),
            promoter_id: c.promoter_id.clone(),
            order_id: c.order_id.clone(),
            supplier_id: c.supplier_id.clone(),
            shop_id: c.shop_id.clone(),
            product_id: c.product_id.clone(),
            currency: commission.currency.clone(),
            paid_at: time(event, c.paid_at.as_ref(), "no paid_at")?,
            confirmed_at: c.confirmed_at.as_ref().and_then(from_timestamp),
            line_state: state,
            commission: after.commission.get(),
            fee_bps: fee.get(),
            fee: after.fee.get(),
            share: after.share.get(),
            stage,
            settleable_at: existing.as_ref().and_then(|p| p.settleable_at),
            batch_line_id: existing.as_ref().and_then(|p| p.batch_line_id),
            settled_share: existing.as_ref().and_then(|p| p.settled_share),
            settled_fee: existing.as_ref().and_then(|p| p.settled_fee),
            updated_at: now,
            on_hold: c.on_hold,
        };
        store::positions::upsert(conn, &position).await?;
        let postings = ledger::commission_change(
            stage,
            &SupplierId::new(&c.supplier_id),
            &PromoterId::new(&c.promoter_id),
            before,
            after,
        )
        .map_err(|e| malformed(event, &e.to_string()))?;
        let journal = Journal {
            kind: JournalKind::Commission,
            line_id: Some(c.line_id.clone()),
            promoter_id: Some(c.promoter_id.clone()),
            supplier_id: Some(c.supplier_id.clone()),
            batch_line_id: None,
            source_event_id: Some(event.event_id.clone()),
            occurred_at,
            created_by: "attribution-feed".into(),
            memo: format!("{:?} at stage {}", c.cause(), stage.as_str()),
            currency: commission.currency.clone(),
            postings,
        };
        store::post(conn, &[journal], now).await?;
        if let Some(news) = line_event(existing.as_ref().map(|p| p.line_state), state) {
            let data = json!({
                "line_id": c.line_id,
                "order_id": c.order_id,
                "promoter_id": c.promoter_id,
                "supplier_id": c.supplier_id,
                "shop_id": c.shop_id,
                "product_id": c.product_id,
                "state": state.as_str(),
                "commission": { "minor_units": commission.minor_units, "currency": commission.currency },
                "paid_at": position.paid_at.to_rfc3339(),
            });
            let owners = [c.promoter_id.as_str(), c.supplier_id.as_str()];
            app::webhooks::tell(conn, news, &owners, &event.event_id, data, now).await?;
        }
        Ok(())
    }
}
