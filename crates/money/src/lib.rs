//! Exact money (DOMAIN.md rule 7): amounts are integers in the currency's minor unit,
//! rates are basis points, and there is one rounding rule — round half to even —
//! applied once per line, never to sums.

use std::{
    fmt,
    iter::Sum,
    ops::{Add, AddAssign, Neg, Sub, SubAssign},
};

/// 100% in basis points.
pub const BPS_DENOMINATOR: i64 = 10_000;

/// A rate in basis points (1 bp = 0.01 %), from 0 to 100 %: a commission rate, the
/// platform's fee, a tax rate. Its own type so a rate is never passed as an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bps(i32);

impl Bps {
    pub const ZERO: Bps = Bps(0);
    /// 100 %.
    pub const FULL: Bps = Bps(10_000);

    /// `bps` when it is a rate of 0 to 100 %.
    pub const fn new(bps: i32) -> Option<Bps> {
        if bps >= 0 && bps <= 10_000 { Some(Bps(bps)) } else { None }
    }

    /// `bps` brought into 0 to 100 % (for figures shown from another service's
    /// answer, which that service validated).
    pub const fn clamped(bps: i32) -> Bps {
        Bps(if bps < 0 {
            0
        } else if bps > 10_000 {
            10_000
        } else {
            bps
        })
    }

    pub const fn get(self) -> i32 {
        self.0
    }
}

/// The number of basis points, as messages quote it ("at 550 bps").
impl fmt::Display for Bps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An amount in a currency's minor unit (fen for CNY), of either sign: a price, a
/// commission, a clawback. The currency travels beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Minor(i64);

impl Minor {
    pub const ZERO: Minor = Minor(0);

    pub const fn new(minor_units: i64) -> Minor {
        Minor(minor_units)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// `self × rate`, by the one rounding rule. A rate of at most 100 % never makes
    /// an amount larger, so the result always fits.
    pub fn at(self, rate: Bps) -> Minor {
        Minor(apply_bps(self.0, rate.0).unwrap_or(self.0))
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Add for Minor {
    type Output = Minor;
    fn add(self, other: Minor) -> Minor {
        Minor(self.0 + other.0)
    }
}

impl Sub for Minor {
    type Output = Minor;
    fn sub(self, other: Minor) -> Minor {
        Minor(self.0 - other.0)
    }
}

impl Neg for Minor {
    type Output = Minor;
    fn neg(self) -> Minor {
        Minor(-self.0)
    }
}

impl AddAssign for Minor {
    fn add_assign(&mut self, other: Minor) {
        self.0 += other.0;
    }
}

impl SubAssign for Minor {
    fn sub_assign(&mut self, other: Minor) {
        self.0 -= other.0;
    }
}

impl Sum for Minor {
    fn sum<I: Iterator<Item = Minor>>(iter: I) -> Minor {
        Minor(iter.map(|m| m.0).sum())
    }
}

/// `amount × bps / 10000`, rounded half to even. Exact for every `i64` amount and
/// `i32` rate (the product is formed in 128 bits); `None` only if the result does
/// not fit in `i64`, which no rate of at most 100% can cause. Typed code uses
/// [`Minor::at`].
fn apply_bps(amount: i64, bps: i32) -> Option<i64> {
    let numerator = i128::from(amount) * i128::from(bps);
    i64::try_from(div_round_half_even(numerator, i128::from(BPS_DENOMINATOR))).ok()
}

/// `n / d` rounded to the nearest integer, ties to the even one. `d` must be positive.
fn div_round_half_even(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0, "the denominator is positive");
    let quotient = n.div_euclid(d);
    let remainder = n.rem_euclid(d); // 0 <= remainder < d
    match (2 * remainder).cmp(&d) {
        std::cmp::Ordering::Less => quotient,
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal if quotient % 2 == 0 => quotient,
        std::cmp::Ordering::Equal => quotient + 1,
    }
}

/// Digits after the decimal point of a currency's minor unit (ISO 4217).
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    }
}

/// An amount in minor units written as a decimal: 19900 CNY is "199.00", −5 is "-0.05".
pub fn to_decimal(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = digits as usize)
}

/// A non-negative decimal as typed ("39.9", "39.90", "40") scaled to `digits` places
/// exactly: `parse_decimal("39.9", 2)` is 3990. None for anything else (a sign, more
/// places than `digits`, letters, or an amount that does not fit).
pub fn parse_decimal(text: &str, digits: u32) -> Option<i64> {
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !plain(whole) || !plain(fraction) || fraction.len() > digits as usize {
        return None;
    }
    let scale = 10i64.checked_pow(digits)?;
    let padded = format!("{fraction:0<width$}", width = digits as usize);
    let fraction: i64 = if padded.is_empty() { 0 } else { padded.parse().ok()? };
    whole.parse::<i64>().ok()?.checked_mul(scale)?.checked_add(fraction)
}

/// One order line's commission, split between the platform and the promoter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommissionSplit {
    /// What the supplier pays: round(commissionable × rate).
    pub commission: Minor,
    /// The platform's service fee: round(commission × fee rate).
    pub service_fee: Minor,
    /// commission − service fee.
    pub promoter_share: Minor,
}

/// The split of a line with `commissionable` = paid − refunded (not negative), at
/// `rate`, with the platform's `fee`.
pub fn split(commissionable: Minor, rate: Bps, fee: Bps) -> CommissionSplit {
    debug_assert!(commissionable >= Minor::ZERO);
    after_fee(commissionable.at(rate), fee)
}

/// A line's `commission` split between the platform's `fee` and the promoter: the
/// fee is rounded once, on the line.
pub fn after_fee(commission: Minor, fee: Bps) -> CommissionSplit {
    let service_fee = commission.at(fee);
    CommissionSplit { commission, service_fee, promoter_share: commission - service_fee }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn typed_decimals_are_scaled_exactly() {
        assert_eq!(parse_decimal("39.9", 2), Some(3990));
        assert_eq!(parse_decimal("39.90", 2), Some(3990));
        assert_eq!(parse_decimal(" 40 ", 2), Some(4000));
        assert_eq!(parse_decimal("5.5", 2), Some(550));
        assert_eq!(parse_decimal("7", 0), Some(7));
        for bad in ["", ".5", "-1", "1.234", "1e3", "a", "1.2.3", "99999999999999999999"] {
            assert_eq!(parse_decimal(bad, 2), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn written_amounts_read_back(minor in 0i64..1_000_000_000_000) {
            prop_assert_eq!(parse_decimal(&to_decimal(minor, "CNY"), 2), Some(minor));
        }
    }

    /// The worked examples of DOMAIN.md rule 7 (fee 1000 bps).
    #[test]
    fn domain_worked_examples() {
        let cases = [
            (19900, 0, 550, (1094, 109, 985)),
            (19900, 9950, 550, (547, 55, 492)),
            (12345, 0, 1000, (1234, 123, 1111)),
            (1050, 0, 1000, (105, 10, 95)),
            (250, 0, 250, (6, 1, 5)),
            (19900, 19900, 550, (0, 0, 0)),
        ];
        for (paid, refunded, rate, (commission, fee, promoter)) in cases {
            let s = split(Minor(paid - refunded), Bps(rate), Bps(1000));
            assert_eq!(
                (s.commission.get(), s.service_fee.get(), s.promoter_share.get()),
                (commission, fee, promoter),
                "{paid}/{refunded}/{rate}"
            );
        }
    }

    #[test]
    fn decimals_keep_every_minor_unit() {
        assert_eq!(to_decimal(19900, "CNY"), "199.00");
        assert_eq!(to_decimal(-5, "CNY"), "-0.05");
        assert_eq!(to_decimal(1094, "CNY"), "10.94");
        assert_eq!(to_decimal(500, "JPY"), "500");
        assert_eq!(to_decimal(1234, "KWD"), "1.234");
        assert_eq!(to_decimal(i64::MIN, "CNY"), "-92233720368547758.08");
    }

    #[test]
    fn ties_go_to_even_in_both_directions() {
        assert_eq!(div_round_half_even(5, 2), 2);
        assert_eq!(div_round_half_even(7, 2), 4);
        assert_eq!(div_round_half_even(-5, 2), -2);
        assert_eq!(div_round_half_even(-7, 2), -4);
        assert_eq!(div_round_half_even(-6, 4), -2);
        assert_eq!(apply_bps(i64::MAX, 10_000), Some(i64::MAX));
        assert_eq!(apply_bps(i64::MAX, 20_000), None);
        assert_eq!(Minor(i64::MIN).at(Bps::FULL), Minor(i64::MIN));
    }

    #[test]
    fn a_rate_is_between_nothing_and_everything() {
        assert_eq!(Bps::new(550).map(Bps::get), Some(550));
        assert_eq!(Bps::new(10_001), None);
        assert_eq!(Bps::new(-1), None);
        assert_eq!(Bps::clamped(-5), Bps::ZERO);
        assert_eq!(Bps::clamped(20_000), Bps::FULL);
        assert_eq!(Minor(19900).at(Bps(550)), Minor(1094));
        assert_eq!([Minor(5), Minor(-7)].into_iter().sum::<Minor>(), Minor(-2));
    }

    proptest! {
        /// The rounded value is the exact value's nearest integer, ties to even.
        #[test]
        fn rounding_is_nearest_ties_to_even(amount in -10_000_000_000i64..10_000_000_000, bps in 0i32..=10_000) {
            let got = i128::from(apply_bps(amount, bps).expect("fits"));
            let exact_times_d = i128::from(amount) * i128::from(bps);
            let distance = (got * 10_000 - exact_times_d).abs();
            prop_assert!(distance * 2 <= 10_000, "more than half a unit away");
            if distance * 2 == 10_000 {
                prop_assert_eq!(got % 2, 0, "a tie must go to the even neighbour");
            }
        }

        /// The split always adds up, never exceeds what was paid, and a full refund
        /// leaves exactly zero.
        #[test]
        fn split_adds_up(paid in 0i64..1_000_000_000, refunded_part in 0u32..=100, rate in 0i32..=9_000, fee in 0i32..=10_000) {
            let refunded = paid * i64::from(refunded_part) / 100;
            let (rate, fee) = (Bps(rate), Bps(fee));
            let s = split(Minor(paid - refunded), rate, fee);
            prop_assert_eq!(s.commission, s.service_fee + s.promoter_share);
            prop_assert!(s.commission <= Minor(paid - refunded));
            prop_assert!(s.service_fee >= Minor::ZERO && s.promoter_share >= Minor::ZERO);
            prop_assert_eq!(split(Minor(paid - paid), rate, fee), CommissionSplit::default());
        }

        /// Monotone: refunding more never raises the commission.
        #[test]
        fn more_refund_never_more_commission(paid in 0i64..1_000_000_000, a in 0i64..1_000_000_000, b in 0i64..1_000_000_000, rate in 0i32..=9_000) {
            let (small, large) = (a.min(b).min(paid), a.max(b).min(paid));
            let commission = |commissionable| split(Minor(commissionable), Bps(rate), Bps(1000)).commission;
            prop_assert!(commission(paid - large) <= commission(paid - small));
        }
    }
}
