//! Risk rules, pure: which pattern holds a newly attributed line's commission until
//! finance decides, and when a promoter's refunds flag them. Each rule can be turned
//! off (a zero in its setting).
use chrono::{DateTime, TimeDelta, Utc};

xiaopu_common::text_enum! {
    /// A risk rule, as named on the lines it held.
    pub enum Rule {
        /// Many orders from one buyer to one promoter in a short time.
        BurstOrders = "burst_orders",
        /// The buyer's first click came seconds before paying.
        FastClick = "fast_click",
        /// The promoter's recent lines were refunded too often.
        RefundRate = "refund_rate",
    }
}

xiaopu_common::text_enum! {
    /// Where a hold stands.
    pub enum State {
        Held = "held",
        Released = "released",
        Voided = "voided",
    }
}

/// The configured rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Hold the line of a buyer's `burst_orders`-th order (or later) to one promoter
    /// within `burst_window`; 0: off.
    pub burst_orders: i64,
    pub burst_window: TimeDelta,
    /// Hold a line whose buyer first clicked less than this before paying; zero: off.
    pub fast_click: TimeDelta,
    /// Flag a promoter whose last `refund_sample` lines (at least
    /// `refund_min_lines`) had more than this share of their amount refunded; 0: off.
    pub refund_rate_bps: i64,
    pub refund_sample: i64,
    pub refund_min_lines: i64,
}

/// What the rules look at for one newly attributed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub paid_at: DateTime<Utc>,
    /// Orders the buyer paid to this promoter within the burst window up to this
    /// payment, this one included.
    pub orders_in_window: i64,
    /// The buyer's first click ever, if any.
    pub first_click_at: Option<DateTime<Utc>>,
    /// Whether the promoter carries an open refund-rate flag.
    pub promoter_flagged: bool,
}

/// The rule that holds the line, with its evidence in words; None when none does.
/// Checked in a fixed order, so one line names one rule.
pub fn assess(facts: &Facts, rules: &Rules) -> Option<(Rule, String)> {
    if rules.burst_orders > 0 && facts.orders_in_window >= rules.burst_orders {
        return Some((
            Rule::BurstOrders,
            format!(
                "the buyer paid {} orders to this promoter within {} minutes (the rule holds from {})",
                facts.orders_in_window,
                rules.burst_window.num_minutes(),
                rules.burst_orders
            ),
        ));
    }
    if let Some(first) = facts.first_click_at {
        let lead = facts.paid_at - first;
        if rules.fast_click > TimeDelta::zero() && lead < rules.fast_click {
            return Some((
                Rule::FastClick,
                format!(
                    "the buyer's first click came {} seconds before paying (the rule holds under {})",
                    lead.num_seconds(),
                    rules.fast_click.num_seconds()
                ),
            ));
        }
    }
    if facts.promoter_flagged {
        return Some((Rule::RefundRate, "the promoter is flagged for a high refund rate".into()));
    }
    None
}

/// Whether a promoter's sample of lines (`lines`, `paid`, `refunded` amounts) flags
/// them: enough lines, and refunded / paid above the threshold.
pub fn refund_rate_flags(lines: i64, paid: i64, refunded: i64, rules: &Rules) -> bool {
    rules.refund_rate_bps > 0
        && lines >= rules.refund_min_lines
        && paid > 0
        && i128::from(refunded) * 10_000 > i128::from(paid) * i128::from(rules.refund_rate_bps)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rules() -> Rules {
        Rules {
            burst_orders: 5,
            burst_window: TimeDelta::hours(1),
            fast_click: TimeDelta::seconds(10),
            refund_rate_bps: 5000,
            refund_sample: 50,
            refund_min_lines: 10,
        }
    }

    fn facts() -> Facts {
        let paid_at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        Facts {
            paid_at,
            orders_in_window: 1,
            first_click_at: Some(paid_at - TimeDelta::days(1)),
            promoter_flagged: false,
        }
    }

    #[test]
    fn each_rule_holds_with_its_evidence_and_none_holds_an_ordinary_line() {
        assert_eq!(assess(&facts(), &rules()), None);
        let burst = assess(&Facts { orders_in_window: 5, ..facts() }, &rules()).expect("burst");
        assert_eq!(burst.0, Rule::BurstOrders);
        assert!(burst.1.contains("5 orders"), "{}", burst.1);
        assert_eq!(assess(&Facts { orders_in_window: 4, ..facts() }, &rules()), None);
        let f = facts();
        let fast = assess(&Facts { first_click_at: Some(f.paid_at - TimeDelta::seconds(3)), ..f.clone() }, &rules());
        assert_eq!(fast.map(|(r, _)| r), Some(Rule::FastClick));
        let ten = Facts { first_click_at: Some(f.paid_at - TimeDelta::seconds(10)), ..f.clone() };
        assert_eq!(assess(&ten, &rules()), None, "exactly the threshold is not under it");
        assert_eq!(assess(&Facts { first_click_at: None, ..f.clone() }, &rules()), None, "no click: no lead");
        let flagged = assess(&Facts { promoter_flagged: true, ..f }, &rules());
        assert_eq!(flagged.map(|(r, _)| r), Some(Rule::RefundRate));
    }

    #[test]
    fn zero_turns_a_rule_off() {
        let off = Rules { burst_orders: 0, fast_click: TimeDelta::zero(), refund_rate_bps: 0, ..rules() };
        let f = facts();
        let wild = Facts { orders_in_window: 100, first_click_at: Some(f.paid_at), promoter_flagged: true, ..f };
        assert_eq!(assess(&wild, &off).map(|(r, _)| r), Some(Rule::RefundRate), "a raised flag stands");
        assert!(!refund_rate_flags(100, 100, 100, &off));
    }

    #[test]
    fn refund_rates_flag_above_the_threshold_with_enough_lines() {
        assert!(!refund_rate_flags(9, 100, 90, &rules()), "too few lines");
        assert!(!refund_rate_flags(10, 100, 50, &rules()), "exactly half is not above");
        assert!(refund_rate_flags(10, 100, 51, &rules()));
        assert!(!refund_rate_flags(10, 0, 0, &rules()));
    }

    proptest! {
        /// The flag is monotone in refunds: refunding more never unflags.
        #[test]
        fn more_refunds_never_unflag(paid in 1i64..1_000_000, a in 0i64..1_000_000, b in 0i64..1_000_000) {
            let (low, high) = (a.min(b).min(paid), a.max(b).min(paid));
            if refund_rate_flags(20, paid, low, &rules()) {
                prop_assert!(refund_rate_flags(20, paid, high, &rules()));
            }
        }
    }
}
