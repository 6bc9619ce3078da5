//! `/supplier`: the supplier portal, for a desk. A supplier signs in (a token from
//! the identity provider, or the local development sign-in) and manages their
//! products and commission rates (history kept; a scheduled rate can be cancelled
//! until it applies), sees how many shops list each product, and what they have
//! been charged in a period with the order lines behind it, caps the commission a
//! month may cost (budgets, warned from 80 %), runs promoter groups with their own
//! rates (等级), and subscribes its systems to events.
//! Every call carries the supplier's own token.
mod budgets;
mod charges;
mod groups;
mod products;
mod views;

use axum::{
    Router,
    routing::{get, post},
};

use xiaopu_api::storefront as sf;

use crate::{
    SharedApp,
    session::{self, Supplier},
    webhooks,
};

/// A signed-in supplier.
pub type Session = session::Session<Supplier>;

/// The platform's currency for amounts typed in the portal.
const CURRENCY: &str = "CNY";
/// The most of a supplier's products a scope list (budgets, group rules) offers.
const PRODUCTS_OFFERED: i32 = 200;

/// An amount typed in yuan (`5000`, `39.90`) in minor units, if it is one.
fn yuan(typed: &str) -> Option<i64> {
    xiaopu_money::parse_decimal(typed.trim(), xiaopu_money::minor_digits(CURRENCY))
}

/// The supplier's products a scope list offers.
async fn offered_products(app: &SharedApp, session: &Session) -> Result<Vec<sf::Product>, tonic::Status> {
    let request = sf::ListSupplierProductsRequest {
        supplier_id: session.user.clone(),
        page_size: PRODUCTS_OFFERED,
        page_token: String::new(),
    };
    Ok(app.storefront_as_user.clone().list_supplier_products(session.request(request)).await?.into_inner().products)
}

pub fn router() -> Router<SharedApp> {
    Router::new()
        .route("/", get(products::list))
        .route("/sign-in", get(session::sign_in_page::<Supplier>).post(session::sign_in::<Supplier>))
        .route("/dev-sign-in", post(session::dev_sign_in::<Supplier>))
        .route("/sign-out", post(session::sign_out::<Supplier>))
        .route("/products", post(products::publish))
        .route("/products/{product_id}", get(products::product).post(products::update))
        .route("/products/{product_id}/withdraw", post(products::withdraw))
        .route("/products/{product_id}/rates", post(products::set_rate))
        .route("/products/{product_id}/rates/{rate_id}/cancel", post(products::cancel_rate))
        .route("/charges", get(charges::charges))
        .route("/budgets", get(budgets::page).post(budgets::set))
        .route("/budgets/{budget_id}/remove", post(budgets::remove))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{group_id}", get(groups::group).post(groups::update))
        .route("/groups/{group_id}/rules", post(groups::set_rule))
        .route("/groups/{group_id}/members", post(groups::add_member))
        .route("/groups/{group_id}/members/{promoter_id}/remove", post(groups::remove_member))
        .route("/webhooks", get(webhooks::page::<Supplier>).post(webhooks::create::<Supplier>))
        .route("/webhooks/{webhook_id}/delete", post(webhooks::delete::<Supplier>))
        .route("/webhooks/deliveries/{delivery_id}/resend", post(webhooks::resend::<Supplier>))
}
