//! A supplier's products and their commission rates.
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde::Deserialize;
use xiaopu_api::{storefront as sf, types::Money};
use xiaopu_common::time::{from_timestamp, to_timestamp};

use super::{
    CURRENCY, Session,
    views::{ProductFields, ProductPage, ProductRow, ProductsPage, RateRow},
    yuan,
};
use crate::{
    SharedApp,
    i18n::Lang,
    pages::{PageQuery, back, failed, money, percent, percent_bps, render},
    session::{NoFields, Posted},
};

const STOCK_STATUSES: &[sf::StockStatus] =
    &[sf::StockStatus::InStock, sf::StockStatus::LowStock, sf::StockStatus::OutOfStock];

fn stock_statuses(lang: Lang) -> Vec<(String, String)> {
    STOCK_STATUSES.iter().map(|s| (s.as_str_name().to_owned(), lang.words(s.as_str_name()))).collect()
}

fn invalid(text: &str) -> tonic::Status {
    tonic::Status::invalid_argument(text)
}

pub async fn list(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let request = sf::ListSupplierProductsRequest {
        supplier_id: session.user.clone(),
        page_size: 50,
        page_token: query.page.clone(),
    };
    let listed = match app.storefront_as_user.clone().list_supplier_products(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let products = listed
        .products
        .iter()
        .map(|p| ProductRow {
            product_id: p.product_id.clone(),
            title: p.title.clone(),
            category: p.category.clone(),
            price: money(p.price.as_ref()),
            stock: session.lang.words(p.stock_status().as_str_name()),
            status: session.lang.words(p.status().as_str_name()),
            rate: listed
                .current_rate_bps
                .get(&p.product_id)
                .map_or_else(|| session.lang.t("未设置").to_owned(), |b| percent(*b)),
            shops: listed.active_listings.get(&p.product_id).copied().unwrap_or(0),
        })
        .collect();
    let page = ProductsPage {
        frame: session.frame(&query),
        products,
        next_page: (!listed.next_page_token.is_empty()).then(|| format!("/supplier?page={}", listed.next_page_token)),
        fields: ProductFields {
            stock: sf::StockStatus::InStock.as_str_name().to_owned(),
            stock_statuses: stock_statuses(session.lang),
            ..ProductFields::default()
        },
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    render(StatusCode::OK, &page)
}

/// A product's fields as the portal's forms send them.
#[derive(Debug, Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    request_id: String,
    title: String,
    #[serde(default)]
    description: String,
    /// Yuan, as typed: `39.90`.
    price: String,
    category: String,
    stock: String,
    /// One https URL per line.
    #[serde(default)]
    images: String,
}

impl ProductForm {
    /// The product the form describes, or what is wrong with the typed price.
    fn product(&self, lang: Lang) -> Result<sf::Product, tonic::Status> {
        let price = yuan(&self.price).ok_or_else(|| invalid(lang.t("售价：请填写金额，如 39.90（元）")))?;
        let stock = sf::StockStatus::from_str_name(&self.stock).unwrap_or(sf::StockStatus::InStock);
        Ok(sf::Product {
            title: self.title.trim().to_owned(),
            description: self.description.trim().to_owned(),
            price: Some(Money { minor_units: price, currency: CURRENCY.into() }),
            image_urls: self.images.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            category: self.category.trim().to_owned(),
            stock_status: stock.into(),
            ..Default::default()
        })
    }
}

pub async fn publish(
    State(app): State<SharedApp>,
    session: Session,
    Form(posted): Form<Posted<ProductForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let product = match form.product(session.lang) {
        Ok(product) => product,
        Err(status) => return back(session.lang, "/supplier", Err(status)),
    };
    let request = sf::PublishProductRequest {
        request_id: if form.request_id.is_empty() { uuid::Uuid::new_v4().to_string() } else { form.request_id },
        title: product.title,
        description: product.description,
        price: product.price,
        image_urls: product.image_urls,
        category: product.category,
        stock_status: product.stock_status,
    };
    match app.storefront_as_user.clone().publish_product(session.request(request)).await {
        Ok(answer) => {
            let id = answer.into_inner().product.map(|p| p.product_id).unwrap_or_default();
            back(
                session.lang,
                &format!("/supplier/products/{id}"),
                Ok(session.lang.t("商品已发布：再设置佣金率，店主就能选品了").to_owned()),
            )
        }
        Err(status) => back(session.lang, "/supplier", Err(status)),
    }
}

pub async fn product(
    State(app): State<SharedApp>,
    session: Session,
    Path(product_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let request = sf::GetProductRequest { product_id: product_id.clone() };
    let found = match app.storefront_as_user.clone().get_product(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let Some(p) = found.product else {
        return failed(session.lang, &tonic::Status::not_found(session.lang.t("商品")));
    };
    if p.supplier_id != session.user {
        return failed(session.lang, &tonic::Status::permission_denied(session.lang.t("这不是您的商品")));
    }
    let request =
        sf::ListCommissionRatesRequest { product_id: product_id.clone(), page_size: 100, page_token: String::new() };
    let rates = match app.storefront_as_user.clone().list_commission_rates(session.request(request)).await {
        Ok(answer) => answer.into_inner().rates,
        Err(status) => return failed(session.lang, &status),
    };
    let now = Utc::now();
    let mut in_force_seen = false;
    let rates = rates
        .iter()
        .map(|r| {
            let from = r.effective_from.as_ref().and_then(from_timestamp);
            let scheduled = r.cancelled_at.is_none() && from.is_some_and(|f| f > now);
            let state = if r.cancelled_at.is_some() {
                session.lang.t("已取消")
            } else if scheduled {
                session.lang.t("待生效")
            } else if !in_force_seen {
                in_force_seen = true;
                session.lang.t("生效中")
            } else {
                session.lang.t("已失效")
            };
            RateRow {
                rate_id: r.rate_id.clone(),
                rate: percent(r.rate_bps),
                effective_from: app.local_time_of(&r.effective_from),
                set_at: app.local_time_of(&r.set_at),
                state: state.to_owned(),
                cancellable: scheduled,
            }
        })
        .collect();
    let page = ProductPage {
        frame: session.frame(&query),
        product_id,
        active: p.status() == sf::ProductStatus::Active,
        status: session.lang.words(p.status().as_str_name()),
        fields: ProductFields {
            title: p.title.clone(),
            stock: p.stock_status().as_str_name().to_owned(),
            price: p.price.as_ref().map(|m| xiaopu_money::to_decimal(m.minor_units, &m.currency)).unwrap_or_default(),
            images: p.image_urls.join("\n"),
            description: p.description,
            category: p.category,
            stock_statuses: stock_statuses(session.lang),
        },
        title: p.title,
        current_rate: if found.current_rate_bps == 0 {
            session.lang.t("未设置").to_owned()
        } else {
            percent(found.current_rate_bps)
        },
        rates,
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    render(StatusCode::OK, &page)
}

pub async fn update(
    State(app): State<SharedApp>,
    session: Session,
    Path(product_id): Path<String>,
    Form(posted): Form<Posted<ProductForm>>,
) -> Response {
    let to = format!("/supplier/products/{product_id}");
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let product = match form.product(session.lang) {
        Ok(product) => product,
        Err(status) => return back(session.lang, &to, Err(status)),
    };
    let paths = ["title", "description", "price", "image_urls", "category", "stock_status"];
    let request = sf::UpdateProductRequest {
        product_id,
        product: Some(product),
        update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let outcome = app.storefront_as_user.clone().update_product(session.request(request)).await;
    back(session.lang, &to, outcome.map(|_| session.lang.t("商品已保存").to_owned()))
}

#[derive(Debug, Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    reason: String,
}

pub async fn withdraw(
    State(app): State<SharedApp>,
    session: Session,
    Path(product_id): Path<String>,
    Form(posted): Form<Posted<WithdrawForm>>,
) -> Response {
    let to = format!("/supplier/products/{product_id}");
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let request = sf::WithdrawProductRequest { product_id, reason: form.reason.trim().to_owned() };
    let outcome = app.storefront_as_user.clone().withdraw_product(session.request(request)).await;
    back(
        session.lang,
        &to,
        outcome.map(|a| session.lang.t1("商品已下架，{} 家小店的上架随之结束", a.into_inner().listings_ended)),
    )
}

#[derive(Debug, Deserialize)]
pub struct RateForm {
    request_id: String,
    /// Percent, as typed: `5.5`.
    rate: String,
    /// Empty for now; else `YYYY-MM-DDTHH:MM` in the platform's time zone.
    #[serde(default)]
    effective_from: String,
}

pub async fn set_rate(
    State(app): State<SharedApp>,
    session: Session,
    Path(product_id): Path<String>,
    Form(posted): Form<Posted<RateForm>>,
) -> Response {
    let to = format!("/supplier/products/{product_id}");
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let Some(rate_bps) = percent_bps(&form.rate) else {
        return back(session.lang, &to, Err(invalid(session.lang.t("佣金率：请填写百分数，如 5.5"))));
    };
    let effective_from = if form.effective_from.trim().is_empty() {
        None
    } else {
        match app.day_start(&form.effective_from) {
            Some(at) => Some(to_timestamp(at)),
            None => return back(session.lang, &to, Err(invalid(session.lang.t("生效时间：请选择日期和时间")))),
        }
    };
    let request = sf::SetCommissionRateRequest { request_id: form.request_id, product_id, rate_bps, effective_from };
    let outcome = app.storefront_as_user.clone().set_commission_rate(session.request(request)).await;
    back(session.lang, &to, outcome.map(|_| session.lang.t("佣金率已设置").to_owned()))
}

pub async fn cancel_rate(
    State(app): State<SharedApp>,
    session: Session,
    Path((product_id, rate_id)): Path<(String, String)>,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let request = sf::CancelScheduledRateRequest { rate_id };
    let outcome = app.storefront_as_user.clone().cancel_scheduled_rate(session.request(request)).await;
    back(
        session.lang,
        &format!("/supplier/products/{product_id}"),
        outcome.map(|_| session.lang.t("待生效的佣金率已取消").to_owned()),
    )
}
