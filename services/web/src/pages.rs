//! Rendering: a template to an HTML response, and the plain pages every part of the
//! site may answer with (not found, gone, unavailable).
use askama::Template;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use tonic::Code;

use axum::response::Redirect;
use serde::Deserialize;
use xiaopu_api::reasons;
use xiaopu_common::error::status_details;

use crate::{App, DefaultMonth, TypedPeriod, i18n::Lang, views::Notice};

/// `?done=…`, `?error=…` (what the last action did) and `?page=…`.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    pub done: String,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub page: String,
}

/// `?from=…&to=…`: a period as a page's form sends it (dates as typed).
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

impl PeriodQuery {
    /// The period asked for, defaulting to `month`; a date that cannot be read sends
    /// the user back to `page`, saying how to type one.
    pub fn typed(&self, app: &App, lang: Lang, page: &str, month: DefaultMonth) -> Result<TypedPeriod, Box<Response>> {
        let how = || tonic::Status::invalid_argument(lang.t("日期格式：YYYY-MM-DD"));
        app.typed_period(&self.from, &self.to, month).ok_or_else(|| Box::new(back(lang, page, Err(how()))))
    }
}

/// What every signed-in page shows around its content.
pub struct Frame {
    pub lang: Lang,
    pub user: String,
    pub csrf: String,
    /// What the last action did, or why the service refused it.
    pub done: String,
    pub error: String,
}

impl<A> crate::session::Session<A> {
    pub fn frame(&self, query: &PageQuery) -> Frame {
        Frame {
            lang: self.lang,
            user: self.user.clone(),
            csrf: self.csrf.clone(),
            done: query.done.clone(),
            error: query.error.clone(),
        }
    }
}

/// After a form: back to `to`, with what happened for the page to show (`done` in
/// the visitor's language already; a refusal put in words here).
pub fn back(lang: Lang, to: &str, outcome: Result<String, tonic::Status>) -> Response {
    let (key, text) = match outcome {
        Ok(done) => ("done", done),
        Err(status) => ("error", refusal_text(lang, &status)),
    };
    let separator = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{separator}{key}={}", url_encode(&text))).into_response()
}

/// A service's refusal in words: what its reason code means in the visitor's
/// language, then the service's own detail and the code.
pub fn refusal_text(lang: Lang, status: &tonic::Status) -> String {
    match status_details(status).0 {
        Some(reason) => match reasons::describe(&reason, lang.0) {
            Some(words) => format!("{words}：{}（{reason}）", status.message()),
            None => format!("{} ({reason})", status.message()),
        },
        None => status.message().to_owned(),
    }
}

/// A page that could not be loaded because the service refused.
pub fn failed(lang: Lang, status: &tonic::Status) -> Response {
    let code = status_of(status);
    let code = if code == StatusCode::UNAUTHORIZED { StatusCode::FORBIDDEN } else { code };
    notice(lang, code, lang.t("操作未完成"), &refusal_text(lang, status))
}

/// The template rendered with `status`; a template that fails to render (a bug, not
/// the visitor's doing) is a plain 500.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            // Pages carry personal data (the console) or per-visitor cookies (the shop).
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page saying what happened in words a buyer understands (`heading` and
/// `detail` are in `lang` already).
pub fn notice(lang: Lang, status: StatusCode, heading: &str, detail: &str) -> Response {
    let page = Notice { lang, title: heading.to_owned(), heading: heading.to_owned(), detail: detail.to_owned() };
    render(status, &page)
}

pub fn not_found(lang: Lang) -> Response {
    notice(
        lang,
        StatusCode::NOT_FOUND,
        lang.t("链接不存在或已失效"),
        lang.t("这个分享链接找不到了，可能已被店主撤回。请向分享给你的朋友要一个新链接。"),
    )
}

pub fn unavailable(lang: Lang) -> Response {
    notice(lang, StatusCode::SERVICE_UNAVAILABLE, lang.t("服务繁忙"), lang.t("页面暂时打不开，请稍后刷新重试。"))
}

/// The HTTP status for a service's refusal that no page handles specially.
pub fn status_of(status: &tonic::Status) -> StatusCode {
    match status.code() {
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// `¥199.00` for CNY, `USD 1.50` for others: exact decimals from minor units.
pub fn money(money: Option<&xiaopu_api::types::Money>) -> String {
    let Some(money) = money else { return String::new() };
    let amount = xiaopu_money::to_decimal(money.minor_units, &money.currency);
    match money.currency.as_str() {
        "CNY" => format!("¥{amount}"),
        other => format!("{other} {amount}"),
    }
}

/// A rate typed in percent (`5.5`, `12%`) as basis points, exactly: 0 to 100%.
pub fn percent_bps(typed: &str) -> Option<i32> {
    let bps = xiaopu_money::parse_decimal(typed.trim().trim_end_matches('%'), 2)?;
    if bps > 10_000 { None } else { i32::try_from(bps).ok() }
}

/// `5.50%` from basis points.
pub fn percent(bps: i32) -> String {
    format!("{}.{:02}%", bps / 100, (bps % 100).abs())
}

/// Percent-encodes a query value.
pub fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a budget or a group rule covers, in words: the whole catalogue, a category, or
/// a product by its title (by its id when the title is unknown).
pub fn scope_words(lang: Lang, product_id: &str, category: &str, title: impl Fn(&str) -> Option<String>) -> String {
    match (product_id, category) {
        ("", "") => lang.t("全部商品").to_owned(),
        ("", category) => lang.tf("品类：{}", &[category]),
        (product, _) => title(product).unwrap_or_else(|| product.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use xiaopu_api::types::Money;

    use super::*;

    #[test]
    fn money_is_an_exact_decimal_with_the_yuan_sign() {
        assert_eq!(money(Some(&Money { minor_units: 19900, currency: "CNY".into() })), "¥199.00");
        assert_eq!(money(Some(&Money { minor_units: -5, currency: "CNY".into() })), "¥-0.05");
        assert_eq!(money(Some(&Money { minor_units: 150, currency: "USD".into() })), "USD 1.50");
        assert_eq!(money(None), "");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(url_encode("Ab9-_"), "Ab9-_");
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
        assert_eq!(url_encode("码"), "%E7%A0%81");
    }
}
