//! Who is signed in to the console: the finance user's bearer token in an HttpOnly,
//! SameSite=Strict cookie, checked on every request like the services check it, and
//! a random CSRF token in a second cookie that every form must echo.
use std::time::Duration;

use axum::{
    Form,
    extract::{FromRequestParts, State},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use base64::Engine;
use serde::Deserialize;
use tonic::metadata::{Ascii, MetadataValue};
use xiaopu_common::{
    auth::Role,
    grpc_client::{bearer, on_behalf_of},
};

use super::views::SignInPage;
use crate::{SharedApp, pages::render, shop::cookie};

const SESSION_COOKIE: &str = "xiaopu_console";
const CSRF_COOKIE: &str = "xiaopu_csrf";

/// A signed-in finance user.
pub struct Session {
    /// Their own bearer token, sent on with every call.
    bearer: MetadataValue<Ascii>,
    pub user: String,
    /// What each form must carry back.
    pub csrf: String,
}

impl FromRequestParts<SharedApp> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &SharedApp) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/console/sign-in").into_response());
        };
        match app.verifier.verify(&token) {
            Ok(caller) if caller.role == Role::Finance => {
                tracing::Span::current().record("enduser.id", caller.subject.as_str());
                let csrf = cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default();
                let Some(bearer) = bearer(&token) else {
                    return Err(sign_in_refused(app, StatusCode::UNAUTHORIZED, "登录已失效，请重新登录"));
                };
                Ok(Self { bearer, user: caller.subject, csrf })
            }
            Ok(caller) => Err(sign_in_refused(
                app,
                StatusCode::FORBIDDEN,
                &format!("控制台只对财务角色开放；此令牌的角色是 {}", caller.role.as_str()),
            )),
            Err(err) => {
                Err(sign_in_refused(app, StatusCode::UNAUTHORIZED, &format!("登录已失效，请重新登录（{err}）")))
            }
        }
    }
}

/// A form with its CSRF token.
#[derive(Debug, Deserialize)]
pub struct Posted<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    pub fields: T,
}

impl Session {
    /// A call to a service made as this user.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        on_behalf_of(message, &self.bearer)
    }

    /// The form's fields, if it carries this session's CSRF token.
    pub fn accept<T>(&self, posted: Posted<T>) -> Result<T, CsrfRefused> {
        if self.csrf.is_empty() || !constant_time_eq(self.csrf.as_bytes(), posted.csrf.as_bytes()) {
            return Err(CsrfRefused);
        }
        Ok(posted.fields)
    }
}

/// A form without this session's CSRF token: refused, nothing done.
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        crate::pages::notice(StatusCode::FORBIDDEN, "请求已过期", "表单校验失败（CSRF）。请返回、刷新页面后重试。")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn sign_in_refused(app: &SharedApp, status: StatusCode, error: &str) -> Response {
    let page = SignInPage { error: error.to_owned(), dev_sign_in: app.dev_signer.is_some() };
    let mut response = render(status, &page);
    clear_cookies(&mut response, app.settings.secure_cookies);
    response
}

pub async fn sign_in_page(State(app): State<SharedApp>) -> Response {
    render(StatusCode::OK, &SignInPage { error: String::new(), dev_sign_in: app.dev_signer.is_some() })
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
}

/// Signs in with a token the identity provider issued: finance role only.
pub async fn sign_in(State(app): State<SharedApp>, Form(form): Form<SignInForm>) -> Response {
    let token = form.token.trim().trim_start_matches("Bearer ").trim().to_owned();
    match app.verifier.verify(&token) {
        Ok(caller) if caller.role == Role::Finance => start_session(&app, &token),
        Ok(caller) => sign_in_refused(
            &app,
            StatusCode::FORBIDDEN,
            &format!("控制台只对财务角色开放；此令牌的角色是 {}", caller.role.as_str()),
        ),
        Err(err) => sign_in_refused(&app, StatusCode::UNAUTHORIZED, &format!("令牌无效：{err}")),
    }
}

#[derive(Debug, Deserialize)]
pub struct DevSignInForm {
    name: String,
}

/// Local runs only (off unless `web.dev_sign_in`): a finance token for any name.
pub async fn dev_sign_in(State(app): State<SharedApp>, Form(form): Form<DevSignInForm>) -> Response {
    let Some(signer) = &app.dev_signer else {
        return crate::pages::notice(StatusCode::NOT_FOUND, "未开启", "开发登录未开启。");
    };
    let name = form.name.trim();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_alphanumeric() || "-_.@".contains(c)) {
        return sign_in_refused(&app, StatusCode::BAD_REQUEST, "名字：1 到 64 个字母、数字或 - _ . @");
    }
    let ttl = Duration::from_secs(app.settings.session_minutes * 60);
    match signer.mint(Role::Finance, name, ttl) {
        Ok(token) => start_session(&app, &token),
        Err(err) => {
            tracing::error!(error = %err, "cannot mint a development token");
            sign_in_refused(&app, StatusCode::INTERNAL_SERVER_ERROR, "无法签发令牌")
        }
    }
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn sign_out(
    State(app): State<SharedApp>,
    session: Session,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    clear_cookies(&mut response, app.settings.secure_cookies);
    response
}

fn start_session(app: &SharedApp, token: &str) -> Response {
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let max_age = app.settings.session_minutes * 60;
    let secure = if app.settings.secure_cookies { "; Secure" } else { "" };
    let mut response = Redirect::to("/console").into_response();
    for cookie in [
        format!("{SESSION_COOKIE}={token}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"),
        format!("{CSRF_COOKIE}={csrf}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn clear_cookies(response: &mut Response, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        let cookie = format!("{name}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict{secure}");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}
