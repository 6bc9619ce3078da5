//! Sharing: links per channel shown as a full URL, a QR code and a copy button; and
//! what each link and channel brought in a period.
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use xiaopu_api::{attribution as at, storefront as sf, types::Money};
use xiaopu_common::time::to_timestamp;

use super::{
    CHANNELS, Session,
    home::{my_shop, shop_for_action},
    views::{FigureRow, LinkRow, LinksPage, StatsPage, Tabs},
};
use crate::{
    DefaultMonth, SharedApp, TypedPeriod,
    pages::{PageQuery, PeriodQuery, back, failed, money, render},
    session::{NoFields, Posted},
};

pub async fn links(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let shop = match my_shop(&app, &session).await {
        Ok(shop) => shop,
        Err(status) => return failed(session.lang, &status),
    };
    let mut page = LinksPage {
        frame: session.frame(&query),
        tabs: Tabs("links"),
        channels: CHANNELS.iter().map(|c| (*c as i32, session.lang.words(c.as_str_name()))).collect(),
        listings: Vec::new(),
        links: Vec::new(),
        has_shop: shop.is_some(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let Some(shop) = shop else { return render(StatusCode::OK, &page) };
    let request =
        sf::ListShopListingsRequest { shop_id: shop.shop_id.clone(), page_size: 200, page_token: String::new() };
    let listed = match app.storefront_as_user.clone().list_shop_listings(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let titles: Vec<(String, String)> = listed
        .listings
        .iter()
        .filter_map(|m| Some((m.listing.as_ref()?.listing_id.clone(), m.product.as_ref()?.title.clone())))
        .collect();
    let request = sf::ListShareLinksRequest { shop_id: shop.shop_id, page_size: 100, page_token: String::new() };
    let shared = match app.storefront_as_user.clone().list_share_links(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    page.links = shared
        .share_links
        .iter()
        .map(|l| LinkRow {
            code: l.code.clone(),
            url: l.url.clone(),
            channel: session.lang.words(l.channel().as_str_name()),
            target: if l.listing_id.is_empty() {
                session.lang.t("整个小店").to_owned()
            } else {
                titles
                    .iter()
                    .find(|(id, _)| *id == l.listing_id)
                    .map_or(session.lang.t("单件商品").to_owned(), |(_, t)| t.clone())
            },
            revoked: l.revoked_at.is_some(),
            promo_code: l.promo_code,
        })
        .collect();
    page.listings = titles;
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct LinkForm {
    /// The Channel's number (a string: flattened forms carry strings only).
    channel: String,
    #[serde(default)]
    listing_id: String,
}

pub async fn create(State(app): State<SharedApp>, session: Session, Form(posted): Form<Posted<LinkForm>>) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let shop = match shop_for_action(&app, &session, "/app/links").await {
        Ok(shop) => shop,
        Err(answer) => return answer,
    };
    let request = sf::CreateShareLinkRequest {
        // A new link per press: pressing twice makes two links, as the promoter asked.
        request_id: uuid::Uuid::new_v4().to_string(),
        shop_id: shop.shop_id,
        listing_id: form.listing_id,
        // Not a number: an unknown channel, which the storefront refuses by name.
        channel: form.channel.trim().parse().unwrap_or(-1),
    };
    let outcome = app.storefront_as_user.clone().create_share_link(session.request(request)).await;
    back(
        session.lang,
        "/app/links",
        outcome.map(|_| session.lang.t("链接已生成：复制链接或保存二维码分享出去").to_owned()),
    )
}

#[derive(Debug, Deserialize)]
pub struct PromoCodeForm {
    code: String,
    /// The Channel's number.
    channel: String,
    #[serde(default)]
    listing_id: String,
    request_id: String,
}

pub async fn create_promo_code(
    State(app): State<SharedApp>,
    session: Session,
    Form(posted): Form<Posted<PromoCodeForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let shop = match shop_for_action(&app, &session, "/app/links").await {
        Ok(shop) => shop,
        Err(answer) => return answer,
    };
    let request = sf::CreatePromoCodeRequest {
        request_id: form.request_id,
        shop_id: shop.shop_id,
        code: form.code,
        listing_id: form.listing_id,
        channel: form.channel.trim().parse().unwrap_or(-1),
    };
    let outcome = app.storefront_as_user.clone().create_promo_code(session.request(request)).await;
    let lang = session.lang;
    back(lang, "/app/links", outcome.map(|_| lang.t("口令已创建：买家在下单时或“输入口令”页输入即可").to_owned()))
}

pub async fn revoke(
    State(app): State<SharedApp>,
    session: Session,
    Path(code): Path<String>,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let outcome =
        app.storefront_as_user.clone().revoke_share_link(session.request(sf::RevokeShareLinkRequest { code })).await;
    back(session.lang, "/app/links", outcome.map(|_| session.lang.t("已撤回：之后的订单不再通过它计佣").to_owned()))
}

/// Sums of a figure's commission, one currency after another.
fn commission(amounts: &[Money]) -> String {
    if amounts.is_empty() {
        return money(Some(&Money { minor_units: 0, currency: "CNY".into() }));
    }
    amounts.iter().map(|m| money(Some(m))).collect::<Vec<_>>().join(" + ")
}

pub async fn stats(
    State(app): State<SharedApp>,
    session: Session,
    Query(query): Query<PageQuery>,
    Query(period): Query<PeriodQuery>,
) -> Response {
    let TypedPeriod { from, to, from_at, to_at } =
        match period.typed(&app, session.lang, "/app/stats", DefaultMonth::This) {
            Ok(period) => period,
            Err(page) => return *page,
        };
    let request = at::GetLinkStatsRequest {
        promoter_id: session.user.clone(),
        from: Some(to_timestamp(from_at)),
        to: Some(to_timestamp(to_at)),
    };
    let stats = match app.attribution_as_user.clone().get_link_stats(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let row = |s: &at::LinkStats| FigureRow {
        name: session.lang.words(&s.channel),
        code: s.share_code.clone(),
        clicks: s.clicks,
        orders: s.orders,
        commission: commission(&s.commission),
    };
    let page = StatsPage {
        frame: session.frame(&query),
        tabs: Tabs("stats"),
        from,
        to,
        links: stats.links.iter().map(row).collect(),
        channels: stats.channels.iter().map(row).collect(),
    };
    render(StatusCode::OK, &page)
}
