//! The storefront's rules (DOMAIN.md rules 2–5), pure: no database, no gRPC.
pub mod share_code;

use chrono::{DateTime, Utc};
use xiaopu_money::{Bps, Minor};

/// DOMAIN.md rule 2: at most this many listings in one shop.
pub const MAX_LISTINGS_PER_SHOP: i32 = 1000;
/// The promoter's recommendation reason (推荐理由), in characters.
pub const MAX_REASON_CHARS: usize = 200;

xiaopu_common::text_enum! {
    pub enum StockStatus {
        InStock = "in_stock",
        LowStock = "low_stock",
        OutOfStock = "out_of_stock",
    }
}

xiaopu_common::text_enum! {
    pub enum ProductStatus {
        Active = "active",
        Withdrawn = "withdrawn",
    }
}

xiaopu_common::text_enum! {
    /// A suspended shop's page says so and its links stop attributing.
    pub enum ShopStatus {
        Active = "active",
        Suspended = "suspended",
    }
}

xiaopu_common::text_enum! {
    /// Where a share link is promoted.
    pub enum Channel {
        Wechat = "wechat",
        Moments = "moments",
        Douyin = "douyin",
        Weibo = "weibo",
        Xiaohongshu = "xiaohongshu",
        Live = "live",
        Other = "other",
    }
}

xiaopu_common::text_enum! {
    /// Why a listing ended.
    pub enum RemovalReason {
        ByPromoter = "removed_by_promoter",
        ProductWithdrawn = "product_withdrawn",
    }
}

/// The bounds suppliers' rates must stay within (configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBounds {
    pub min_bps: i32,
    pub max_bps: i32,
}

impl RateBounds {
    /// The rule a rate broke, naming the bound.
    pub fn check(&self, rate_bps: i32) -> Result<(), String> {
        if rate_bps < self.min_bps {
            return Err(format!("must be at least {} bps (the configured minimum)", self.min_bps));
        }
        if rate_bps > self.max_bps {
            return Err(format!("must be at most {} bps (the configured maximum)", self.max_bps));
        }
        Ok(())
    }
}

/// What one unit sold at `price` earns at `rate_bps`, by the one rounding rule.
pub fn commission_per_unit(price: Minor, rate: Bps) -> Minor {
    price.at(rate)
}

/// The shop's status after eligibility says the promoter is (not) suspended.
pub fn shop_status_for(promoter_suspended: bool) -> ShopStatus {
    if promoter_suspended { ShopStatus::Suspended } else { ShopStatus::Active }
}

/// An interval of a listing's life: listed at `from`, until `to` if it ended.
pub fn covers(from: DateTime<Utc>, to: Option<DateTime<Utc>>, at: DateTime<Utc>) -> bool {
    from <= at && to.is_none_or(|to| at < to)
}

/// Positions after reordering: the given listings first in the given order, then the
/// rest in their current order. `current` is (id, position) of every active listing.
pub fn reorder<Id: PartialEq + Clone>(current: &[(Id, i32)], first: &[Id]) -> Vec<(Id, i32)> {
    let mut rest: Vec<&(Id, i32)> = current.iter().filter(|(id, _)| !first.contains(id)).collect();
    rest.sort_by_key(|(_, position)| *position);
    first.iter().cloned().chain(rest.into_iter().map(|(id, _)| id.clone())).zip(1..).collect()
}

/// Escapes `%`, `_` and `\` so a keyword matches literally inside `ILIKE '%…%'`.
pub fn like_pattern(keyword: &str) -> String {
    let mut pattern = String::with_capacity(keyword.len() + 2);
    pattern.push('%');
    for c in keyword.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn rate_bounds_name_the_bound() {
        let bounds = RateBounds { min_bps: 1, max_bps: 9000 };
        assert!(bounds.check(1).is_ok() && bounds.check(9000).is_ok());
        assert!(bounds.check(0).expect_err("below").contains("at least 1 bps"));
        assert!(bounds.check(9001).expect_err("above").contains("at most 9000 bps"));
    }

    #[test]
    fn commission_per_unit_rounds_half_even() {
        assert_eq!(commission_per_unit(Minor::new(19900), Bps::clamped(550)), Minor::new(1094));
        assert_eq!(commission_per_unit(Minor::new(250), Bps::clamped(250)), Minor::new(6));
    }

    #[test]
    fn listing_intervals_are_half_open() {
        let t = Utc::now();
        let s = TimeDelta::seconds(1);
        assert!(covers(t, None, t));
        assert!(!covers(t, None, t - s));
        assert!(covers(t, Some(t + s), t));
        assert!(!covers(t, Some(t + s), t + s));
    }

    #[test]
    fn reorder_puts_the_given_first_and_keeps_the_rest() {
        let current = [("a", 1), ("b", 2), ("c", 3), ("d", 4)];
        assert_eq!(reorder(&current, &["c", "a"]), [("c", 1), ("a", 2), ("b", 3), ("d", 4)]);
        assert_eq!(reorder(&current, &[]), [("a", 1), ("b", 2), ("c", 3), ("d", 4)]);
    }

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
        assert_eq!(like_pattern("茶"), "%茶%");
    }

    #[test]
    fn enums_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
