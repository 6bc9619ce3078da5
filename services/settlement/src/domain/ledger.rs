//! Double entry: the accounts, and the postings of every movement. Debits are
//! positive, credits negative; a journal is only built if it sums to zero.
use xiaopu_common::ids::{PromoterId, SupplierId};
use xiaopu_money::Minor;

use super::{Split, Stage};

xiaopu_common::text_enum! {
    /// A ledger account (each held per party: a promoter, a supplier, the platform).
    pub enum Account {
        /// What a supplier owes for commission (debit balance).
        SupplierCharges = "supplier_charges",
        /// Promoters' share by stage (credit balances: owed to them).
        PromoterEstimated = "promoter_estimated",
        PromoterSettleable = "promoter_settleable",
        PromoterPayable = "promoter_payable",
        /// Clawbacks a promoter owes (debit) or credits due to them (credit), netted
        /// off their next payout.
        PromoterNetting = "promoter_netting",
        /// The platform's service fee by stage (credit).
        FeeEstimated = "fee_estimated",
        FeeSettleable = "fee_settleable",
        FeeRevenue = "fee_revenue",
        /// Money paid out (credit).
        Payouts = "payouts",
        /// The platform's side of manual adjustments.
        Adjustments = "adjustments",
        /// Income tax withheld from promoters' payouts, owed to the tax authority on
        /// their behalf (credit, by promoter).
        TaxWithheld = "tax_withheld",
    }
}

xiaopu_common::text_enum! {
    /// What moved money in a journal.
    pub enum JournalKind {
        /// A line's commission appeared or changed (attribution's feed).
        Commission = "commission",
        /// Confirmed lines past their hold became settleable.
        Sweep = "sweep",
        /// A period's close moved settleable money to payable.
        Close = "close",
        /// A payout line was paid.
        Payout = "payout",
        /// Finance adjusted a promoter's balance by hand.
        Adjustment = "adjustment",
        /// Income tax withheld from a payout.
        Withholding = "withholding",
    }
}

impl Account {
    /// Accounts that hold money owed to a promoter (or by them, for netting).
    pub fn is_promoter(self) -> bool {
        matches!(
            self,
            Account::PromoterEstimated
                | Account::PromoterSettleable
                | Account::PromoterPayable
                | Account::PromoterNetting
        )
    }
}

/// The party of the platform's own accounts.
pub const PLATFORM: &str = "platform";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub account: Account,
    /// A promoter's id, a supplier's id, or [`PLATFORM`].
    pub party: String,
    pub amount: Minor,
}

fn entry(account: Account, party: &str, amount: Minor) -> Entry {
    Entry { account, party: party.to_owned(), amount }
}

/// Postings that sum to zero; the only way to build one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balanced(Vec<Entry>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("postings sum to {0}, not zero")]
pub struct Unbalanced(pub Minor);

impl Balanced {
    pub fn new(entries: Vec<Entry>) -> Result<Self, Unbalanced> {
        let entries: Vec<Entry> = entries.into_iter().filter(|e| e.amount != Minor::ZERO).collect();
        let sum: Minor = entries.iter().map(|e| e.amount).sum();
        if sum == Minor::ZERO { Ok(Self(entries)) } else { Err(Unbalanced(sum)) }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn stage_accounts(stage: Stage) -> (Account, Account) {
    match stage {
        Stage::Estimated => (Account::PromoterEstimated, Account::FeeEstimated),
        Stage::Settleable => (Account::PromoterSettleable, Account::FeeSettleable),
        // After settlement, changes are clawbacks (or credits) netted at the next
        // payout, and the fee comes out of (or back into) revenue.
        Stage::Settled => (Account::PromoterNetting, Account::FeeRevenue),
    }
}

/// A line's commission for a promoter moving from `before` to `after` at `stage`: the
/// supplier is charged the difference, split between promoter and platform.
pub fn commission_change(
    stage: Stage,
    supplier: &SupplierId,
    promoter: &PromoterId,
    before: Split,
    after: Split,
) -> Result<Balanced, Unbalanced> {
    let (promoter_account, fee_account) = stage_accounts(stage);
    Balanced::new(vec![
        entry(Account::SupplierCharges, supplier.as_str(), after.commission - before.commission),
        entry(promoter_account, promoter.as_str(), -(after.share - before.share)),
        entry(fee_account, PLATFORM, -(after.fee - before.fee)),
    ])
}

/// Lines becoming settleable: their share and fee move one stage on.
pub fn sweep(promoter: &PromoterId, moved: Split) -> Result<Balanced, Unbalanced> {
    let promoter = promoter.as_str();
    Balanced::new(vec![
        entry(Account::PromoterEstimated, promoter, moved.share),
        entry(Account::PromoterSettleable, promoter, -moved.share),
        entry(Account::FeeEstimated, PLATFORM, moved.fee),
        entry(Account::FeeSettleable, PLATFORM, -moved.fee),
    ])
}

/// A period closing into a payout line: settleable `share` becomes payable, the
/// `fee` becomes revenue, and the `netted` balance is cleared against the payable.
pub fn close(promoter: &PromoterId, share: Minor, fee: Minor, netted: Minor) -> Result<Balanced, Unbalanced> {
    let promoter = promoter.as_str();
    Balanced::new(vec![
        entry(Account::PromoterSettleable, promoter, share),
        entry(Account::PromoterPayable, promoter, -share),
        entry(Account::FeeSettleable, PLATFORM, fee),
        entry(Account::FeeRevenue, PLATFORM, -fee),
        entry(Account::PromoterPayable, promoter, netted),
        entry(Account::PromoterNetting, promoter, -netted),
    ])
}

/// A payout line paid.
pub fn payout(promoter: &PromoterId, amount: Minor) -> Result<Balanced, Unbalanced> {
    let promoter = promoter.as_str();
    Balanced::new(vec![entry(Account::PromoterPayable, promoter, amount), entry(Account::Payouts, promoter, -amount)])
}

/// Tax withheld from a payout line at its close: less is payable to the promoter,
/// the same is owed to the tax authority.
pub fn withholding(promoter: &PromoterId, tax: Minor) -> Result<Balanced, Unbalanced> {
    let promoter = promoter.as_str();
    Balanced::new(vec![entry(Account::PromoterPayable, promoter, tax), entry(Account::TaxWithheld, promoter, -tax)])
}

/// A manual adjustment: positive credits the promoter (due at the next payout),
/// negative debits them; the platform bears the other side.
pub fn adjustment(promoter: &PromoterId, amount: Minor) -> Result<Balanced, Unbalanced> {
    Balanced::new(vec![
        entry(Account::Adjustments, PLATFORM, amount),
        entry(Account::PromoterNetting, promoter.as_str(), -amount),
    ])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use xiaopu_money::Bps;

    use super::*;
    use crate::domain::split;

    fn sum(b: &Balanced) -> i64 {
        b.entries().iter().map(|e| e.amount).sum::<Minor>().get()
    }

    fn m(minor: i64) -> Minor {
        Minor::new(minor)
    }

    #[test]
    fn an_unbalanced_journal_cannot_be_built() {
        assert_eq!(Balanced::new(vec![entry(Account::Payouts, "p", m(1))]), Err(Unbalanced(m(1))));
        assert!(Balanced::new(vec![entry(Account::Payouts, "p", m(0))]).expect("zero").is_empty());
    }

    #[test]
    fn a_refund_after_payout_becomes_a_clawback() {
        let before = split(Minor::new(1094), Bps::clamped(1000));
        let after = split(Minor::new(547), Bps::clamped(1000));
        let journal = commission_change(Stage::Settled, &SupplierId::new("s"), &PromoterId::new("p"), before, after)
            .expect("balanced");
        let netting = journal.entries().iter().find(|e| e.account == Account::PromoterNetting).expect("netting");
        assert_eq!(netting.amount, m(985 - 492), "the promoter owes back their share of the difference");
        let supplier = journal.entries().iter().find(|e| e.account == Account::SupplierCharges).expect("supplier");
        assert_eq!(supplier.amount, m(-(1094 - 547)), "the supplier is credited the commission difference");
    }

    proptest! {
        /// Every movement balances, and a line's supplier charge always equals what
        /// the promoter and the platform are credited.
        #[test]
        fn every_movement_balances(c1 in 0i64..10_000_000, c2 in 0i64..10_000_000, fee_bps in 0i32..=10_000, stage in 0usize..3) {
            let stage = [Stage::Estimated, Stage::Settleable, Stage::Settled][stage];
            let fee = Bps::clamped(fee_bps);
            let (a, b) = (split(Minor::new(c1), fee), split(Minor::new(c2), fee));
            let p = PromoterId::new("p");
            let change = commission_change(stage, &SupplierId::new("s"), &p, a, b).expect("balanced");
            prop_assert_eq!(sum(&change), 0);
            let charged: i64 = change.entries().iter().filter(|e| e.account == Account::SupplierCharges).map(|e| e.amount.get()).sum();
            let credited: i64 = change.entries().iter().filter(|e| e.account != Account::SupplierCharges).map(|e| -e.amount.get()).sum();
            prop_assert_eq!(charged, credited);
            prop_assert_eq!(sum(&sweep(&p, b).expect("balanced")), 0);
            prop_assert_eq!(sum(&close(&p, b.share, b.fee, m(c1 - c2)).expect("balanced")), 0);
            prop_assert_eq!(sum(&payout(&p, m(c2)).expect("balanced")), 0);
            prop_assert_eq!(sum(&withholding(&p, m(c1)).expect("balanced")), 0);
            prop_assert_eq!(sum(&adjustment(&p, m(c1 - c2)).expect("balanced")), 0);
        }
    }
}
