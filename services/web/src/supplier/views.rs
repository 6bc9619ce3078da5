//! The supplier portal's templates and the rows they show; amounts arrive formatted.
use askama::Template;

use crate::pages::Frame;

/// What the product form shows: empty to publish, the product's values to edit.
#[derive(Default)]
pub struct ProductFields {
    pub title: String,
    pub description: String,
    /// Yuan, e.g. `39.90`.
    pub price: String,
    pub category: String,
    /// The stock status's proto name.
    pub stock: String,
    /// One URL per line.
    pub images: String,
    /// (value, words) of each stock status.
    pub stock_statuses: Vec<(String, String)>,
}

impl ProductFields {
    pub fn stock_is(&self, value: &str) -> bool {
        self.stock == value
    }
}

pub struct ProductRow {
    pub product_id: String,
    pub title: String,
    pub category: String,
    pub price: String,
    pub stock: String,
    pub status: String,
    pub rate: String,
    pub shops: i32,
}

#[derive(Template)]
#[template(path = "supplier/products.html")]
pub struct ProductsPage {
    pub frame: Frame,
    pub products: Vec<ProductRow>,
    pub next_page: Option<String>,
    pub fields: ProductFields,
    /// The publish form's request id: a resubmitted form publishes once.
    pub request_id: String,
}

pub struct RateRow {
    pub rate_id: String,
    pub rate: String,
    pub effective_from: String,
    pub set_at: String,
    /// 生效中 / 待生效 / 已取消 / 已失效.
    pub state: String,
    pub cancellable: bool,
}

#[derive(Template)]
#[template(path = "supplier/product.html")]
pub struct ProductPage {
    pub frame: Frame,
    pub product_id: String,
    pub title: String,
    pub fields: ProductFields,
    pub status: String,
    pub active: bool,
    pub current_rate: String,
    pub rates: Vec<RateRow>,
    /// The rate form's request id: a resubmitted form sets the rate once.
    pub request_id: String,
}

pub struct ChargeLine {
    pub paid_at: String,
    pub title: String,
    pub order_id: String,
    pub buyer: String,
    pub paid: String,
    pub rate: String,
    pub commission: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "supplier/charges.html")]
pub struct ChargesPage {
    pub frame: Frame,
    pub from: String,
    pub to: String,
    pub charged: String,
    pub service_fees: String,
    pub promoter_shares: String,
    pub order_lines: i64,
    pub lines: Vec<ChargeLine>,
    pub next_page: Option<String>,
}

pub struct BudgetRow {
    pub budget_id: String,
    /// 全部商品, or the product's title.
    pub scope: String,
    pub cap: String,
    pub spent: String,
    pub remaining: String,
    /// Whole percent of the cap spent, at most 100.
    pub used: i64,
    pub refused_lines: i64,
    pub status: String,
    /// 80 % or more spent.
    pub alarm: bool,
}

#[derive(Template)]
#[template(path = "supplier/budgets.html")]
pub struct BudgetsPage {
    pub frame: Frame,
    /// `YYYY-MM` shown.
    pub month: String,
    pub rows: Vec<BudgetRow>,
    /// The scopes at or past 80 %.
    pub warnings: Vec<String>,
    /// (product id, title) the form offers.
    pub products: Vec<(String, String)>,
    /// The form's request id: a resubmitted form sets the budget once.
    pub request_id: String,
}

pub struct GroupRow {
    pub group_id: String,
    pub name: String,
    /// 手动加入, or the last-month bar.
    pub joining: String,
    pub members: i64,
    pub rules_in_force: usize,
}

#[derive(Template)]
#[template(path = "supplier/groups.html")]
pub struct GroupsPage {
    pub frame: Frame,
    pub groups: Vec<GroupRow>,
    /// The create form's request id: a resubmitted form creates once.
    pub request_id: String,
}

pub struct GroupRuleRow {
    /// 全部商品, 品类：…, or the product's title.
    pub scope: String,
    pub kind: String,
    pub rate: String,
    pub effective_from: String,
    /// 生效中 / 待生效 / 已被取代.
    pub state: String,
}

pub struct MemberRow {
    pub promoter_id: String,
    pub joined_at: String,
    pub left_at: String,
    pub source: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "supplier/group.html")]
pub struct GroupPage {
    pub frame: Frame,
    pub group_id: String,
    pub group_name: String,
    pub joining: String,
    /// Yuan, for the edit form; empty when by hand only.
    pub promote_at: String,
    pub rules: Vec<GroupRuleRow>,
    pub members: Vec<MemberRow>,
    /// (product id, title) the rule form offers.
    pub products: Vec<(String, String)>,
    /// (value, words) of each rule kind.
    pub kinds: Vec<(String, String)>,
    /// The rule form's request id.
    pub request_id: String,
}
