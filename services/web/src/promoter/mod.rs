//! `/app`: the promoter app (店主), mobile-first and rendered on the server, so it
//! works in WeChat's in-app browser with no build step and no script beyond the copy
//! button. A promoter signs in (a token from the identity provider, or the local
//! development sign-in) and every page calls the services with their own token: the
//! services decide what they may see and do.
mod groups;
mod home;
mod links;
mod listings;
mod orders;
mod views;

pub use views::Tabs;

use axum::{
    Router,
    routing::{get, post},
};
use xiaopu_api::storefront as sf;
use xiaopu_money::{Bps, Minor};

use crate::{
    SharedApp,
    pages::{money, percent},
    session::{self, Promoter},
    webhooks,
};

/// A signed-in promoter.
pub type Session = session::Session<Promoter>;

pub fn router() -> Router<SharedApp> {
    Router::new()
        .route("/", get(home::home))
        .route("/sign-in", get(session::sign_in_page::<Promoter>).post(session::sign_in::<Promoter>))
        .route("/dev-sign-in", post(session::dev_sign_in::<Promoter>))
        .route("/sign-out", post(session::sign_out::<Promoter>))
        .route("/shop", post(home::open_shop))
        .route("/supply", get(listings::supply))
        .route("/listings", get(listings::listings).post(listings::add))
        .route("/listings/{listing_id}/reason", post(listings::set_reason))
        .route("/listings/{listing_id}/up", post(listings::move_up))
        .route("/listings/{listing_id}/remove", post(listings::remove))
        .route("/links", get(links::links).post(links::create))
        .route("/links/codes", post(links::create_promo_code))
        .route("/links/{code}/revoke", post(links::revoke))
        .route("/stats", get(links::stats))
        .route("/groups", get(groups::groups))
        .route("/orders", get(orders::orders))
        .route("/orders/{line_id}", get(orders::line))
        .route("/earnings", get(orders::earnings_page))
        .route("/webhooks", get(webhooks::page::<Promoter>).post(webhooks::create::<Promoter>))
        .route("/webhooks/{webhook_id}/delete", post(webhooks::delete::<Promoter>))
        .route("/webhooks/deliveries/{delivery_id}/resend", post(webhooks::resend::<Promoter>))
}

/// The channels a promoter shares through, in the order the app offers them.
const CHANNELS: &[sf::Channel] = &[
    sf::Channel::Wechat,
    sf::Channel::Moments,
    sf::Channel::Douyin,
    sf::Channel::Xiaohongshu,
    sf::Channel::Weibo,
    sf::Channel::Live,
    sf::Channel::Other,
];

/// What one unit earns the promoter after the platform's service fee.
fn share_per_unit(offer_price: Option<&xiaopu_api::types::Money>, rate_bps: i32, fee_bps: i32) -> String {
    let Some(price) = offer_price else { return String::new() };
    let commissionable = Minor::new(price.minor_units.max(0));
    let share = xiaopu_money::split(commissionable, Bps::clamped(rate_bps), Bps::clamped(fee_bps)).promoter_share;
    money(Some(&xiaopu_api::types::Money { minor_units: share.get(), currency: price.currency.clone() }))
}
