//! Choosing what to sell: the supply with what one unit earns after the platform's
//! fee, and the shop's listings (at most 1000) with their reasons and order.
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use xiaopu_api::storefront as sf;

use super::{
    Session,
    home::{earnings, my_shop, shop_for_action},
    percent, share_per_unit,
    views::{ListingRow, ListingsPage, OfferRow, SupplyPage, Tabs},
};
use crate::{
    SharedApp,
    pages::{PageQuery, back, failed, money, render, url_encode},
    session::Posted,
};

/// The most listings a shop may hold (DOMAIN.md rule 3; the storefront enforces it).
const LISTING_CAP: i32 = 1000;
const PAGE_SIZE: i32 = 20;

#[derive(Debug, Default, Deserialize)]
pub struct SupplyQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    /// In percent, as typed (`5` or `5.5`).
    #[serde(default)]
    min_rate: String,
    #[serde(default)]
    sort: String,
}

/// `5.5` (percent) as basis points; empty is no bound.
fn bps_of_percent(typed: &str) -> Option<i32> {
    let typed = typed.trim().trim_end_matches('%');
    if typed.is_empty() {
        return Some(0);
    }
    crate::pages::percent_bps(typed)
}

pub async fn supply(
    State(app): State<SharedApp>,
    session: Session,
    Query(query): Query<PageQuery>,
    Query(search): Query<SupplyQuery>,
) -> Response {
    let Some(min_rate_bps) = bps_of_percent(&search.min_rate) else {
        return back(
            session.lang,
            "/app/supply",
            Err(tonic::Status::invalid_argument(session.lang.t("最低佣金率：请填写 0 到 100 之间的百分数"))),
        );
    };
    let request = sf::SearchProductsRequest {
        query: search.q.trim().to_owned(),
        category: search.category.trim().to_owned(),
        min_rate_bps,
        max_rate_bps: 0,
        sort: if search.sort == "newest" { sf::ProductSort::Newest } else { sf::ProductSort::Rate }.into(),
        page_size: PAGE_SIZE,
        page_token: query.page.clone(),
    };
    let found = match app.storefront_as_user.clone().search_products(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let fee_bps = match earnings(&app, &session).await {
        Ok(e) => e.fee_bps,
        Err(status) => return failed(session.lang, &status),
    };
    let has_shop = matches!(my_shop(&app, &session).await, Ok(Some(_)));
    let offers = found
        .offers
        .iter()
        .filter_map(|o| {
            let p = o.product.as_ref()?;
            Some(OfferRow {
                product_id: p.product_id.clone(),
                title: p.title.clone(),
                category: p.category.clone(),
                price: money(p.price.as_ref()),
                rate: percent(o.current_rate_bps),
                share_per_unit: share_per_unit(p.price.as_ref(), o.current_rate_bps, fee_bps),
                image: p.image_urls.first().cloned(),
                stock: session.lang.words(p.stock_status().as_str_name()),
            })
        })
        .collect();
    let filters = format!(
        "q={}&category={}&min_rate={}&sort={}",
        url_encode(&search.q),
        url_encode(&search.category),
        url_encode(&search.min_rate),
        url_encode(&search.sort)
    );
    let page = SupplyPage {
        frame: session.frame(&query),
        tabs: Tabs("supply"),
        query: search.q,
        category: search.category,
        min_rate: search.min_rate,
        fee: percent(fee_bps),
        offers,
        next_page: (!found.next_page_token.is_empty())
            .then(|| format!("/app/supply?{filters}&page={}", found.next_page_token)),
        has_shop,
    };
    render(StatusCode::OK, &page)
}

pub async fn listings(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let shop = match my_shop(&app, &session).await {
        Ok(Some(shop)) => shop,
        Ok(None) => {
            return back(session.lang, "/app", Err(tonic::Status::failed_precondition(session.lang.t("请先开店"))));
        }
        Err(status) => return failed(session.lang, &status),
    };
    let request = sf::ListShopListingsRequest {
        shop_id: shop.shop_id.clone(),
        page_size: PAGE_SIZE,
        page_token: query.page.clone(),
    };
    let listed = match app.storefront_as_user.clone().list_shop_listings(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let fee_bps = match earnings(&app, &session).await {
        Ok(e) => e.fee_bps,
        Err(status) => return failed(session.lang, &status),
    };
    let rows = listed
        .listings
        .iter()
        .filter_map(|m| {
            let (l, p) = (m.listing.as_ref()?, m.product.as_ref()?);
            Some(ListingRow {
                listing_id: l.listing_id.clone(),
                position: l.position,
                title: p.title.clone(),
                price: money(p.price.as_ref()),
                rate: percent(m.current_rate_bps),
                share_per_unit: share_per_unit(p.price.as_ref(), m.current_rate_bps, fee_bps),
                reason: l.recommendation_reason.clone(),
                image: p.image_urls.first().cloned(),
            })
        })
        .collect();
    let page = ListingsPage {
        frame: session.frame(&query),
        tabs: Tabs("listings"),
        count: shop.listing_count,
        cap: LISTING_CAP,
        listings: rows,
        next_page: (!listed.next_page_token.is_empty())
            .then(|| format!("/app/listings?page={}", listed.next_page_token)),
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    product_id: String,
    #[serde(default)]
    reason: String,
}

pub async fn add(State(app): State<SharedApp>, session: Session, Form(posted): Form<Posted<AddForm>>) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let shop = match shop_for_action(&app, &session, "/app/supply").await {
        Ok(shop) => shop,
        Err(answer) => return answer,
    };
    let request = sf::AddListingRequest {
        shop_id: shop.shop_id,
        product_id: form.product_id,
        recommendation_reason: form.reason.trim().to_owned(),
        position: 0,
    };
    let outcome = app.storefront_as_user.clone().add_listing(session.request(request)).await;
    back(session.lang, "/app/supply", outcome.map(|_| session.lang.t("已加入小店").to_owned()))
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    reason: String,
}

pub async fn set_reason(
    State(app): State<SharedApp>,
    session: Session,
    Path(listing_id): Path<String>,
    Form(posted): Form<Posted<ReasonForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let request = sf::UpdateListingRequest { listing_id, recommendation_reason: form.reason.trim().to_owned() };
    let outcome = app.storefront_as_user.clone().update_listing(session.request(request)).await;
    back(session.lang, "/app/listings", outcome.map(|_| session.lang.t("推荐理由已保存").to_owned()))
}

/// Moves a listing one place up: the listings before it, with the two swapped, go
/// first (ReorderListings keeps the rest as they were).
pub async fn move_up(
    State(app): State<SharedApp>,
    session: Session,
    Path(listing_id): Path<String>,
    Form(posted): Form<Posted<crate::session::NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let shop = match shop_for_action(&app, &session, "/app/listings").await {
        Ok(shop) => shop,
        Err(answer) => return answer,
    };
    let mut ids = Vec::new();
    let mut token = String::new();
    // Page through until the listing is found (it is usually on the first page).
    loop {
        let request = sf::ListShopListingsRequest { shop_id: shop.shop_id.clone(), page_size: 500, page_token: token };
        let page = match app.storefront_as_user.clone().list_shop_listings(session.request(request)).await {
            Ok(answer) => answer.into_inner(),
            Err(status) => return back(session.lang, "/app/listings", Err(status)),
        };
        ids.extend(page.listings.iter().filter_map(|m| m.listing.as_ref()).map(|l| l.listing_id.clone()));
        if ids.contains(&listing_id) || page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let Some(at) = ids.iter().position(|id| *id == listing_id) else {
        return back(
            session.lang,
            "/app/listings",
            Err(tonic::Status::not_found(session.lang.t("这件商品已不在小店中"))),
        );
    };
    if at == 0 {
        return back(session.lang, "/app/listings", Ok(session.lang.t("已经在最前面").to_owned()));
    }
    ids.truncate(at + 1);
    ids.swap(at - 1, at);
    let request = sf::ReorderListingsRequest { shop_id: shop.shop_id, listing_ids: ids };
    let outcome = app.storefront_as_user.clone().reorder_listings(session.request(request)).await;
    back(session.lang, "/app/listings", outcome.map(|_| session.lang.t("顺序已调整").to_owned()))
}

pub async fn remove(
    State(app): State<SharedApp>,
    session: Session,
    Path(listing_id): Path<String>,
    Form(posted): Form<Posted<crate::session::NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let request = sf::RemoveListingRequest { listing_id };
    let outcome = app.storefront_as_user.clone().remove_listing(session.request(request)).await;
    back(session.lang, "/app/listings", outcome.map(|_| session.lang.t("已从小店移除").to_owned()))
}

#[cfg(test)]
mod tests {
    use super::bps_of_percent;

    #[test]
    fn rates_are_typed_in_percent() {
        assert_eq!(bps_of_percent(""), Some(0));
        assert_eq!(bps_of_percent("5.5"), Some(550));
        assert_eq!(bps_of_percent("12%"), Some(1200));
        assert_eq!(bps_of_percent("abc"), None);
        assert_eq!(bps_of_percent("101"), None);
    }
}
