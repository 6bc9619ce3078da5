//! Settlement's rules (DOMAIN.md rules 6–8), pure: how each movement of money is
//! posted (double entry, always balanced), how a payout line nets, and the period
//! statement's identity.
pub mod batch;
pub mod ledger;
pub mod payee;
pub mod payout;
pub mod reconcile;
pub mod webhooks;
pub mod withholding;

use chrono::{DateTime, TimeDelta, Utc};
use xiaopu_money::{Bps, Minor};

xiaopu_common::text_enum! {
    /// Where a line's commission is in its life cycle.
    pub enum Stage {
        /// Paid, not yet confirmed and past the after-sale hold.
        Estimated = "estimated",
        /// Confirmed and past the hold: goes into the next batch.
        Settleable = "settleable",
        /// In a payout batch.
        Settled = "settled",
    }
}

xiaopu_common::text_enum! {
    /// The state of the order line behind a position, as attribution last said.
    pub enum LineState {
        /// Ordered, not yet paid for (nothing earned yet).
        Received = "received",
        Paid = "paid",
        /// Refunded in full or cancelled: earns nothing.
        Void = "void",
    }
}

/// When a confirmed line becomes settleable: once the after-sale hold has passed.
pub fn settleable_at(confirmed_at: DateTime<Utc>, hold: TimeDelta) -> DateTime<Utc> {
    confirmed_at + hold
}

/// Whether a line confirmed at `confirmed_at` is settleable at `now`.
pub fn is_settleable(confirmed_at: Option<DateTime<Utc>>, hold: TimeDelta, now: DateTime<Utc>) -> bool {
    confirmed_at.is_some_and(|c| settleable_at(c, hold) <= now)
}

/// A line's commission split (DOMAIN.md rule 7): the fee is rounded once, on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Split {
    pub commission: Minor,
    pub fee: Minor,
    pub share: Minor,
}

/// `commission` less the platform's `fee` rate.
pub fn split(commission: Minor, fee: Bps) -> Split {
    let s = xiaopu_money::after_fee(commission, fee);
    Split { commission: s.commission, fee: s.service_fee, share: s.promoter_share }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hold_boundary() {
        let confirmed = Utc::now();
        let hold = TimeDelta::days(7);
        assert!(!is_settleable(Some(confirmed), hold, confirmed + hold - TimeDelta::seconds(1)));
        assert!(is_settleable(Some(confirmed), hold, confirmed + hold));
        assert!(!is_settleable(None, hold, confirmed + hold * 10));
    }

    #[test]
    fn splits_follow_the_worked_examples() {
        assert_eq!(
            split(Minor::new(1094), Bps::clamped(1000)),
            Split { commission: Minor::new(1094), fee: Minor::new(109), share: Minor::new(985) }
        );
        assert_eq!(
            split(Minor::new(105), Bps::clamped(1000)),
            Split { commission: Minor::new(105), fee: Minor::new(10), share: Minor::new(95) }
        );
        assert_eq!(
            split(Minor::new(6), Bps::clamped(1000)),
            Split { commission: Minor::new(6), fee: Minor::new(1), share: Minor::new(5) }
        );
        assert_eq!(split(Minor::new(0), Bps::clamped(1000)), Split::default());
    }
}
