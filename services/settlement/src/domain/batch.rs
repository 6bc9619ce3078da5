//! Periods and payout batches. A period [from, to) may be closed only once it has
//! ended, and never over time a closed period already holds; its batch is drafted by
//! the close, approved by a second finance user, exported, and then follows its lines.
use chrono::{DateTime, Utc};

/// Why a period cannot be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It ends after `now`: lines may still become settleable inside it.
    NotEnded { to: DateTime<Utc>, now: DateTime<Utc> },
    /// It shares time with this closed period (not the same one: that is a retry).
    Overlaps { from: DateTime<Utc>, to: DateTime<Utc> },
}

/// Whether the period [from, to) may be closed at `now`, given a closed period that
/// shares time with it, if any.
pub fn may_close(
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
    overlapping: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<(), Refusal> {
    if to > now {
        return Err(Refusal::NotEnded { to, now });
    }
    match overlapping {
        Some((a, b)) if (a, b) != (from, to) && a < to && from < b => Err(Refusal::Overlaps { from: a, to: b }),
        _ => Ok(()),
    }
}

xiaopu_common::text_enum! {
    /// A payout batch's status.
    pub enum BatchStatus {
        Draft = "draft",
        Approved = "approved",
        Exported = "exported",
        /// Every payable line paid.
        Paid = "paid",
        /// Every payable line recorded, some failed.
        PartiallyPaid = "partially_paid",
    }
}

impl BatchStatus {
    /// Whether payouts may be recorded (or a record retried) on its lines.
    pub fn records_payouts(self) -> bool {
        matches!(self, BatchStatus::Exported | BatchStatus::Paid | BatchStatus::PartiallyPaid)
    }

    /// The status of an exported batch once its payable lines are as counted: it stays
    /// exported while any is pending.
    pub fn after_payouts(pending: i64, failed: i64) -> Self {
        match (pending, failed) {
            (0, 0) => BatchStatus::Paid,
            (0, _) => BatchStatus::PartiallyPaid,
            _ => BatchStatus::Exported,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time") + TimeDelta::days(n)
    }

    #[test]
    fn only_an_ended_period_clear_of_closed_time_may_close() {
        let now = day(31);
        assert_eq!(may_close((day(0), day(30)), now, None), Ok(()));
        assert_eq!(may_close((day(0), day(31)), now, None), Ok(()), "ending exactly now has ended");
        assert_eq!(may_close((day(0), day(32)), now, None), Err(Refusal::NotEnded { to: day(32), now }));
        let closed = Some((day(0), day(15)));
        assert_eq!(may_close((day(10), day(20)), now, closed), Err(Refusal::Overlaps { from: day(0), to: day(15) }));
        assert_eq!(may_close((day(15), day(30)), now, closed), Ok(()), "the next period touches, not overlaps");
        assert_eq!(may_close((day(0), day(15)), now, closed), Ok(()), "the same period: a retry");
        assert!(may_close((day(5), day(6)), now, closed).is_err(), "inside a closed one");
    }

    #[test]
    fn a_batch_follows_its_lines_once_exported() {
        assert_eq!(BatchStatus::after_payouts(2, 0), BatchStatus::Exported);
        assert_eq!(BatchStatus::after_payouts(1, 1), BatchStatus::Exported);
        assert_eq!(BatchStatus::after_payouts(0, 0), BatchStatus::Paid);
        assert_eq!(BatchStatus::after_payouts(0, 1), BatchStatus::PartiallyPaid);
        for status in [BatchStatus::Draft, BatchStatus::Approved] {
            assert!(!status.records_payouts());
            assert_eq!(BatchStatus::parse(status.as_str()), Some(status));
        }
        assert!(BatchStatus::PartiallyPaid.records_payouts());
        assert_eq!(BatchStatus::parse("paid"), Some(BatchStatus::Paid));
        assert_eq!(BatchStatus::parse("lost"), None);
    }
}
