//! Income tax withheld from a payout at the close. Off by default; the built-in rule
//! is China's withholding on remuneration for labour services (劳务报酬所得预扣预缴):
//! per payment of income X (yuan),
//! - X ≤ 800: nothing;
//! - X ≤ 4000: taxable = X − 800, at 20 %;
//! - X > 4000: taxable = 80 % of X, at 20 % up to 20 000 taxable, 30 % less a quick
//!   deduction of 2 000 up to 50 000, and 40 % less 7 000 above.
//!
//! 80 % × rate is one basis-point rate (1600, 2400, 3200), so the tax is rounded
//! once, half to even, by DOMAIN.md's one rule.
use xiaopu_money::{Bps, Minor};

/// Which rule withholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Withholding {
    #[default]
    None,
    /// 劳务报酬 预扣预缴, on CNY payouts.
    CnLabourRemuneration,
}

const YUAN: i64 = 100;

impl Withholding {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "cn_labour_remuneration" => Some(Self::CnLabourRemuneration),
            _ => None,
        }
    }

    /// The tax withheld from a payment of `income` (minor units of `currency`).
    pub fn tax(self, income: Minor, currency: &str) -> Minor {
        match self {
            Self::CnLabourRemuneration if currency == "CNY" => labour_remuneration(income),
            _ => Minor::ZERO,
        }
    }
}

/// A rate of this rule, written in the code (so always within 0 to 100 %).
const fn rate(bps: i32) -> Bps {
    Bps::clamped(bps)
}

fn labour_remuneration(income: Minor) -> Minor {
    let (rate, deduction) = match income.get() {
        i64::MIN..=80_000 => return Minor::ZERO,
        80_001..=400_000 => return (income - Minor::new(800 * YUAN)).at(rate(2000)),
        400_001..=2_500_000 => (rate(1600), 0),
        2_500_001..=6_250_000 => (rate(2400), 2000 * YUAN),
        _ => (rate(3200), 7000 * YUAN),
    };
    income.at(rate) - Minor::new(deduction)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const RULE: Withholding = Withholding::CnLabourRemuneration;

    #[test]
    fn worked_examples() {
        assert_eq!(RULE.tax(Minor::new(80_000), "CNY").get(), 0, "800 yuan: nothing");
        assert_eq!(RULE.tax(Minor::new(300_000), "CNY").get(), 44_000, "(3000 − 800) × 20 % = 440");
        assert_eq!(RULE.tax(Minor::new(400_000), "CNY").get(), 64_000, "(4000 − 800) × 20 % = 640");
        assert_eq!(RULE.tax(Minor::new(500_000), "CNY").get(), 80_000, "5000 × 80 % × 20 % = 800");
        assert_eq!(RULE.tax(Minor::new(3_000_000), "CNY").get(), 520_000, "30000 × 80 % × 30 % − 2000 = 5200");
        assert_eq!(RULE.tax(Minor::new(10_000_000), "CNY").get(), 2_500_000, "100000 × 80 % × 40 % − 7000 = 25000");
        assert_eq!(RULE.tax(Minor::new(80_003), "CNY").get(), 1, "0.6 fen rounds to 1");
        assert_eq!(RULE.tax(Minor::new(400_001), "CNY").get(), 64_000, "640.0016 yuan rounds to 640.00");
        assert_eq!(RULE.tax(Minor::new(500_000), "USD").get(), 0, "the rule is for CNY");
        assert_eq!(Withholding::None.tax(Minor::new(10_000_000), "CNY").get(), 0);
    }

    proptest! {
        /// Never more than the income, never negative, and more income never means
        /// less left after tax across the bracket edges.
        #[test]
        fn tax_is_bounded_and_monotone(income in 0i64..20_000_000, more in 1i64..100_000) {
            let tax = RULE.tax(Minor::new(income), "CNY").get();
            prop_assert!((0..=income).contains(&tax));
            prop_assert!(RULE.tax(Minor::new(income + more), "CNY").get() >= tax);
            prop_assert!(income + more - RULE.tax(Minor::new(income + more), "CNY").get() >= income - tax);
        }
    }
}
