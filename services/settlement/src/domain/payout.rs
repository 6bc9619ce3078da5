//! A promoter's payout line, and the period statement's identity.
use xiaopu_money::Minor;

use super::withholding::Withholding;

/// Why a line is held: its promoter has no payout profile to pay to.
pub use xiaopu_api::reasons::PAYEE_MISSING;

xiaopu_common::text_enum! {
    /// Whether a payout line is paid this time or carried to the next period.
    pub enum LineStatus {
        Pending = "pending",
        Paid = "paid",
        Failed = "failed",
        CarriedForward = "carried_forward",
        /// Not paid for a reason of its own (no payee): nothing moves, like carried forward.
        Held = "held",
    }
}

impl LineStatus {
    /// A line the batch pays (its rows sum to the batch total), as opposed to one
    /// carried forward or held.
    pub fn is_payable(self) -> bool {
        matches!(self, LineStatus::Pending | LineStatus::Paid | LineStatus::Failed)
    }
}

/// What a promoter is owed at a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Owed {
    /// Share of the settleable lines being settled.
    pub settled_share: i64,
    /// Failed payouts to issue again.
    pub reissued: i64,
    /// Netting balance: clawbacks owed (positive) or credits due (negative).
    pub netting: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutLine {
    pub status: LineStatus,
    /// settled_share + reissued − netting − withheld (what it would be, when not paid).
    pub amount: i64,
    /// The netting balance cleared by this line (all of it, when paid).
    pub netted: i64,
    /// Tax withheld from it (only when paid).
    pub withheld: i64,
    /// Why it is held.
    pub hold_reason: Option<&'static str>,
}

/// What a close applies to every line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseRules {
    /// Minor units; below it a line carries forward.
    pub min_payout: i64,
    pub withholding: Withholding,
}

/// DOMAIN.md rule 6: paid only at or above the minimum payout, otherwise carried
/// forward — nothing moves and nothing is lost; a negative balance stays owed. A line
/// with no payee to pay is held the same way. Tax is withheld on this payment's new
/// income (share less netting); re-issued payouts were taxed when first closed.
pub fn payout_line(owed: Owed, currency: &str, has_payee: bool, rules: CloseRules) -> PayoutLine {
    let gross = owed.settled_share + owed.reissued - owed.netting;
    let unpaid = |status, hold_reason| PayoutLine { status, amount: gross, netted: 0, withheld: 0, hold_reason };
    if gross < rules.min_payout || gross <= 0 {
        return unpaid(LineStatus::CarriedForward, None);
    }
    if !has_payee {
        return unpaid(LineStatus::Held, Some(PAYEE_MISSING));
    }
    let income = (owed.settled_share - owed.netting).max(0);
    let withheld = rules.withholding.tax(Minor::new(income), currency).get().clamp(0, gross);
    PayoutLine {
        status: LineStatus::Pending,
        amount: gross - withheld,
        netted: owed.netting,
        withheld,
        hold_reason: None,
    }
}

/// One party's movements over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statement {
    pub opening: i64,
    pub earned: i64,
    pub reversed: i64,
    pub paid: i64,
    pub closing: i64,
}

impl Statement {
    /// opening + earned − reversed − paid = closing.
    pub fn balances(&self) -> bool {
        self.opening + self.earned - self.reversed - self.paid == self.closing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: CloseRules = CloseRules { min_payout: 1000, withholding: Withholding::None };

    fn line(settled_share: i64, reissued: i64, netting: i64) -> PayoutLine {
        payout_line(Owed { settled_share, reissued, netting }, "CNY", true, RULES)
    }

    #[test]
    fn under_the_minimum_carries_forward() {
        assert_eq!((line(999, 0, 0).status, line(999, 0, 0).netted), (LineStatus::CarriedForward, 0));
        assert_eq!(line(1000, 0, 0).status, LineStatus::Pending);
    }

    #[test]
    fn clawbacks_net_off_and_a_negative_balance_stays_owed() {
        let netted = line(5000, 0, 493);
        assert_eq!((netted.status, netted.amount, netted.netted), (LineStatus::Pending, 4507, 493));
        let owing = line(100, 0, 493);
        assert_eq!((owing.status, owing.amount, owing.netted), (LineStatus::CarriedForward, -393, 0));
        let credit = line(900, 0, -200);
        assert_eq!((credit.status, credit.amount), (LineStatus::Pending, 1100), "credits due add up");
        assert_eq!(line(0, 2500, 0).amount, 2500);
    }

    #[test]
    fn no_payee_holds_what_would_be_paid() {
        let held = payout_line(Owed { settled_share: 5000, reissued: 0, netting: 0 }, "CNY", false, RULES);
        assert_eq!(
            (held.status, held.amount, held.netted, held.hold_reason),
            (LineStatus::Held, 5000, 0, Some(PAYEE_MISSING))
        );
        let small = payout_line(Owed { settled_share: 10, reissued: 0, netting: 0 }, "CNY", false, RULES);
        assert_eq!(small.status, LineStatus::CarriedForward, "under the minimum it carries forward anyway");
    }

    #[test]
    fn tax_is_withheld_on_new_income_only() {
        let rules = CloseRules { withholding: Withholding::CnLabourRemuneration, ..RULES };
        let owed = Owed { settled_share: 300_000, reissued: 100_000, netting: 0 };
        let paid = payout_line(owed, "CNY", true, rules);
        assert_eq!((paid.withheld, paid.amount), (44_000, 356_000), "on 3000 yuan, not on the re-issued 1000");
        let netted = payout_line(Owed { netting: 100_000, ..owed }, "CNY", true, rules);
        assert_eq!(netted.withheld, 24_000, "on 3000 − 1000 clawed back");
    }

    #[test]
    fn statements_balance_or_say_so() {
        let s = Statement { opening: 100, earned: 50, reversed: 20, paid: 30, closing: 100 };
        assert!(s.balances());
        assert!(!Statement { closing: 101, ..s }.balances());
    }
}
