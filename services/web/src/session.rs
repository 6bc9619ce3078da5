//! Who is signed in to an area of the site (the finance console, the promoter app,
//! the supplier portal): the user's bearer token in an HttpOnly, SameSite=Strict
//! cookie scoped to the area's path, checked on every request as the services check
//! it, and a random CSRF token in a second cookie that every form must echo. Every
//! call to a service carries the user's own token, so the services decide.
use std::{marker::PhantomData, time::Duration};

use askama::Template;
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

use crate::{SharedApp, i18n::Lang, pages::render, shop::cookie};

/// An area of the site with its own sign-in, for one role.
pub trait Area: Send + Sync + 'static {
    const ROLE: Role;
    /// Where it is mounted, e.g. `/console`.
    const PATH: &'static str;
    const SESSION_COOKIE: &'static str;
    const CSRF_COOKIE: &'static str;
    /// Its name on the sign-in page (Chinese; `Lang::t` has its English).
    const TITLE: &'static str;
    /// Who may sign in, in words (the same).
    const WHO: &'static str;
    /// Laid out for a phone (the promoter app) rather than a desk.
    const MOBILE: bool;
}

/// The finance console.
pub struct Finance;
impl Area for Finance {
    const ROLE: Role = Role::Finance;
    const PATH: &'static str = "/console";
    const SESSION_COOKIE: &'static str = "xiaopu_console";
    const CSRF_COOKIE: &'static str = "xiaopu_csrf";
    const TITLE: &'static str = "小铺财务控制台";
    const WHO: &'static str = "财务";
    const MOBILE: bool = false;
}

/// The promoter app (店主).
pub struct Promoter;
impl Area for Promoter {
    const ROLE: Role = Role::Promoter;
    const PATH: &'static str = "/app";
    const SESSION_COOKIE: &'static str = "xiaopu_app";
    const CSRF_COOKIE: &'static str = "xiaopu_app_csrf";
    const TITLE: &'static str = "小铺店主";
    const WHO: &'static str = "推广者（店主）";
    const MOBILE: bool = true;
}

/// The supplier portal.
pub struct Supplier;
impl Area for Supplier {
    const ROLE: Role = Role::Supplier;
    const PATH: &'static str = "/supplier";
    const SESSION_COOKIE: &'static str = "xiaopu_supplier";
    const CSRF_COOKIE: &'static str = "xiaopu_supplier_csrf";
    const TITLE: &'static str = "小铺供应商后台";
    const WHO: &'static str = "供应商";
    const MOBILE: bool = false;
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub lang: Lang,
    pub error: String,
    pub dev_sign_in: bool,
    pub title: &'static str,
    pub path: &'static str,
    pub who: &'static str,
    pub mobile: bool,
}

/// A signed-in user of area `A`.
pub struct Session<A> {
    /// Their own bearer token, sent on with every call.
    bearer: MetadataValue<Ascii>,
    pub user: String,
    /// What each form must carry back.
    pub csrf: String,
    /// The language they read.
    pub lang: Lang,
    area: PhantomData<A>,
}

impl<A: Area> FromRequestParts<SharedApp> for Session<A> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &SharedApp) -> Result<Self, Response> {
        let lang = Lang::of(parts);
        let Some(token) = cookie(&parts.headers, A::SESSION_COOKIE) else {
            return Err(Redirect::to(&format!("{}/sign-in", A::PATH)).into_response());
        };
        let expired = lang.t("登录已失效，请重新登录");
        match app.verifier.verify(&token) {
            Ok(caller) if caller.role == A::ROLE => {
                tracing::Span::current().record("enduser.id", caller.subject.as_str());
                let csrf = cookie(&parts.headers, A::CSRF_COOKIE).unwrap_or_default();
                let Some(bearer) = bearer(&token) else {
                    return Err(sign_in_refused::<A>(app, lang, StatusCode::UNAUTHORIZED, expired));
                };
                Ok(Self { bearer, user: caller.subject, csrf, lang, area: PhantomData })
            }
            Ok(caller) => {
                Err(sign_in_refused::<A>(app, lang, StatusCode::FORBIDDEN, &wrong_role::<A>(lang, caller.role)))
            }
            Err(err) => Err(sign_in_refused::<A>(app, lang, StatusCode::UNAUTHORIZED, &format!("{expired}（{err}）"))),
        }
    }
}

fn wrong_role<A: Area>(lang: Lang, role: Role) -> String {
    format!("{} {}", lang.t1("这里只对{}角色开放；此令牌的角色是", lang.t(A::WHO)), role.as_str())
}

/// A form with its CSRF token.
#[derive(Debug, Deserialize)]
pub struct Posted<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    pub fields: T,
}

impl<A> Session<A> {
    /// A call to a service made as this user.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        on_behalf_of(message, &self.bearer)
    }

    /// The form's fields, if it carries this session's CSRF token.
    pub fn accept<T>(&self, posted: Posted<T>) -> Result<T, CsrfRefused> {
        if self.csrf.is_empty() || !constant_time_eq(self.csrf.as_bytes(), posted.csrf.as_bytes()) {
            return Err(CsrfRefused(self.lang));
        }
        Ok(posted.fields)
    }
}

/// A form without this session's CSRF token: refused, nothing done.
pub struct CsrfRefused(Lang);

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        let lang = self.0;
        crate::pages::notice(
            lang,
            StatusCode::FORBIDDEN,
            lang.t("请求已过期"),
            lang.t("表单校验失败（CSRF）。请返回、刷新页面后重试。"),
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn page<A: Area>(app: &SharedApp, lang: Lang, error: &str) -> SignInPage {
    SignInPage {
        lang,
        error: error.to_owned(),
        dev_sign_in: app.dev_signer.is_some(),
        title: A::TITLE,
        path: A::PATH,
        who: A::WHO,
        mobile: A::MOBILE,
    }
}

fn sign_in_refused<A: Area>(app: &SharedApp, lang: Lang, status: StatusCode, error: &str) -> Response {
    let mut response = render(status, &page::<A>(app, lang, error));
    clear_cookies::<A>(&mut response, app.settings.secure_cookies);
    response
}

pub async fn sign_in_page<A: Area>(State(app): State<SharedApp>, lang: Lang) -> Response {
    render(StatusCode::OK, &page::<A>(&app, lang, ""))
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
}

/// Signs in with a token the identity provider issued, for the area's role only.
pub async fn sign_in<A: Area>(State(app): State<SharedApp>, lang: Lang, Form(form): Form<SignInForm>) -> Response {
    let token = form.token.trim().trim_start_matches("Bearer ").trim().to_owned();
    match app.verifier.verify(&token) {
        Ok(caller) if caller.role == A::ROLE => start_session::<A>(&app, &token),
        Ok(caller) => sign_in_refused::<A>(&app, lang, StatusCode::FORBIDDEN, &wrong_role::<A>(lang, caller.role)),
        Err(err) => {
            sign_in_refused::<A>(&app, lang, StatusCode::UNAUTHORIZED, &format!("{}：{err}", lang.t("令牌无效")))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct DevSignInForm {
    name: String,
}

/// Local runs only (off unless `web.dev_sign_in`): a token of the area's role for
/// any name.
pub async fn dev_sign_in<A: Area>(
    State(app): State<SharedApp>,
    lang: Lang,
    Form(form): Form<DevSignInForm>,
) -> Response {
    let Some(signer) = &app.dev_signer else {
        return crate::pages::notice(lang, StatusCode::NOT_FOUND, lang.t("未开启"), lang.t("开发登录未开启。"));
    };
    let name = form.name.trim();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_alphanumeric() || "-_.@".contains(c)) {
        let rule = lang.t("名字：1 到 64 个字母、数字或 - _ . @");
        return sign_in_refused::<A>(&app, lang, StatusCode::BAD_REQUEST, rule);
    }
    let ttl = Duration::from_secs(app.settings.session_minutes * 60);
    match signer.mint(A::ROLE, name, ttl) {
        Ok(token) => start_session::<A>(&app, &token),
        Err(err) => {
            tracing::error!(error = %err, "cannot mint a development token");
            sign_in_refused::<A>(&app, lang, StatusCode::INTERNAL_SERVER_ERROR, lang.t("无法签发令牌"))
        }
    }
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn sign_out<A: Area>(
    State(app): State<SharedApp>,
    session: Session<A>,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let mut response = Redirect::to(&format!("{}/sign-in", A::PATH)).into_response();
    clear_cookies::<A>(&mut response, app.settings.secure_cookies);
    response
}

fn start_session<A: Area>(app: &SharedApp, token: &str) -> Response {
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let max_age = app.settings.session_minutes * 60;
    let mut response = Redirect::to(A::PATH).into_response();
    for (name, value) in [(A::SESSION_COOKIE, token), (A::CSRF_COOKIE, csrf.as_str())] {
        set_cookie::<A>(&mut response, name, value, max_age, app.settings.secure_cookies);
    }
    response
}

fn clear_cookies<A: Area>(response: &mut Response, secure: bool) {
    for name in [A::SESSION_COOKIE, A::CSRF_COOKIE] {
        set_cookie::<A>(response, name, "", 0, secure);
    }
}

fn set_cookie<A: Area>(response: &mut Response, name: &str, value: &str, max_age: u64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let path = A::PATH;
    let cookie = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
