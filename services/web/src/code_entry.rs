//! `/k`: where a buyer types a promo code (口令) a promoter gave them, e.g. in a live
//! stream, and lands on the promoter's shop (`/s/{code}`, which records the visit as
//! a click). Codes can be guessed, so the storefront counts misses per visitor's
//! address and refuses one who missed too often for a while.

use axum::{
    Form,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    SharedApp,
    http_server::Peer,
    i18n::Lang,
    pages::{self, render, url_encode},
    shop::{resolve, too_many_guesses, visitor_key},
    views::CodePage,
};

pub async fn page(lang: Lang) -> Response {
    render(StatusCode::OK, &CodePage { lang, code: String::new(), error: String::new() })
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn submit(
    State(app): State<SharedApp>,
    lang: Lang,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let typed = form.code.trim().to_owned();
    let again =
        |status, error: &str| render(status, &CodePage { lang, code: typed.clone(), error: lang.t(error).to_owned() });
    if typed.is_empty() {
        return again(StatusCode::BAD_REQUEST, "请输入口令");
    }
    match resolve(&app, &typed, &visitor_key(&headers, peer)).await {
        Ok(found) => {
            let code = found.share_link.map(|l| l.code).unwrap_or_default();
            Redirect::to(&format!("/s/{}", url_encode(&code))).into_response()
        }
        Err(status) => match status.code() {
            tonic::Code::NotFound => again(StatusCode::NOT_FOUND, "没有这个口令，请检查后再试"),
            tonic::Code::ResourceExhausted => too_many_guesses(lang),
            // A suspended shop or a removed product: the shop page says which.
            tonic::Code::FailedPrecondition => {
                Redirect::to(&format!("/s/{}", url_encode(&typed.to_ascii_uppercase()))).into_response()
            }
            _ => {
                tracing::warn!(code = status.code() as i32, message = status.message(), "code lookup failed");
                pages::unavailable(lang)
            }
        },
    }
}
