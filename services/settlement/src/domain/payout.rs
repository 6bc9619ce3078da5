//! A promoter's payout line, and the period statement's identity.

/// Whether a payout line is paid this time or carried to the next period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    Pending,
    Paid,
    Failed,
    CarriedForward,
}

impl LineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Pending => "pending",
            LineStatus::Paid => "paid",
            LineStatus::Failed => "failed",
            LineStatus::CarriedForward => "carried_forward",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [LineStatus::Pending, LineStatus::Paid, LineStatus::Failed, LineStatus::CarriedForward]
            .into_iter()
            .find(|st| st.as_str() == s)
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
    /// settled_share + reissued − netting.
    pub amount: i64,
    /// The netting balance cleared by this line (all of it, when paid).
    pub netted: i64,
}

/// DOMAIN.md rule 6: paid only at or above the minimum payout, otherwise carried
/// forward — nothing moves and nothing is lost; a negative balance stays owed.
pub fn payout_line(owed: Owed, min_payout: i64) -> PayoutLine {
    let amount = owed.settled_share + owed.reissued - owed.netting;
    if amount >= min_payout && amount > 0 {
        PayoutLine { status: LineStatus::Pending, amount, netted: owed.netting }
    } else {
        PayoutLine { status: LineStatus::CarriedForward, amount, netted: 0 }
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

    #[test]
    fn under_the_minimum_carries_forward() {
        let line = payout_line(Owed { settled_share: 999, reissued: 0, netting: 0 }, 1000);
        assert_eq!((line.status, line.netted), (LineStatus::CarriedForward, 0));
        let line = payout_line(Owed { settled_share: 1000, reissued: 0, netting: 0 }, 1000);
        assert_eq!(line.status, LineStatus::Pending);
    }

    #[test]
    fn clawbacks_net_off_and_a_negative_balance_stays_owed() {
        let netted = payout_line(Owed { settled_share: 5000, reissued: 0, netting: 493 }, 1000);
        assert_eq!((netted.status, netted.amount, netted.netted), (LineStatus::Pending, 4507, 493));
        let owing = payout_line(Owed { settled_share: 100, reissued: 0, netting: 493 }, 1000);
        assert_eq!((owing.status, owing.amount, owing.netted), (LineStatus::CarriedForward, -393, 0));
        let credit = payout_line(Owed { settled_share: 900, reissued: 0, netting: -200 }, 1000);
        assert_eq!((credit.status, credit.amount), (LineStatus::Pending, 1100), "credits due add up");
        let reissue = payout_line(Owed { settled_share: 0, reissued: 2500, netting: 0 }, 1000);
        assert_eq!(reissue.amount, 2500);
    }

    #[test]
    fn statements_balance_or_say_so() {
        let s = Statement { opening: 100, earned: 50, reversed: 20, paid: 30, closing: 100 };
        assert!(s.balances());
        assert!(!Statement { closing: 101, ..s }.balances());
    }
}
