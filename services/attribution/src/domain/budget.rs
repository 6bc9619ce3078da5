//! Suppliers' commission budgets, pure: which lines a budget covers, whether a line's
//! rise in commission fits what is left, and how far a month has got.
use uuid::Uuid;
use xiaopu_money::Minor;

/// A budget as ingest applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub budget_id: Uuid,
    pub supplier_id: String,
    /// None: every product of the supplier's.
    pub product_id: Option<Uuid>,
    pub currency: String,
    pub cap: Minor,
    /// `YYYY-MM`: months before this one are not covered.
    pub first_month: String,
}

impl Budget {
    /// Whether a line of `supplier_id`'s `product_id` in `currency`, paid in `month`,
    /// counts against this budget.
    pub fn covers(&self, supplier_id: &str, product_id: Uuid, currency: &str, month: &str) -> bool {
        self.supplier_id == supplier_id
            && self.product_id.is_none_or(|p| p == product_id)
            && self.currency == currency
            // `YYYY-MM` labels sort as the months do.
            && month >= self.first_month.as_str()
    }
}

/// One budget's month: its cap, what its lines earn now, and how many were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spend {
    pub cap: Minor,
    pub spent: Minor,
    pub refused: i64,
}

xiaopu_common::text_enum! {
    /// How far a budget's month has got.
    pub enum Level {
        Open = "open",
        /// 80 % or more spent.
        Warning = "warning",
        /// Spent, or a line refused for want of what was left.
        Exhausted = "exhausted",
    }
}

impl Spend {
    pub fn remaining(&self) -> Minor {
        (self.cap - self.spent).max(Minor::ZERO)
    }

    pub fn level(&self) -> Level {
        let (cap, spent) = (i128::from(self.cap.get()), i128::from(self.spent.get()));
        if spent >= cap || self.refused > 0 {
            Level::Exhausted
        } else if spent * 5 >= cap * 4 {
            Level::Warning
        } else {
            Level::Open
        }
    }
}

/// Moves a line's commission by `delta` in every month covering it: a fall is given
/// back at once; a rise is taken only if every covering month has room for all of it,
/// and otherwise taken from none (and the line earns nothing). True when it moved.
pub fn take(covering: &mut [&mut Spend], delta: Minor) -> bool {
    if delta > Minor::ZERO && covering.iter().any(|s| s.remaining() < delta) {
        return false;
    }
    for spend in covering.iter_mut() {
        // A line counted before its budget existed may give back more than the
        // month holds of it; spend never goes below zero.
        spend.spent = (spend.spent + delta).max(Minor::ZERO);
    }
    true
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn spend(cap: i64, spent: i64) -> Spend {
        Spend { cap: Minor::new(cap), spent: Minor::new(spent), refused: 0 }
    }

    #[test]
    fn a_rise_is_taken_from_every_covering_month_or_none() {
        let (mut total, mut product) = (spend(1000, 900), spend(500, 0));
        assert!(take(&mut [&mut total, &mut product], Minor::new(100)));
        assert_eq!((total.spent.get(), product.spent.get()), (1000, 100));
        assert!(!take(&mut [&mut total, &mut product], Minor::new(1)), "the total has nothing left");
        assert_eq!((total.spent.get(), product.spent.get()), (1000, 100), "a refusal takes from none");
        assert!(take(&mut [&mut total, &mut product], Minor::new(-300)));
        assert_eq!((total.spent.get(), product.spent.get()), (700, 0), "a fall is given back, never below zero");
    }

    #[test]
    fn levels_warn_at_four_fifths() {
        assert_eq!(spend(1000, 799).level(), Level::Open);
        assert_eq!(spend(1000, 800).level(), Level::Warning);
        assert_eq!(spend(1000, 1000).level(), Level::Exhausted);
        assert_eq!(Spend { refused: 1, ..spend(1000, 10) }.level(), Level::Exhausted);
        assert_eq!(spend(i64::MAX, i64::MAX - 1).level(), Level::Warning, "no overflow");
    }

    #[test]
    fn coverage_is_by_supplier_product_currency_and_month() {
        let product = Uuid::from_u128(7);
        let b = Budget {
            budget_id: Uuid::nil(),
            supplier_id: "s".into(),
            product_id: None,
            currency: "CNY".into(),
            cap: Minor::new(1),
            first_month: "2026-12".into(),
        };
        assert!(b.covers("s", product, "CNY", "2026-12"));
        assert!(b.covers("s", product, "CNY", "2027-01"));
        assert!(!b.covers("s", product, "CNY", "2026-11"), "months before it was set");
        assert!(!b.covers("t", product, "CNY", "2026-12"));
        assert!(!b.covers("s", product, "USD", "2026-12"));
        let one = Budget { product_id: Some(Uuid::from_u128(8)), ..b };
        assert!(!one.covers("s", product, "CNY", "2026-12"));
    }

    proptest! {
        /// Whatever lines come and go, in any order, a month never spends past its cap
        /// and always holds exactly what the lines it took earn.
        #[test]
        fn spend_never_passes_the_cap(cap in 1i64..100_000, moves in proptest::collection::vec((0usize..8, 0i64..30_000), 1..60)) {
            let mut month = spend(cap, 0);
            let mut earned = [0i64; 8];
            for (line, commission) in moves {
                let delta = Minor::new(commission - earned[line]);
                if take(&mut [&mut month], delta) {
                    earned[line] = commission;
                } else {
                    // Refused: the line earns nothing, giving back what it had.
                    prop_assert!(take(&mut [&mut month], Minor::new(-earned[line])));
                    earned[line] = 0;
                }
                prop_assert!(month.spent.get() <= cap);
                prop_assert_eq!(month.spent.get(), earned.iter().sum::<i64>());
            }
        }
    }
}
