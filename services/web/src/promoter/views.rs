//! The promoter app's templates and the rows they show; amounts arrive formatted.
use askama::Template;

use crate::pages::Frame;

/// The tabs of the app, and which one a page is.
pub struct Tabs(pub &'static str);

impl Tabs {
    pub const ALL: &'static [(&'static str, &'static str, &'static str)] = &[
        ("home", "/app", "首页"),
        ("supply", "/app/supply", "选品"),
        ("listings", "/app/listings", "我的商品"),
        ("links", "/app/links", "推广链接"),
        ("orders", "/app/orders", "订单"),
        ("earnings", "/app/earnings", "收益"),
        ("stats", "/app/stats", "数据"),
        ("groups", "/app/groups", "等级"),
        ("webhooks", "/app/webhooks", "推送"),
    ];

    pub fn is(&self, tab: &str) -> bool {
        self.0 == tab
    }
}

#[derive(Template)]
#[template(path = "app/home.html")]
pub struct HomePage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub status: String,
    pub status_reason: String,
    pub next_step: String,
    pub eligible: bool,
    pub shop: Option<ShopView>,
    pub earnings: Option<EarningsView>,
}

pub struct ShopView {
    pub name: String,
    pub status: String,
    pub listing_count: i32,
}

pub struct EarningsView {
    pub estimated: String,
    pub settleable: String,
    pub settled: String,
    pub paid: String,
    pub owed_back: String,
    pub withheld: String,
    pub fee: String,
    pub on_hold: bool,
    pub has_payout_profile: bool,
}

pub struct OfferRow {
    pub product_id: String,
    pub title: String,
    pub category: String,
    pub price: String,
    pub rate: String,
    pub share_per_unit: String,
    pub image: Option<String>,
    pub stock: String,
}

#[derive(Template)]
#[template(path = "app/supply.html")]
pub struct SupplyPage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub query: String,
    pub category: String,
    pub min_rate: String,
    pub fee: String,
    pub offers: Vec<OfferRow>,
    pub next_page: Option<String>,
    pub has_shop: bool,
}

pub struct ListingRow {
    pub listing_id: String,
    pub position: i32,
    pub title: String,
    pub price: String,
    pub rate: String,
    pub share_per_unit: String,
    pub reason: String,
    pub image: Option<String>,
}

#[derive(Template)]
#[template(path = "app/listings.html")]
pub struct ListingsPage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub count: i32,
    pub cap: i32,
    pub listings: Vec<ListingRow>,
    pub next_page: Option<String>,
}

pub struct LinkRow {
    pub code: String,
    pub url: String,
    pub channel: String,
    pub target: String,
    pub revoked: bool,
    /// A promo code (口令) the promoter chose.
    pub promo_code: bool,
}

#[derive(Template)]
#[template(path = "app/links.html")]
pub struct LinksPage {
    pub frame: Frame,
    pub tabs: Tabs,
    /// (value, words) of each channel.
    pub channels: Vec<(i32, String)>,
    /// (listing id, title) of the listings a link may point at.
    pub listings: Vec<(String, String)>,
    pub links: Vec<LinkRow>,
    pub has_shop: bool,
    /// The promo code form's request id: a resubmitted form creates once.
    pub request_id: String,
}

pub struct FigureRow {
    pub name: String,
    pub code: String,
    pub clicks: i64,
    pub orders: i64,
    pub commission: String,
}

#[derive(Template)]
#[template(path = "app/stats.html")]
pub struct StatsPage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub from: String,
    pub to: String,
    pub links: Vec<FigureRow>,
    pub channels: Vec<FigureRow>,
}

pub struct OrderRow {
    pub line_id: String,
    pub title: String,
    pub buyer: String,
    pub paid_at: String,
    pub paid: String,
    pub state: String,
    pub reason: String,
    pub commission: String,
    /// 风控审核中 while a risk rule holds it; empty otherwise.
    pub risk: String,
}

#[derive(Template)]
#[template(path = "app/orders.html")]
pub struct OrdersPage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub fee: String,
    pub orders: Vec<OrderRow>,
    pub next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "app/line.html")]
pub struct LinePage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub order: OrderRow,
    pub share_code: String,
    pub clicked_at: String,
    pub window_days: i32,
    pub rate: String,
    pub refunded: String,
}

pub struct PayoutRow {
    pub period: String,
    pub status: String,
    pub amount: String,
    pub reference: String,
}

#[derive(Template)]
#[template(path = "app/earnings.html")]
pub struct EarningsPage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub earnings: EarningsView,
    pub payouts: Vec<PayoutRow>,
}

/// A group the promoter is in, as the 等级 tab shows it.
pub struct MyGroup {
    pub name: String,
    pub supplier_id: String,
    pub since: String,
    /// Empty while open-ended.
    pub until: String,
    /// (scope, what it gives) of each rule in force.
    pub rules: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "app/groups.html")]
pub struct GroupsPage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub groups: Vec<MyGroup>,
}
