//! Attribution's rules (DOMAIN.md rules 5–7), pure: who earns an order line, why or
//! why not, what it earns, and which commission changes that makes.
pub mod budget;
pub mod group;
pub mod line;
pub mod locks;
pub mod risk;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;
use xiaopu_common::ids::PromoterId;
use xiaopu_money::Bps;

/// The configured rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// A click counts for this long before the payment (15 days by default).
    pub window: TimeDelta,
    /// Whether a promoter buying through their own link earns.
    pub allow_self_purchase: bool,
    /// What wins when the order carries a code and its buyer also clicked a link.
    pub precedence: Precedence,
}

xiaopu_common::text_enum! {
    /// Which wins when an order carries a share code (a promo code the buyer typed,
    /// or the link the order was placed through) and its buyer's last click within
    /// the window was on another promoter's link.
    pub enum Precedence {
        /// The order's code: the default, as a coupon beats a browsing click.
        OrderCode = "order_code",
        /// The buyer's last click within the window; the order's code counts only
        /// when there is none.
        LastClick = "last_click",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub event_id: String,
    pub code: String,
    pub clicked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub code: String,
    pub shop_id: Uuid,
    pub promoter_id: PromoterId,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub rate_id: Uuid,
    pub bps: Bps,
}

/// What was true at the payment, as far as this service knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub buyer_id: String,
    pub paid_at: DateTime<Utc>,
    /// The share code the order carried.
    pub order_code: Option<String>,
    /// The buyer's last click at or before the payment.
    pub last_click: Option<Click>,
    /// The link of the code in use (the order's, else the last click's), if known.
    pub link: Option<Link>,
    /// Whether the product was listed in the link's shop at the payment.
    pub listed: bool,
    /// The link's shop status at the payment (None: no status known then).
    pub shop_active: Option<bool>,
    /// The product's rate in force at the payment.
    pub rate: Option<Rate>,
    pub product_id: Uuid,
    /// The product's category at the payment, if known.
    pub category: Option<String>,
    /// The link's promoter's memberships in groups of the product's supplier.
    pub groups: Vec<group::Membership>,
}

xiaopu_common::text_enum! {
    /// Why a line is (or is not) attributed, as stored and shown.
    pub enum Reason {
        OrderCode = "order_code",
        LastClick = "last_click",
        NoClick = "no_click",
        WindowExpired = "window_expired",
        UnknownCode = "unknown_code",
        LinkRevoked = "link_revoked",
        ProductNotListed = "product_not_listed",
        ShopSuspended = "shop_suspended",
        SelfPurchase = "self_purchase",
        NoRate = "no_rate",
        /// Decided for a promoter, but the supplier's budget had no room for it.
        BudgetExhausted = "budget_exhausted",
        /// Held by a risk rule and voided by finance.
        RiskVoided = "risk_voided",
    }
}

/// The promoter a code or click points at, whether or not they earn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub shop_id: Uuid,
    pub promoter_id: PromoterId,
    pub code: String,
}

/// Who earns a line and why, or why nobody does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub reason: Reason,
    pub summary: String,
    /// The code in use (even when unknown).
    pub code: Option<String>,
    pub candidate: Option<Candidate>,
    pub click: Option<Click>,
    /// The line's rate: the product's, or the one a group rule set (then in `group`).
    pub rate: Option<Rate>,
    pub group: Option<group::Applied>,
}

impl Decision {
    pub fn attributed(&self) -> bool {
        matches!(self.reason, Reason::OrderCode | Reason::LastClick)
    }

    /// The promoter who earns the line, when attributed.
    pub fn earner(&self) -> Option<&Candidate> {
        self.candidate.as_ref().filter(|_| self.attributed())
    }
}

/// A duration in the unit a person would use.
fn days(delta: TimeDelta) -> String {
    match delta.num_minutes() {
        m if m < 120 => format!("{m} minutes"),
        m if m < 48 * 60 => format!("{} hours", m / 60),
        m if m % (24 * 60) == 0 => format!("{} days", m / (24 * 60)),
        m => format!("{:.1} days", m as f64 / (24.0 * 60.0)),
    }
}

/// DOMAIN.md rule 5: the promoter of the order's share code, else of the buyer's last
/// click within the window; provided the product was listed in that shop and the
/// shop active at the payment, and the buyer is not the promoter.
pub fn decide(facts: &Facts, rules: &Rules) -> Decision {
    let mut decision = Decision {
        reason: Reason::NoClick,
        summary: String::new(),
        code: None,
        candidate: None,
        click: None,
        rate: None,
        group: None,
    };
    // Under last-click precedence a click within the window beats the order's code.
    let click_first = facts.order_code.is_some()
        && rules.precedence == Precedence::LastClick
        && facts.last_click.as_ref().is_some_and(|c| facts.paid_at - c.clicked_at <= rules.window);
    let (code, used_at) = match (&facts.order_code, &facts.last_click) {
        (Some(_), Some(click)) if click_first => {
            decision.click = Some(click.clone());
            (click.code.clone(), click.clicked_at)
        }
        (Some(code), _) => (code.clone(), facts.paid_at),
        (None, None) => {
            decision.summary = "no share code on the order and no click by the buyer before paying".into();
            return decision;
        }
        (None, Some(click)) => {
            decision.click = Some(click.clone());
            decision.code = Some(click.code.clone());
            let age = facts.paid_at - click.clicked_at;
            if age > rules.window {
                decision.reason = Reason::WindowExpired;
                decision.summary = format!(
                    "the buyer's last click (code {}) was {} before paying, beyond the {} window",
                    click.code,
                    days(age),
                    days(rules.window)
                );
                return decision;
            }
            (click.code.clone(), click.clicked_at)
        }
    };
    decision.code = Some(code.clone());
    let by_order_code = facts.order_code.is_some() && !click_first;
    let via = if by_order_code { "the order's share code" } else { "the buyer's last click on share code" };
    let Some(link) = &facts.link else {
        decision.reason = Reason::UnknownCode;
        decision.summary = format!("{via} {code} is not a known share code");
        return decision;
    };
    // The code as kept (a promo code typed in lower case is upper-case there).
    let code = link.code.clone();
    decision.code = Some(code.clone());
    decision.candidate =
        Some(Candidate { shop_id: link.shop_id, promoter_id: link.promoter_id.clone(), code: code.clone() });
    if link.created_at > used_at || link.revoked_at.is_some_and(|revoked| revoked <= used_at) {
        decision.reason = Reason::LinkRevoked;
        decision.summary = format!("{via} {code} was not live when used (revoked or not yet created)");
        return decision;
    }
    if !facts.listed {
        decision.reason = Reason::ProductNotListed;
        decision.summary = format!("the product was not listed in the shop of {code} when the order was paid");
        return decision;
    }
    if facts.shop_active != Some(true) {
        decision.reason = Reason::ShopSuspended;
        decision.summary = format!("the shop of {code} was not active when the order was paid");
        return decision;
    }
    if !rules.allow_self_purchase && facts.buyer_id == link.promoter_id.as_str() {
        decision.reason = Reason::SelfPurchase;
        decision.summary = "the promoter bought through their own link, which earns nothing".into();
        return decision;
    }
    let Some(mut rate) = facts.rate else {
        decision.reason = Reason::NoRate;
        decision.summary = "the supplier had no commission rate in force for the product when it was paid".into();
        return decision;
    };
    decision.group = group::apply(&facts.groups, facts.paid_at, facts.product_id, facts.category.as_deref(), rate.bps);
    if let Some(applied) = &decision.group {
        rate.bps = applied.rate;
    }
    decision.rate = Some(rate);
    if by_order_code {
        decision.reason = Reason::OrderCode;
        decision.summary =
            format!("attributed to {} through the order's share code {code}, at {} bps", link.promoter_id, rate.bps);
    } else {
        decision.reason = Reason::LastClick;
        decision.summary = format!(
            "attributed to {} through the buyer's last click on {code} ({} before paying), at {} bps",
            link.promoter_id,
            days(facts.paid_at - used_at),
            rate.bps
        );
        if let Some(order_code) = facts.order_code.as_ref().filter(|_| click_first) {
            decision
                .summary
                .push_str(&format!("; the click comes before the order's code {order_code} (last-click precedence)"));
        }
    }
    if let Some(g) = &decision.group {
        let how = match g.rule.kind {
            group::Kind::Uplift => format!("the product's {} bps + {} bps", g.base, g.rule.bps),
            group::Kind::Absolute => format!("instead of the product's {} bps", g.base),
        };
        decision.summary.push_str(&format!(
            "; the rate is group {}'s ({how}, rule {} from {})",
            g.group_name,
            g.rule.rule_id,
            g.rule.effective_from.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    decision
}

#[cfg(test)]
mod tests;
