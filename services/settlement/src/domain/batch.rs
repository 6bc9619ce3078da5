//! What a payout batch's status says: it is drafted by a close, approved by a second
//! finance user, exported, and then follows its lines.

/// A payout batch's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    Draft,
    Approved,
    Exported,
    /// Every payable line paid.
    Paid,
    /// Every payable line recorded, some failed.
    PartiallyPaid,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Draft => "draft",
            BatchStatus::Approved => "approved",
            BatchStatus::Exported => "exported",
            BatchStatus::Paid => "paid",
            BatchStatus::PartiallyPaid => "partially_paid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use BatchStatus::*;
        [Draft, Approved, Exported, Paid, PartiallyPaid].into_iter().find(|st| st.as_str() == s)
    }

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
    use super::*;

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
