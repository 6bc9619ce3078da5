//! Comparing one order line as attribution sees it with the ledger's positions.

/// A difference found on one line for one promoter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Attribution attributes commission the ledger does not hold.
    MissingInLedger {
        promoter: String,
        expected: i64,
    },
    /// The ledger holds commission attribution does not attribute to that promoter.
    MissingInAttribution {
        promoter: String,
        actual: i64,
    },
    Mismatch {
        promoter: String,
        expected: i64,
        actual: i64,
    },
}

/// Attribution's (promoter, commission) for a line, if attributed, against the
/// ledger's positions of the line. A position at zero (a line moved away, or fully
/// refunded) matches attribution having nothing for that promoter.
pub fn compare(attribution: Option<(&str, i64)>, ledger: &[(&str, i64)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some((promoter, expected)) = attribution {
        match ledger.iter().find(|(p, _)| *p == promoter) {
            None if expected != 0 => findings.push(Finding::MissingInLedger { promoter: promoter.into(), expected }),
            Some((_, actual)) if *actual != expected => {
                findings.push(Finding::Mismatch { promoter: promoter.into(), expected, actual: *actual })
            }
            _ => {}
        }
    }
    for (promoter, actual) in ledger {
        let attributed_here = attribution.is_some_and(|(p, _)| p == *promoter);
        if !attributed_here && *actual != 0 {
            findings.push(Finding::MissingInAttribution { promoter: (*promoter).into(), actual: *actual });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_lines_find_nothing() {
        assert!(compare(Some(("a", 1094)), &[("a", 1094)]).is_empty());
        assert!(compare(Some(("b", 500)), &[("a", 0), ("b", 500)]).is_empty(), "moved from a to b");
        assert!(compare(None, &[("a", 0)]).is_empty(), "fully refunded, then unattributed");
        assert!(compare(Some(("a", 0)), &[]).is_empty(), "void before the ledger saw it");
    }

    #[test]
    fn each_difference_is_named() {
        assert_eq!(
            compare(Some(("a", 1094)), &[]),
            [Finding::MissingInLedger { promoter: "a".into(), expected: 1094 }]
        );
        assert_eq!(compare(None, &[("a", 7)]), [Finding::MissingInAttribution { promoter: "a".into(), actual: 7 }]);
        assert_eq!(
            compare(Some(("a", 1094)), &[("a", 1095)]),
            [Finding::Mismatch { promoter: "a".into(), expected: 1094, actual: 1095 }]
        );
    }
}
