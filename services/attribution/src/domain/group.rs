//! Promoter groups (等级), pure: which group rule sets a line's rate. A promoter in a
//! supplier's group at the payment earns, on that supplier's products, the rate of the
//! group's rule then in force for the product (its own rule beats its category's,
//! which beats the catalogue's); in several groups, the best of them.
use chrono::{DateTime, Utc};
use uuid::Uuid;
use xiaopu_money::Bps;

xiaopu_common::text_enum! {
    /// How a rule sets a rate.
    pub enum Kind {
        /// Added to the product's rate (at most 100 %).
        Uplift = "uplift",
        /// Instead of the product's rate.
        Absolute = "absolute",
    }
}

/// What a rule covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Product(Uuid),
    Category(String),
    Catalogue,
}

impl Scope {
    /// How specific it is: the most specific rule in force wins.
    fn rank(&self) -> u8 {
        match self {
            Scope::Product(_) => 2,
            Scope::Category(_) => 1,
            Scope::Catalogue => 0,
        }
    }

    fn covers(&self, product_id: Uuid, category: Option<&str>) -> bool {
        match self {
            Scope::Product(p) => *p == product_id,
            Scope::Category(c) => category == Some(c.as_str()),
            Scope::Catalogue => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub rule_id: Uuid,
    pub scope: Scope,
    pub kind: Kind,
    pub bps: Bps,
    pub effective_from: DateTime<Utc>,
}

impl Rule {
    /// The rate this rule gives on `base`.
    pub fn rate_on(&self, base: Bps) -> Bps {
        match self.kind {
            Kind::Absolute => self.bps,
            Kind::Uplift => Bps::clamped(base.get().saturating_add(self.bps.get())),
        }
    }
}

/// One of a promoter's memberships in a group of the line's supplier, with the group's
/// rules (all of them: history included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group_id: Uuid,
    pub group_name: String,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub rules: Vec<Rule>,
}

impl Membership {
    fn covers(&self, at: DateTime<Utc>) -> bool {
        self.joined_at <= at && self.left_at.is_none_or(|left| at < left)
    }

    /// The group's rule in force at `at` for the product: of the rules begun by then
    /// that cover it, the most specific scope's latest.
    pub fn rule_at(&self, at: DateTime<Utc>, product_id: Uuid, category: Option<&str>) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.effective_from <= at && r.scope.covers(product_id, category))
            .max_by_key(|r| (r.scope.rank(), r.effective_from, r.rule_id))
    }
}

/// The group rule that set a line's rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub group_id: Uuid,
    pub group_name: String,
    pub rule: Rule,
    /// The product's own rate at the payment.
    pub base: Bps,
    /// The line's rate.
    pub rate: Bps,
}

/// The best rate the promoter's groups give at `paid_at` on a product whose own rate
/// was `base`, if any group of theirs has a rule for it then; ties go to the group
/// created first (the smaller id).
pub fn apply(
    memberships: &[Membership],
    paid_at: DateTime<Utc>,
    product_id: Uuid,
    category: Option<&str>,
    base: Bps,
) -> Option<Applied> {
    memberships
        .iter()
        .filter(|m| m.covers(paid_at))
        .filter_map(|m| {
            let rule = m.rule_at(paid_at, product_id, category)?;
            Some(Applied {
                group_id: m.group_id,
                group_name: m.group_name.clone(),
                rule: rule.clone(),
                base,
                rate: rule.rate_on(base),
            })
        })
        .max_by(|a, b| a.rate.cmp(&b.rate).then(b.group_id.cmp(&a.group_id)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use proptest::prelude::*;

    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time") + TimeDelta::hours(hours)
    }

    fn rule(id: u128, scope: Scope, kind: Kind, bps: i32, from: i64) -> Rule {
        Rule { rule_id: Uuid::from_u128(id), scope, kind, bps: Bps::clamped(bps), effective_from: at(from) }
    }

    fn member(id: u128, joined: i64, left: Option<i64>, rules: Vec<Rule>) -> Membership {
        Membership {
            group_id: Uuid::from_u128(id),
            group_name: format!("g{id}"),
            joined_at: at(joined),
            left_at: left.map(at),
            rules,
        }
    }

    const P: Uuid = Uuid::from_u128(100);

    #[test]
    fn a_rule_applies_from_its_moment_and_not_before() {
        let m = member(1, 0, None, vec![rule(1, Scope::Catalogue, Kind::Uplift, 150, 10)]);
        let base = Bps::clamped(550);
        assert_eq!(apply(std::slice::from_ref(&m), at(9), P, None, base), None);
        let applied = apply(&[m], at(10), P, None, base).expect("in force");
        assert_eq!((applied.rate.get(), applied.base.get()), (700, 550));
    }

    #[test]
    fn the_most_specific_scope_wins_and_a_later_rule_supersedes() {
        let m = member(
            1,
            0,
            None,
            vec![
                rule(1, Scope::Catalogue, Kind::Uplift, 100, 0),
                rule(2, Scope::Category("tea".into()), Kind::Absolute, 900, 0),
                rule(3, Scope::Product(P), Kind::Uplift, 50, 5),
                rule(4, Scope::Product(P), Kind::Uplift, 0, 8),
            ],
        );
        let base = Bps::clamped(500);
        let rate = |hour, category| apply(std::slice::from_ref(&m), at(hour), P, category, base).map(|a| a.rate.get());
        assert_eq!(rate(1, None), Some(600), "the catalogue's");
        assert_eq!(rate(1, Some("tea")), Some(900), "the category's");
        assert_eq!(rate(6, Some("tea")), Some(550), "the product's");
        assert_eq!(rate(9, Some("tea")), Some(500), "an uplift of 0 ends it");
        assert_eq!(apply(&[m], at(1), Uuid::from_u128(7), Some("cups"), base).map(|a| a.rate.get()), Some(600));
    }

    #[test]
    fn membership_bounds_and_the_best_group_win() {
        let groups = [
            member(1, 0, Some(5), vec![rule(1, Scope::Catalogue, Kind::Uplift, 300, 0)]),
            member(2, 0, None, vec![rule(2, Scope::Catalogue, Kind::Uplift, 100, 0)]),
            member(3, 0, None, vec![rule(3, Scope::Catalogue, Kind::Absolute, 9500, 0)]),
        ];
        let base = Bps::clamped(9800);
        let best = apply(&groups, at(1), P, None, base).expect("best");
        assert_eq!((best.group_id, best.rate), (Uuid::from_u128(1), Bps::FULL), "an uplift stops at 100 %");
        let rate = |from: usize| apply(&groups[from..], at(1), P, None, base).map(|a| a.rate.get());
        assert_eq!(rate(1), Some(9900), "the better of an uplift and an absolute rate");
        assert_eq!(rate(2), Some(9500), "an absolute rate stands even below the product's");
        assert_eq!(apply(&groups[..1], at(5), P, None, base), None, "left at hour 5");
    }

    proptest! {
        /// An uplift never lowers the rate and never passes 100 %; the applied rate is
        /// one some in-force rule gives.
        #[test]
        fn uplifts_only_raise(base in 0i32..=10_000, bps in 0i32..=10_000) {
            let r = rule(1, Scope::Catalogue, Kind::Uplift, bps, 0);
            let rate = r.rate_on(Bps::clamped(base)).get();
            prop_assert!(rate >= base && rate <= 10_000);
            prop_assert_eq!(rate, (base + bps).min(10_000));
        }
    }
}
