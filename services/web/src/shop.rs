//! `GET /s/{code}`: what a buyer sees when they open a share link. The code is
//! resolved by the storefront, the click is recorded for attribution under a
//! first-party visitor cookie, and the shop (or the one product of a listing link) is
//! rendered on the server: no script, one request, images lazy-loaded.
use std::{net::SocketAddr, time::Duration};

use axum::{
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde::Deserialize;
use xiaopu_api::{
    attribution::{Click, RecordClickRequest},
    storefront::{self as sf, PublicListing, StockStatus},
};
use xiaopu_common::{error::status_details, time::to_timestamp};

use crate::{
    SharedApp,
    http_server::Peer,
    i18n::Lang,
    pages::{self, money, notice, render, url_encode},
    views::{Item, ProductPage, ShopPage},
};

/// The visitor id cookie: first-party, a random id, what attribution knows the
/// buyer by until they pay.
const VISITOR_COOKIE: &str = "xv";
const VISITOR_MAX_AGE_SECONDS: u64 = 365 * 24 * 3600;

/// The storefront's reason codes (`ErrorInfo.reason`) for a link that resolves to
/// nothing a buyer can use.
use xiaopu_api::reasons::{LISTING_REMOVED, PRODUCT_WITHDRAWN, SHOP_SUSPENDED};

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    page: String,
}

/// Who is asking, for the storefront's limit on guessing promo codes: the client's
/// address as the ingress saw it (the last `X-Forwarded-For` hop, the one a client
/// cannot forge past the ingress), else the connection's peer.
pub fn visitor_key(headers: &HeaderMap, peer: SocketAddr) -> String {
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|hop| !hop.is_empty());
    format!("ip:{}", forwarded.map_or_else(|| peer.ip().to_string(), str::to_owned))
}

/// Resolves a code for a visitor (counted against guessing).
pub async fn resolve(
    app: &SharedApp,
    code: &str,
    visitor_key: &str,
) -> Result<sf::ResolveShareCodeResponse, tonic::Status> {
    let request = sf::ResolveShareCodeRequest { code: code.to_owned(), visitor_key: visitor_key.to_owned() };
    Ok(app.storefront.clone().resolve_share_code(request).await?.into_inner())
}

pub async fn page(
    State(app): State<SharedApp>,
    lang: Lang,
    Path(code): Path<String>,
    Query(query): Query<PageQuery>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    let known = cookie(&headers, VISITOR_COOKIE).filter(|v| uuid::Uuid::parse_str(v).is_ok());
    let visitor = known.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let key = visitor_key(&headers, peer);
    let mut response = shop_or_product(&app, lang, &code, &query.page, (&visitor, &key)).await;
    if known.is_none() {
        let secure = if app.settings.secure_cookies { "; Secure" } else { "" };
        let cookie = format!(
            "{VISITOR_COOKIE}={visitor}; Path=/; Max-Age={VISITOR_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax{secure}"
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `GET /s/{code}/qr.svg`: the link's QR code (its full URL, as the storefront names
/// it), for a promoter to post where a link cannot be clicked (a poster, a 朋友圈
/// image). Drawn here as SVG; opening it records no click.
pub async fn qr_code(
    State(app): State<SharedApp>,
    lang: Lang,
    Path(code): Path<String>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    let resolved = match resolve(&app, &code, &visitor_key(&headers, peer)).await {
        Ok(answer) => answer,
        Err(status) => return refusal(lang, &status),
    };
    let url = resolved.share_link.map(|l| l.url).unwrap_or_default();
    let Ok(qr) = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M) else {
        let (heading, detail) = (lang.t("二维码生成失败"), lang.t("链接太长，无法生成二维码。"));
        return notice(lang, StatusCode::INTERNAL_SERVER_ERROR, heading, detail);
    };
    let svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(256, 256).quiet_zone(true).build();
    let mut response = (StatusCode::OK, svg).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    // A code's URL never changes; a revoked link's page says so when scanned.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    response
}

/// `visitor` is the visitor's id (their clicks), `key` what guessing is counted by.
async fn shop_or_product(
    app: &SharedApp,
    lang: Lang,
    typed: &str,
    page_token: &str,
    (visitor, key): (&str, &str),
) -> Response {
    let resolved = match resolve(app, typed, key).await {
        Ok(answer) => answer,
        Err(status) => return refusal(lang, &status),
    };
    let link = resolved.share_link.unwrap_or_default();
    // The code as kept (a promo code typed in lower case is upper-case there).
    let code = link.code.as_str();
    // A click is a visit of the link: turning pages is not another one.
    let click = async {
        if page_token.is_empty() {
            record_click(app, code, visitor).await;
        }
    };
    if !link.listing_id.is_empty() {
        click.await;
        let Some(listing) = resolved.listing else { return withdrawn(lang) };
        let images = listing.image_urls.clone();
        let page = ProductPage {
            lang,
            shop_name: resolved.shop_name,
            promoter: link.promoter_id,
            item: item(app, code, listing),
            images,
        };
        return render(StatusCode::OK, &page);
    }
    let request = sf::GetShopPageRequest {
        shop_id: link.shop_id,
        page_size: app.settings.page_size,
        page_token: page_token.to_owned(),
    };
    let mut storefront = app.storefront.clone();
    let (shop, ()) = tokio::join!(storefront.get_shop_page(request), click);
    let shop = match shop {
        Ok(answer) => answer.into_inner(),
        Err(status) => return refusal(lang, &status),
    };
    let next_page =
        (!shop.next_page_token.is_empty()).then(|| format!("/s/{code}?page={}", url_encode(&shop.next_page_token)));
    let page = ShopPage {
        lang,
        shop_name: shop.name,
        description: shop.description,
        promoter: shop.promoter_id,
        listing_count: shop.listing_count,
        items: shop.listings.into_iter().map(|l| item(app, code, l)).collect(),
        next_page,
        notice: shop.notice,
    };
    render(StatusCode::OK, &page)
}

/// Records the click; a slow or failing attribution costs the click, never the page.
async fn record_click(app: &SharedApp, code: &str, visitor: &str) {
    let click = Click {
        // A fresh id per visit; attribution keeps the last click of each visitor.
        event_id: format!("web-{}", uuid::Uuid::now_v7()),
        share_code: code.to_owned(),
        visitor_id: visitor.to_owned(),
        clicked_at: Some(to_timestamp(Utc::now())),
    };
    let mut attribution = app.attribution.clone();
    let call = attribution.record_click(RecordClickRequest { click: Some(click) });
    match tokio::time::timeout(Duration::from_millis(app.settings.click_timeout_ms), call).await {
        Ok(Ok(_)) => {}
        Ok(Err(status)) => {
            tracing::warn!(code = status.code() as i32, message = status.message(), "click not recorded")
        }
        Err(_) => tracing::warn!("click not recorded: attribution too slow"),
    }
}

fn item(app: &SharedApp, code: &str, listing: PublicListing) -> Item {
    let buy_url =
        app.settings.buy_url_template.replace("{product_id}", &listing.product_id).replace("{code}", &url_encode(code));
    Item {
        sold_out: listing.stock_status() == StockStatus::OutOfStock,
        price: money(listing.price.as_ref()),
        image: listing.image_urls.first().cloned(),
        title: listing.title,
        description: listing.description,
        reason: listing.recommendation_reason,
        buy_url,
    }
}

pub fn too_many_guesses(lang: Lang) -> Response {
    let detail = lang.t("输错的口令太多了，请过几分钟再试。");
    notice(lang, StatusCode::TOO_MANY_REQUESTS, lang.t("请稍后再试"), detail)
}

fn withdrawn(lang: Lang) -> Response {
    notice(lang, StatusCode::GONE, lang.t("商品已下架"), lang.t("这件商品已经下架或不在店里了。"))
}

/// The page for a refusal of the storefront's.
fn refusal(lang: Lang, status: &tonic::Status) -> Response {
    let reason = status_details(status).0.unwrap_or_default();
    match (status.code(), reason.as_str()) {
        (tonic::Code::NotFound, _) => pages::not_found(lang),
        (tonic::Code::ResourceExhausted, _) => too_many_guesses(lang),
        (tonic::Code::FailedPrecondition, SHOP_SUSPENDED) => notice(
            lang,
            StatusCode::FORBIDDEN,
            lang.t("小店暂停营业"),
            lang.t("这家小店暂时关闭了，过段时间再来看看吧。"),
        ),
        (tonic::Code::FailedPrecondition, PRODUCT_WITHDRAWN | LISTING_REMOVED) => withdrawn(lang),
        (tonic::Code::InvalidArgument, _) => {
            notice(lang, StatusCode::BAD_REQUEST, lang.t("页面地址有误"), lang.t("请从分享的链接重新打开。"))
        }
        _ => {
            tracing::warn!(code = status.code() as i32, message = status.message(), "shop page unavailable");
            pages::unavailable(lang)
        }
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_visitor_is_the_address_the_ingress_saw() {
        let peer: SocketAddr = "10.0.0.9:5555".parse().expect("addr");
        let mut headers = HeaderMap::new();
        assert_eq!(visitor_key(&headers, peer), "ip:10.0.0.9");
        // A client may send its own X-Forwarded-For; the ingress appends the real one.
        headers.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4, 203.0.113.7"));
        assert_eq!(visitor_key(&headers, peer), "ip:203.0.113.7");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; xv=abc; b=2"));
        assert_eq!(cookie(&headers, "xv").as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
