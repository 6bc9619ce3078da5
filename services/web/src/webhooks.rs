//! Webhook settings, the same in the promoter app and the supplier portal: the
//! owner's webhooks with their last deliveries, a form to add one (its signing
//! secret is shown once, on the page that answers the form), and buttons to delete
//! a webhook or send a failed delivery again. Settlement decides what each may do.
use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use xiaopu_api::settlement::{self as st, DeliveryStatus, WebhookEvent};

use crate::{
    SharedApp,
    i18n::Lang,
    pages::{Frame, PageQuery, back, failed, render},
    promoter::Tabs,
    session::{Area, NoFields, Posted, Promoter, Session, Supplier},
};

/// Deliveries shown under each webhook.
const DELIVERIES_SHOWN: i32 = 20;

/// An area with webhook settings: the events its users may subscribe to, and its page.
pub trait HookArea: Area {
    const EVENTS: &'static [WebhookEvent];
    fn page(frame: Frame, body: Body) -> Response;
}

impl HookArea for Promoter {
    const EVENTS: &'static [WebhookEvent] = &[
        WebhookEvent::LineAttributed,
        WebhookEvent::LineVoided,
        WebhookEvent::BatchApproved,
        WebhookEvent::PayoutPaid,
        WebhookEvent::PayoutFailed,
    ];
    fn page(frame: Frame, body: Body) -> Response {
        render(StatusCode::OK, &AppWebhooksPage { frame, tabs: Tabs("webhooks"), body })
    }
}

impl HookArea for Supplier {
    // A supplier hears of its lines and budgets, never of promoters' payouts.
    const EVENTS: &'static [WebhookEvent] =
        &[WebhookEvent::LineAttributed, WebhookEvent::LineVoided, WebhookEvent::BudgetAlert];
    fn page(frame: Frame, body: Body) -> Response {
        render(StatusCode::OK, &SupplierWebhooksPage { frame, body })
    }
}

/// What both pages show.
pub struct Body {
    /// Where the forms post: `/app/webhooks` or `/supplier/webhooks`.
    pub base: String,
    /// (form field, words) of each event the area offers.
    pub events: Vec<(String, String)>,
    pub hooks: Vec<HookRow>,
    /// The secret of the webhook just created (shown this once).
    pub secret: String,
}

pub struct HookRow {
    pub webhook_id: String,
    pub url: String,
    pub events: String,
    pub created: String,
    pub deleted: bool,
    pub deliveries: Vec<DeliveryRow>,
}

pub struct DeliveryRow {
    pub delivery_id: String,
    pub event: String,
    pub status: String,
    pub failed: bool,
    pub attempts: i32,
    /// The last answer: `HTTP 500 · …`, empty before the first attempt.
    pub last: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "app/webhooks.html")]
pub struct AppWebhooksPage {
    pub frame: Frame,
    pub tabs: Tabs,
    pub body: Body,
}

#[derive(Template)]
#[template(path = "supplier/webhooks.html")]
pub struct SupplierWebhooksPage {
    pub frame: Frame,
    pub body: Body,
}

/// An event's form field: its proto name in lower case (`webhook_event_payout_paid`).
fn field(event: WebhookEvent) -> String {
    event.as_str_name().to_lowercase()
}

fn path<A: Area>() -> String {
    format!("{}/webhooks", A::PATH)
}

/// The owner's webhooks and their last deliveries.
async fn body<A: HookArea>(app: &SharedApp, session: &Session<A>, secret: String) -> Result<Body, tonic::Status> {
    let lang = session.lang;
    let mut settlement = app.settlement_as_user.clone();
    let listed = settlement.list_webhooks(session.request(st::ListWebhooksRequest {})).await?.into_inner();
    let mut hooks = Vec::new();
    for w in listed.webhooks {
        let request =
            st::ListWebhookDeliveriesRequest { webhook_id: w.webhook_id.clone(), page_size: DELIVERIES_SHOWN };
        let deliveries = settlement.list_webhook_deliveries(session.request(request)).await?.into_inner().deliveries;
        hooks.push(HookRow {
            events: w.events().map(|e| lang.words(e.as_str_name())).collect::<Vec<_>>().join("、"),
            created: app.local_time_of(&w.created_at),
            deleted: w.deleted_at.is_some(),
            deliveries: deliveries.iter().map(|d| delivery_row(app, lang, d)).collect(),
            webhook_id: w.webhook_id,
            url: w.url,
        });
    }
    Ok(Body {
        base: path::<A>(),
        events: A::EVENTS.iter().map(|e| (field(*e), lang.words(e.as_str_name()))).collect(),
        hooks,
        secret,
    })
}

fn delivery_row(app: &SharedApp, lang: Lang, d: &st::WebhookDelivery) -> DeliveryRow {
    let last = match (d.last_status_code, d.last_error.as_str()) {
        (0, "") => String::new(),
        (0, error) => error.to_owned(),
        (code, "") => format!("HTTP {code}"),
        (code, error) => format!("HTTP {code} · {error}"),
    };
    DeliveryRow {
        delivery_id: d.delivery_id.clone(),
        event: lang.words(d.event().as_str_name()),
        status: lang.words(d.status().as_str_name()),
        failed: d.status() == DeliveryStatus::Failed,
        attempts: d.attempts,
        last,
        at: app.local_time_of(&d.created_at),
    }
}

pub async fn page<A: HookArea>(
    State(app): State<SharedApp>,
    session: Session<A>,
    Query(query): Query<PageQuery>,
) -> Response {
    match body(&app, &session, String::new()).await {
        Ok(body) => A::page(session.frame(&query), body),
        Err(status) => failed(session.lang, &status),
    }
}

/// The form: the URL, and one checkbox per event (named by [`field`]).
#[derive(Debug, Deserialize)]
pub struct HookForm {
    url: String,
    #[serde(flatten)]
    checked: std::collections::HashMap<String, String>,
}

pub async fn create<A: HookArea>(
    State(app): State<SharedApp>,
    session: Session<A>,
    Form(posted): Form<Posted<HookForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let events: Vec<i32> =
        A::EVENTS.iter().filter(|e| form.checked.contains_key(&field(**e))).map(|e| *e as i32).collect();
    let request = st::CreateWebhookRequest {
        // A new webhook per press, as the owner asked.
        request_id: uuid::Uuid::new_v4().to_string(),
        url: form.url.trim().to_owned(),
        events,
    };
    let created = match app.settlement_as_user.clone().create_webhook(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return back(session.lang, &path::<A>(), Err(status)),
    };
    // Answered here, not by a redirect: the secret must not travel in a URL.
    let mut frame = session.frame(&PageQuery::default());
    frame.done = session.lang.t("推送地址已添加：请保存签名密钥，它只显示这一次").to_owned();
    match body(&app, &session, created.secret).await {
        Ok(body) => A::page(frame, body),
        Err(status) => failed(session.lang, &status),
    }
}

pub async fn delete<A: HookArea>(
    State(app): State<SharedApp>,
    session: Session<A>,
    Path(webhook_id): Path<String>,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let request = st::DeleteWebhookRequest { webhook_id };
    let outcome = app.settlement_as_user.clone().delete_webhook(session.request(request)).await;
    back(session.lang, &path::<A>(), outcome.map(|_| session.lang.t("推送地址已删除").to_owned()))
}

pub async fn resend<A: HookArea>(
    State(app): State<SharedApp>,
    session: Session<A>,
    Path(delivery_id): Path<String>,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let request = st::RedeliverWebhookRequest { delivery_id };
    let outcome = app.settlement_as_user.clone().redeliver_webhook(session.request(request)).await;
    back(session.lang, &path::<A>(), outcome.map(|_| session.lang.t("已重新排队发送").to_owned()))
}
