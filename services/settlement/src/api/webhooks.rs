//! Webhooks: a promoter or supplier subscribes their own system to their events,
//! reads the delivery log, and sends a failed delivery again. Only the owner sees or
//! changes a webhook.
use base64::Engine;
use rand::RngCore;
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::settlement as pb;
use xiaopu_common::{
    auth::{Caller, CallerExt, Role},
    error::Violations,
    idempotency::KeyReused,
    time::to_timestamp,
    validate,
};

use super::{Error, SettlementApi};
use crate::{
    domain::webhooks::{DeliveryStatus, WebhookEvent, host_rule, url_rule},
    store::{
        self,
        webhooks::{DeliveryRow, WebhookRow},
    },
};

const OWNERS: &[Role] = &[Role::Promoter, Role::Supplier];

/// The most deliveries one page lists.
const MAX_DELIVERIES_LISTED: i32 = 200;

fn event_of(e: pb::WebhookEvent) -> Option<WebhookEvent> {
    match e {
        pb::WebhookEvent::LineAttributed => Some(WebhookEvent::LineAttributed),
        pb::WebhookEvent::LineVoided => Some(WebhookEvent::LineVoided),
        pb::WebhookEvent::BatchApproved => Some(WebhookEvent::BatchApproved),
        pb::WebhookEvent::PayoutPaid => Some(WebhookEvent::PayoutPaid),
        pb::WebhookEvent::PayoutFailed => Some(WebhookEvent::PayoutFailed),
        pb::WebhookEvent::BudgetAlert => Some(WebhookEvent::BudgetAlert),
        pb::WebhookEvent::Unspecified => None,
    }
}

fn event_message(e: WebhookEvent) -> pb::WebhookEvent {
    match e {
        WebhookEvent::LineAttributed => pb::WebhookEvent::LineAttributed,
        WebhookEvent::LineVoided => pb::WebhookEvent::LineVoided,
        WebhookEvent::BatchApproved => pb::WebhookEvent::BatchApproved,
        WebhookEvent::PayoutPaid => pb::WebhookEvent::PayoutPaid,
        WebhookEvent::PayoutFailed => pb::WebhookEvent::PayoutFailed,
        WebhookEvent::BudgetAlert => pb::WebhookEvent::BudgetAlert,
    }
}

fn webhook_message(w: &WebhookRow) -> pb::Webhook {
    pb::Webhook {
        webhook_id: w.webhook_id.to_string(),
        owner_id: w.owner_id.clone(),
        url: w.url.clone(),
        // Stored by this service from known events only.
        events: w.events.iter().filter_map(|e| WebhookEvent::parse(e)).map(|e| event_message(e).into()).collect(),
        created_at: Some(to_timestamp(w.created_at)),
        deleted_at: w.deleted_at.map(to_timestamp),
    }
}

fn delivery_message(d: &DeliveryRow) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        delivery_id: d.delivery_id.to_string(),
        webhook_id: d.webhook_id.to_string(),
        event: event_message(d.event).into(),
        status: match d.status {
            DeliveryStatus::Pending => pb::DeliveryStatus::Pending,
            DeliveryStatus::Delivered => pb::DeliveryStatus::Delivered,
            DeliveryStatus::Failed => pb::DeliveryStatus::Failed,
        }
        .into(),
        attempts: d.attempts,
        created_at: Some(to_timestamp(d.created_at)),
        next_attempt_at: Some(to_timestamp(d.next_attempt_at)),
        delivered_at: d.delivered_at.map(to_timestamp),
        last_status_code: d.last_status_code,
        last_error: d.last_error.clone(),
        body: d.body.clone(),
    }
}

/// The webhook `id` names, if the caller owns it (another's is not found, as if it
/// did not exist).
async fn owned(api: &SettlementApi, caller: &Caller, id: Uuid) -> Result<WebhookRow, Error> {
    match store::webhooks::get(&api.pool, id).await? {
        Some(w) if w.owner_id == caller.subject => Ok(w),
        _ => Err(Error::not_found("webhook", id)),
    }
}

/// The secret a webhook signs with, opened from its sealed copy.
fn secret_of(api: &SettlementApi, w: &WebhookRow) -> Result<Vec<u8>, Error> {
    api.payee_key.open(&w.key_id, &w.owner_id, &w.sealed_secret).map_err(|e| Error::Sealing(e.to_string()))
}

fn created(api: &SettlementApi, w: &WebhookRow) -> Result<Response<pb::CreateWebhookResponse>, Error> {
    let secret = base64::engine::general_purpose::STANDARD.encode(secret_of(api, w)?);
    Ok(Response::new(pb::CreateWebhookResponse { webhook: Some(webhook_message(w)), secret }))
}

#[tracing::instrument(skip_all)]
pub async fn create_webhook(
    api: &SettlementApi,
    request: Request<pb::CreateWebhookRequest>,
) -> Result<Response<pb::CreateWebhookResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(OWNERS)?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let url = r.url.trim();
    if let Err(rule) = url_rule(url) {
        v.add("url", rule);
    } else if let Err(rule) = host_rule(url)
        && !api.settings.webhook_allow_private_addresses
    {
        v.add("url", rule);
    }
    let mut events: Vec<WebhookEvent> = Vec::new();
    for (i, raw) in r.events.iter().enumerate() {
        match pb::WebhookEvent::try_from(*raw).ok().and_then(event_of) {
            None => v.add(format!("events[{i}]"), "must be a known event, not UNSPECIFIED"),
            Some(e) if caller.role == Role::Supplier && !e.for_suppliers() => {
                v.add(format!("events[{i}]"), "a supplier may subscribe to line and budget events only")
            }
            Some(e) if caller.role == Role::Promoter && !e.for_promoters() => {
                v.add(format!("events[{i}]"), "budget alerts are for suppliers")
            }
            Some(e) if !events.contains(&e) => events.push(e),
            Some(_) => {}
        }
    }
    if r.events.is_empty() {
        v.add("events", "must name at least one event");
    }
    let request_id = v.finish_with(request_id)?;
    let events: Vec<String> = events.iter().map(|e| e.as_str().to_owned()).collect();

    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let row = WebhookRow {
        webhook_id: Uuid::now_v7(),
        owner_id: caller.subject.clone(),
        url: url.to_owned(),
        events,
        key_id: api.payee_key.id().to_owned(),
        sealed_secret: api.payee_key.seal(&caller.subject, &secret),
        request_id: request_id.to_owned(),
        created_at: api.clock.now(),
        deleted_at: None,
    };
    if store::webhooks::insert(&api.pool, &row).await? {
        tracing::info!(webhook = %row.webhook_id, owner = %row.owner_id, "webhook created");
        return created(api, &row);
    }
    // A retry: the same answer, if it asks for the same webhook.
    let first = store::webhooks::by_request(&api.pool, &caller.subject, request_id)
        .await?
        .ok_or_else(|| sqlx::Error::Protocol("a used request id has no webhook".into()))?;
    if first.url != row.url || first.events != row.events {
        return Err(tonic::Status::from(KeyReused::request_id(request_id)).into());
    }
    created(api, &first)
}

#[tracing::instrument(skip_all)]
pub async fn list_webhooks(
    api: &SettlementApi,
    request: Request<pb::ListWebhooksRequest>,
) -> Result<Response<pb::ListWebhooksResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(OWNERS)?;
    let rows = store::webhooks::of_owner(&api.pool, &caller.subject).await?;
    Ok(Response::new(pb::ListWebhooksResponse { webhooks: rows.iter().map(webhook_message).collect() }))
}

#[tracing::instrument(skip_all)]
pub async fn delete_webhook(
    api: &SettlementApi,
    request: Request<pb::DeleteWebhookRequest>,
) -> Result<Response<pb::DeleteWebhookResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(OWNERS)?;
    let id =
        validate::uuid("webhook_id", &request.get_ref().webhook_id).map_err(xiaopu_common::error::Invalid::from)?;
    let mut webhook = owned(api, &caller, id).await?;
    if webhook.deleted_at.is_none() {
        let at = api.clock.now();
        store::webhooks::delete(&api.pool, id, at).await?;
        webhook.deleted_at = Some(at);
    }
    Ok(Response::new(pb::DeleteWebhookResponse { webhook: Some(webhook_message(&webhook)) }))
}

#[tracing::instrument(skip_all)]
pub async fn list_webhook_deliveries(
    api: &SettlementApi,
    request: Request<pb::ListWebhookDeliveriesRequest>,
) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(OWNERS)?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let id = v.check(validate::uuid("webhook_id", &r.webhook_id));
    if !(0..=MAX_DELIVERIES_LISTED).contains(&r.page_size) {
        v.add("page_size", format!("must be between 0 and {MAX_DELIVERIES_LISTED}"));
    }
    let id = v.finish_with(id)?;
    owned(api, &caller, id).await?;
    let limit = if r.page_size == 0 { 50 } else { r.page_size };
    let rows = store::webhooks::deliveries(&api.pool, id, i64::from(limit)).await?;
    Ok(Response::new(pb::ListWebhookDeliveriesResponse { deliveries: rows.iter().map(delivery_message).collect() }))
}

#[tracing::instrument(skip_all)]
pub async fn redeliver_webhook(
    api: &SettlementApi,
    request: Request<pb::RedeliverWebhookRequest>,
) -> Result<Response<pb::RedeliverWebhookResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(OWNERS)?;
    let id =
        validate::uuid("delivery_id", &request.get_ref().delivery_id).map_err(xiaopu_common::error::Invalid::from)?;
    let delivery = store::webhooks::delivery(&api.pool, id).await?.ok_or_else(|| Error::not_found("delivery", id))?;
    let webhook = owned(api, &caller, delivery.webhook_id).await.map_err(|_| Error::not_found("delivery", id))?;
    if webhook.deleted_at.is_some() {
        return Err(Error::WebhookDeleted(webhook.webhook_id.to_string()));
    }
    // Only a failed delivery goes back in line: sending one on its way or delivered
    // again would be a second copy.
    let at = api.clock.now();
    if !store::webhooks::redeliver(&api.pool, id, at).await? {
        return Err(Error::DeliveryNotFailed { delivery_id: id.to_string(), status: delivery.status.as_str() });
    }
    let queued = DeliveryRow { status: DeliveryStatus::Pending, next_attempt_at: at, ..delivery };
    Ok(Response::new(pb::RedeliverWebhookResponse { delivery: Some(delivery_message(&queued)) }))
}
