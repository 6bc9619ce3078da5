//! The shop pages' templates and what they show. No view has a field for
//! commission: a buyer never sees one.
use askama::Template;

use crate::i18n::Lang;

/// One product as the buyer sees it.
pub struct Item {
    pub title: String,
    pub description: String,
    pub reason: String,
    /// e.g. `¥199.00`.
    pub price: String,
    pub image: Option<String>,
    pub buy_url: String,
    pub sold_out: bool,
}

#[derive(Template)]
#[template(path = "shop.html")]
pub struct ShopPage {
    pub lang: Lang,
    pub shop_name: String,
    pub description: String,
    pub promoter: String,
    pub listing_count: i32,
    pub items: Vec<Item>,
    /// The next page's URL, when there is one.
    pub next_page: Option<String>,
    /// Why the shop shows nothing, when it does not.
    pub notice: String,
}

#[derive(Template)]
#[template(path = "product.html")]
pub struct ProductPage {
    pub lang: Lang,
    pub shop_name: String,
    pub promoter: String,
    pub item: Item,
    pub images: Vec<String>,
}

#[derive(Template)]
#[template(path = "notice.html")]
pub struct Notice {
    pub lang: Lang,
    pub title: String,
    pub heading: String,
    pub detail: String,
}

/// The 输入口令 page: a code to type, and why the last one did not work.
#[derive(Template)]
#[template(path = "code.html")]
pub struct CodePage {
    pub lang: Lang,
    pub code: String,
    pub error: String,
}
