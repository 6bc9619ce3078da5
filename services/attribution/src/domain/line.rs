//! An order line's money and state (DOMAIN.md rules 6–7), and the commission changes
//! between two versions of a line.
use uuid::Uuid;
use xiaopu_common::ids::PromoterId;
use xiaopu_money::{Bps, Minor};

xiaopu_common::text_enum! {
    /// An order line's state.
    pub enum State {
        Paid = "paid",
        Received = "received",
        Void = "void",
    }
}

/// A fully refunded line is void; otherwise received once confirmed, else paid.
pub fn state(paid: i64, refunded: i64, confirmed: bool) -> State {
    if paid - refunded <= 0 {
        State::Void
    } else if confirmed {
        State::Received
    } else {
        State::Paid
    }
}

/// round_half_even((paid − refunded) × rate / 10000): recomputed from the remaining
/// amount, so a full refund gives exactly zero.
pub fn commission(paid: Minor, refunded: Minor, rate: Bps) -> Minor {
    (paid - refunded).at(rate)
}

/// A refund that would take a line below zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverRefund {
    pub paid: i64,
    pub already_refunded: i64,
    pub amount: i64,
}

impl std::fmt::Display for OverRefund {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refunding {} more would total {}, above the {} paid",
            self.amount,
            self.already_refunded + self.amount,
            self.paid
        )
    }
}

/// The refunded total after one more refund, if it stays within what was paid.
pub fn refund(paid: i64, already_refunded: i64, amount: i64) -> Result<i64, OverRefund> {
    match already_refunded.checked_add(amount) {
        Some(total) if total <= paid => Ok(total),
        _ => Err(OverRefund { paid, already_refunded, amount }),
    }
}

/// What a line earns its promoter now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    pub promoter_id: PromoterId,
    pub shop_id: Uuid,
    pub commission: Minor,
    pub state: State,
    /// Held by a risk rule: it must not settle until released.
    pub held: bool,
}

/// One promoter's commission on a line moving from `previous` to `current`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionChange {
    pub promoter_id: PromoterId,
    pub shop_id: Uuid,
    pub previous: Minor,
    pub current: Minor,
    pub state: State,
    pub held: bool,
}

/// The changes that turn `before` into `after`: nothing when nothing moved; a line
/// that changes hands closes at zero for the old promoter and opens for the new one.
pub fn changes(before: Option<&Earning>, after: Option<&Earning>) -> Vec<CommissionChange> {
    let open = |e: &Earning, previous| CommissionChange {
        promoter_id: e.promoter_id.clone(),
        shop_id: e.shop_id,
        previous,
        current: e.commission,
        state: e.state,
        held: e.held,
    };
    let close = |e: &Earning| CommissionChange {
        promoter_id: e.promoter_id.clone(),
        shop_id: e.shop_id,
        previous: e.commission,
        current: Minor::ZERO,
        state: State::Void,
        held: false,
    };
    match (before, after) {
        (None, None) => vec![],
        (None, Some(a)) => vec![open(a, Minor::ZERO)],
        (Some(b), None) => vec![close(b)],
        (Some(b), Some(a)) if b.promoter_id == a.promoter_id => {
            if b == a {
                vec![]
            } else {
                vec![open(a, b.commission)]
            }
        }
        (Some(b), Some(a)) => vec![close(b), open(a, Minor::ZERO)],
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn earning(promoter: &str, commission: i64, state: State) -> Earning {
        Earning {
            promoter_id: PromoterId::new(promoter),
            shop_id: Uuid::nil(),
            commission: Minor::new(commission),
            state,
            held: false,
        }
    }

    #[test]
    fn state_follows_money_and_receipt() {
        assert_eq!(state(100, 0, false), State::Paid);
        assert_eq!(state(100, 40, true), State::Received);
        assert_eq!(state(100, 100, true), State::Void);
    }

    #[test]
    fn refunds_recompute_from_what_remains() {
        assert_eq!(commission(Minor::new(19900), Minor::new(0), Bps::clamped(550)), Minor::new(1094));
        assert_eq!(commission(Minor::new(19900), Minor::new(9950), Bps::clamped(550)), Minor::new(547));
        assert_eq!(commission(Minor::new(19900), Minor::new(19900), Bps::clamped(550)), Minor::new(0));
        assert_eq!(refund(100, 60, 40), Ok(100));
        assert!(refund(100, 60, 41).is_err());
        assert!(refund(100, i64::MAX, 1).is_err());
    }

    #[test]
    fn a_line_changing_hands_closes_the_old_promoter_at_zero() {
        let a = earning("a", 500, State::Paid);
        let b = earning("b", 500, State::Paid);
        let moved = changes(Some(&a), Some(&b));
        assert_eq!(moved.len(), 2);
        let seen = |c: &CommissionChange| (c.promoter_id.as_str().to_owned(), c.previous.get(), c.current.get());
        assert_eq!(seen(&moved[0]), ("a".to_owned(), 500, 0));
        assert_eq!(seen(&moved[1]), ("b".to_owned(), 0, 500));
        assert!(changes(Some(&a), Some(&a)).is_empty());
        let received = earning("a", 500, State::Received);
        assert_eq!(changes(Some(&a), Some(&received)).len(), 1, "a state change is news for settlement");
        let held = Earning { held: true, ..a.clone() };
        assert_eq!(changes(Some(&held), Some(&a)).len(), 1, "a release is news for settlement");
    }

    proptest! {
        /// Replaying any sequence of versions, each promoter's changes add up to what
        /// the final version gives them: no commission appears or vanishes.
        #[test]
        fn changes_telescope(versions in proptest::collection::vec(
            proptest::option::of((0usize..3, 0i64..10_000, 0usize..3)), 1..20)) {
            let promoters = ["a", "b", "c"];
            let states = [State::Paid, State::Received, State::Void];
            let mut before: Option<Earning> = None;
            let mut totals = std::collections::HashMap::<String, i64>::new();
            for v in versions {
                let after = v.map(|(p, c, s)| earning(promoters[p], c, states[s]));
                for change in changes(before.as_ref(), after.as_ref()) {
                    *totals.entry(change.promoter_id.to_string()).or_default() += (change.current - change.previous).get();
                }
                before = after;
            }
            for p in promoters {
                let expected = before.as_ref().filter(|e| e.promoter_id.as_str() == p).map_or(0, |e| e.commission.get());
                prop_assert_eq!(totals.get(p).copied().unwrap_or(0), expected);
            }
        }
    }
}
