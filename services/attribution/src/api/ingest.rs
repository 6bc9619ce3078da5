//! The ingest pipeline. A batch is checked event by event (a bad one is refused on
//! its own), then applied in one transaction, set-based and in dependency order —
//! clicks, payments, confirmations, refunds — so a confirmation or refund in the same
//! batch as its payment applies right after it, and one that arrives before its
//! payment waits (stored) until the payment comes. Every event is idempotent by its id.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tonic::Code;
use uuid::Uuid;
use xiaopu_api::attribution::{self as pb, CommissionCause, order_event};
use xiaopu_common::{
    error::{is_retryable_conflict, reason},
    feed::publish_all,
    idempotency::{self, KeyReused},
};

use super::{
    AttributionApi, Error,
    engine::{Cause, Engine, events, recompute},
    validate::{Checker, PaidOrder},
};
use crate::{
    domain::{line, locks},
    store::{
        self,
        inputs::{self, NewClick, NewConfirmation, StoredRefund},
        lines::{self, LineRow},
    },
};

/// Most events in one request.
pub const MAX_BATCH: usize = 5000;
/// Attempts at a batch that lost a deadlock or serialization race.
const ATTEMPTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
    Pending,
    Rejected { code: Code, reason: &'static str, field: String, message: String },
}

impl Outcome {
    fn rejected(code: Code, field: impl Into<String>, message: impl Into<String>) -> Self {
        let reason = if code == Code::InvalidArgument { reason::INVALID_ARGUMENT } else { reason::FAILED_PRECONDITION };
        Self::Rejected { code, reason, field: field.into(), message: message.into() }
    }

    /// The event id was used before for a different event.
    fn reused(field: String, reused: &KeyReused) -> Self {
        Self::Rejected {
            code: Code::FailedPrecondition,
            reason: reason::IDEMPOTENCY_KEY_REUSED,
            field,
            message: reused.to_string(),
        }
    }
}

/// The idempotency scope of ingested events: an event id names one event, whoever
/// sends it (the tables keep event ids unique across callers too).
const EVENT_SCOPE: &str = "attribution.event";
const ANY_CALLER: &str = "*";

/// An accepted event's key: its id and the fingerprint of what was sent under it.
struct EventKey {
    index: usize,
    field: &'static str,
    event_id: String,
    fingerprint: Vec<u8>,
}

/// The checked events of a batch, each with its position in the request.
#[derive(Default)]
struct Batch {
    clicks: Vec<(usize, NewClick)>,
    orders: Vec<(usize, PaidOrder)>,
    confirmations: Vec<(usize, NewConfirmation)>,
    refunds: Vec<(usize, StoredRefund)>,
    keys: Vec<EventKey>,
}

impl Batch {
    /// The batch less the events at `refused`.
    fn without(&self, refused: &HashSet<usize>) -> Batch {
        fn keep<T: Clone>(events: &[(usize, T)], refused: &HashSet<usize>) -> Vec<(usize, T)> {
            events.iter().filter(|(i, _)| !refused.contains(i)).cloned().collect()
        }
        Batch {
            clicks: keep(&self.clicks, refused),
            orders: keep(&self.orders, refused),
            confirmations: keep(&self.confirmations, refused),
            refunds: keep(&self.refunds, refused),
            keys: Vec::new(),
        }
    }
}

/// The request field of an event's id, by its kind.
fn event_id_field(event: &pb::OrderEvent) -> &'static str {
    match &event.event {
        Some(order_event::Event::Click(_)) => "click.event_id",
        Some(order_event::Event::OrderPaid(_)) => "order_paid.event_id",
        Some(order_event::Event::OrderConfirmed(_)) => "order_confirmed.event_id",
        Some(order_event::Event::Refund(_)) => "refund.event_id",
        None => "event",
    }
}

fn event_id(event: &pb::OrderEvent) -> String {
    match &event.event {
        Some(order_event::Event::Click(e)) => e.event_id.clone(),
        Some(order_event::Event::OrderPaid(e)) => e.event_id.clone(),
        Some(order_event::Event::OrderConfirmed(e)) => e.event_id.clone(),
        Some(order_event::Event::Refund(e)) => e.event_id.clone(),
        None => String::new(),
    }
}

/// Applies a batch and answers each event.
pub async fn ingest(api: &AttributionApi, events: &[pb::OrderEvent]) -> Result<Vec<pb::EventResult>, Error> {
    let now = api.clock.now();
    let mut outcomes: HashMap<usize, Outcome> = HashMap::new();
    let mut batch = Batch::default();
    let checker = Checker { now, currencies: &api.currencies };
    for (i, event) in events.iter().enumerate() {
        let checked = match &event.event {
            None => Err(vec![xiaopu_common::error::FieldViolation::new(
                "event",
                "is required: one of click, order_paid, order_confirmed, refund",
            )]),
            Some(order_event::Event::Click(c)) => checker.click(c).map(|c| batch.clicks.push((i, c))),
            Some(order_event::Event::OrderPaid(o)) => checker.order(o).map(|o| batch.orders.push((i, o))),
            Some(order_event::Event::OrderConfirmed(c)) => {
                checker.confirmation(c).map(|c| batch.confirmations.push((i, c)))
            }
            Some(order_event::Event::Refund(r)) => checker.refund(r).map(|r| batch.refunds.push((i, r))),
        };
        match checked {
            Ok(()) => batch.keys.push(EventKey {
                index: i,
                field: event_id_field(event),
                event_id: event_id(event),
                fingerprint: idempotency::fingerprint(event),
            }),
            Err(violations) => {
                let message = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                let field = violations.first().map(|v| v.field.clone()).unwrap_or_default();
                outcomes.insert(i, Outcome::rejected(Code::InvalidArgument, field, message));
            }
        }
    }
    check_products(api, &mut batch, &mut outcomes).await?;

    let mut attempt = 0;
    let applied = loop {
        attempt += 1;
        let mut tx = api.pool.begin().await?;
        match apply(&api.engine, &mut tx, &batch, now).await {
            Ok(applied) => {
                tx.commit().await?;
                break applied;
            }
            Err(err) if is_retryable_conflict(&err) && attempt < ATTEMPTS => {
                tracing::warn!(attempt, error = %err, "batch lost a lock race; retrying");
            }
            Err(err) => return Err(err.into()),
        }
    };
    outcomes.extend(applied);
    Ok(events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let outcome = outcomes.remove(&i).unwrap_or(Outcome::Applied);
            let (outcome, code, reason, field, message) = match outcome {
                Outcome::Applied => (pb::EventOutcome::Applied, 0, "", String::new(), String::new()),
                Outcome::Duplicate => (pb::EventOutcome::Duplicate, 0, "", String::new(), String::new()),
                Outcome::Pending => (
                    pb::EventOutcome::Pending,
                    0,
                    "",
                    String::new(),
                    "kept until the order it refers to is paid".to_string(),
                ),
                Outcome::Rejected { code, reason, field, message } => {
                    (pb::EventOutcome::Rejected, code as i32, reason, field, message)
                }
            };
            pb::EventResult {
                index: i32::try_from(i).unwrap_or(i32::MAX),
                event_id: event_id(event),
                outcome: outcome.into(),
                code,
                message,
                field,
                reason: reason.to_owned(),
            }
        })
        .collect())
}

/// Refuses orders naming a product the catalog does not hold, or the wrong supplier.
async fn check_products(
    api: &AttributionApi,
    batch: &mut Batch,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), Error> {
    let mut products: Vec<Uuid> = batch.orders.iter().flat_map(|(_, o)| o.lines.iter().map(|l| l.product_id)).collect();
    products.sort_unstable();
    products.dedup();
    if products.is_empty() {
        return Ok(());
    }
    let known: HashMap<Uuid, String> = store::read_model::suppliers(&api.pool, &products).await?.into_iter().collect();
    batch.orders.retain(|(i, order)| {
        for (j, line) in order.lines.iter().enumerate() {
            let rejection = match known.get(&line.product_id) {
                None => Some(Outcome::rejected(
                    Code::FailedPrecondition,
                    format!("order_paid.lines[{j}].product_id"),
                    format!("line {}: product {} is not in the catalog (yet)", line.line_id, line.product_id),
                )),
                Some(supplier) if *supplier != line.supplier_id => Some(Outcome::rejected(
                    Code::InvalidArgument,
                    format!("order_paid.lines[{j}].supplier_id"),
                    format!("line {}: product {} belongs to supplier {supplier}", line.line_id, line.product_id),
                )),
                Some(_) => None,
            };
            if let Some(rejection) = rejection {
                outcomes.insert(*i, rejection);
                return false;
            }
        }
        true
    });
    Ok(())
}

/// Applies the checked batch inside one transaction.
async fn apply(
    engine: &Engine,
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<HashMap<usize, Outcome>, sqlx::Error> {
    let mut outcomes = HashMap::new();
    store::begin_ingest(conn).await?;
    let order_keys = batch
        .orders
        .iter()
        .map(|(_, o)| locks::order_key(&o.order.order_id))
        .chain(batch.confirmations.iter().map(|(_, c)| locks::order_key(&c.order_id)))
        .chain(batch.refunds.iter().map(|(_, r)| locks::order_key(&r.order_id)));
    let buyer_keys = batch
        .clicks
        .iter()
        .map(|(_, c)| locks::buyer_key(&c.visitor_id))
        .chain(batch.orders.iter().map(|(_, o)| locks::buyer_key(&o.order.buyer_id)));
    let keys: Vec<String> = order_keys.chain(buyer_keys).collect();
    store::lock_keys(conn, &locks::keys(keys.iter().map(String::as_str))).await?;

    // An event id re-sent with a different event is refused on its own; the rest of
    // the batch applies (a retry of the same event goes on to answer DUPLICATE).
    let ids: Vec<(&str, &[u8])> = batch.keys.iter().map(|k| (k.event_id.as_str(), k.fingerprint.as_slice())).collect();
    let claims = idempotency::claim_many(conn, EVENT_SCOPE, ANY_CALLER, &ids).await?;
    let mut refused = HashSet::new();
    for (key, claim) in batch.keys.iter().zip(claims) {
        if let Err(reused) = claim {
            refused.insert(key.index);
            outcomes.insert(key.index, Outcome::reused(key.field.to_owned(), &reused));
        }
    }
    let rest;
    let batch = if refused.is_empty() {
        batch
    } else {
        rest = batch.without(&refused);
        &rest
    };

    apply_clicks(engine, conn, batch, now, &mut outcomes).await?;
    apply_orders(engine, conn, batch, now, &mut outcomes).await?;
    apply_confirmations(conn, batch, now, &mut outcomes).await?;
    apply_refunds(conn, batch, now, &mut outcomes).await?;
    Ok(outcomes)
}

async fn apply_clicks(
    engine: &Engine,
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), sqlx::Error> {
    if batch.clicks.is_empty() {
        return Ok(());
    }
    let clicks: Vec<NewClick> = batch.clicks.iter().map(|(_, c)| c.clone()).collect();
    let new: HashSet<String> = inputs::insert_clicks(conn, &clicks, now).await?.into_iter().collect();
    let mut visitors = Vec::new();
    let mut times = Vec::new();
    for (i, click) in &batch.clicks {
        if new.contains(&click.event_id) {
            visitors.push(click.visitor_id.clone());
            times.push(click.clicked_at);
            outcomes.insert(*i, Outcome::Applied);
        } else {
            outcomes.insert(*i, Outcome::Duplicate);
        }
    }
    // A click that arrives after the payment it led to: re-decide those lines.
    let late = lines::affected_by_clicks(conn, &visitors, &times).await?;
    if !late.is_empty() {
        let cause = format!("clicks:{}", batch.clicks.first().map(|(_, c)| c.event_id.as_str()).unwrap_or(""));
        engine.reevaluate(conn, late, &cause, now).await?;
    }
    Ok(())
}

async fn apply_orders(
    engine: &Engine,
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), sqlx::Error> {
    if batch.orders.is_empty() {
        return Ok(());
    }
    // A line id may belong to one order only, across batches and within this one.
    let line_ids: Vec<&str> =
        batch.orders.iter().flat_map(|(_, o)| o.lines.iter().map(|l| l.line_id.as_str())).collect();
    let mut owner: HashMap<String, String> = inputs::existing_lines(conn, &line_ids).await?.into_iter().collect();
    let mut accepted: Vec<&(usize, PaidOrder)> = Vec::new();
    for entry in &batch.orders {
        let (i, order) = entry;
        let clash = order.lines.iter().enumerate().find_map(|(j, l)| {
            owner.get(&l.line_id).filter(|o| **o != order.order.order_id).map(|o| (j, l, o.clone()))
        });
        if let Some((j, line, other)) = clash {
            outcomes.insert(
                *i,
                Outcome::rejected(
                    Code::InvalidArgument,
                    format!("order_paid.lines[{j}].line_id"),
                    format!("line {} already belongs to order {other}", line.line_id),
                ),
            );
            continue;
        }
        for line in &order.lines {
            owner.insert(line.line_id.clone(), order.order.order_id.clone());
        }
        accepted.push(entry);
    }
    let new_orders: Vec<inputs::NewOrder> = accepted.iter().map(|(_, o)| o.order.clone()).collect();
    let new: HashSet<String> = inputs::insert_orders(conn, &new_orders, now).await?.into_iter().collect();
    let mut fresh = Vec::new();
    for (i, order) in accepted {
        // Within one batch the same order twice: the first one is the payment.
        if new.contains(&order.order.order_id)
            && !fresh.iter().any(|o: &&PaidOrder| o.order.order_id == order.order.order_id)
        {
            outcomes.insert(*i, Outcome::Applied);
            fresh.push(order);
        } else {
            outcomes.insert(*i, Outcome::Duplicate);
        }
    }
    create_lines(engine, conn, &fresh, now).await
}

/// The lines of newly paid orders: decided, with any confirmation and refunds that
/// arrived before the payment applied, stored, and announced.
async fn create_lines(
    engine: &Engine,
    conn: &mut PgConnection,
    orders: &[&PaidOrder],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if orders.is_empty() {
        return Ok(());
    }
    let order_ids: Vec<&str> = orders.iter().map(|o| o.order.order_id.as_str()).collect();
    let confirmed: HashMap<String, DateTime<Utc>> =
        inputs::confirmations(conn, &order_ids).await?.into_iter().collect();
    let mut rows: Vec<LineRow> = orders
        .iter()
        .flat_map(|o| {
            let confirmed_at = confirmed.get(&o.order.order_id).copied();
            o.lines.iter().map(move |l| LineRow {
                line_id: l.line_id.clone(),
                order_id: o.order.order_id.clone(),
                buyer_id: o.order.buyer_id.clone(),
                paid_at: o.order.paid_at,
                order_code: o.order.share_code.clone(),
                product_id: l.product_id,
                supplier_id: l.supplier_id.clone(),
                quantity: l.quantity,
                currency: l.currency.clone(),
                paid_minor: l.paid_minor,
                refunded_minor: 0,
                confirmed_at,
                state: String::new(),
                attributed: false,
                reason: String::new(),
                summary: String::new(),
                promoter_id: None,
                shop_id: None,
                share_code: None,
                click_event_id: None,
                clicked_at: None,
                rate_id: None,
                rate_bps: None,
                commission_minor: 0,
                decided_at: now,
                updated_at: now,
            })
        })
        .collect();
    let facts = lines::facts(conn, &rows).await?;
    for row in &mut rows {
        if let Some(f) = facts.get(&row.line_id) {
            engine.decide(row, f, now);
        }
    }
    // Refunds that came first wait as pending: apply them now, in time order.
    let ids: Vec<&str> = rows.iter().map(|r| r.line_id.as_str()).collect();
    let pending = inputs::pending_refunds(conn, &ids).await?;
    let mut index: HashMap<String, usize> = rows.iter().enumerate().map(|(i, r)| (r.line_id.clone(), i)).collect();
    let mut settled = Vec::new();
    for refund in pending {
        let Some(&i) = index.get(&refund.line_id) else { continue };
        settled.push((refund.event_id.clone(), refund_onto(&mut rows[i], &refund).err()));
    }
    index.clear();
    for row in &mut rows {
        recompute(row);
    }
    lines::insert(conn, &rows).await?;
    inputs::settle_refunds(conn, &settled).await?;
    let by_order: HashMap<&str, &PaidOrder> = orders.iter().map(|o| (o.order.order_id.as_str(), *o)).collect();
    let mut outgoing = Vec::new();
    for row in &rows {
        let event_id = by_order.get(row.order_id.as_str()).map_or("", |o| o.order.event_id.as_str());
        outgoing.extend(events(None, row, Cause { kind: CommissionCause::Payment, id: event_id, at: row.paid_at })?);
    }
    publish_all(conn, &outgoing).await
}

/// Adds a refund to a line if it is the line's order and currency and stays within
/// what was paid; otherwise why not.
fn refund_onto(row: &mut LineRow, refund: &StoredRefund) -> Result<(), String> {
    if refund.order_id != row.order_id {
        return Err(format!("line {} belongs to order {}, not {}", row.line_id, row.order_id, refund.order_id));
    }
    if refund.currency != row.currency {
        return Err(format!("refund currency {} differs from the line's {}", refund.currency, row.currency));
    }
    let total = line::refund(row.paid_minor, row.refunded_minor, refund.amount_minor)
        .map_err(|over| format!("line {}: {over}", row.line_id))?;
    row.refunded_minor = total;
    Ok(())
}

async fn apply_confirmations(
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), sqlx::Error> {
    if batch.confirmations.is_empty() {
        return Ok(());
    }
    let confirmations: Vec<NewConfirmation> = batch.confirmations.iter().map(|(_, c)| c.clone()).collect();
    let new: HashSet<String> = inputs::insert_confirmations(conn, &confirmations, now).await?.into_iter().collect();
    let new_orders: Vec<&str> = new.iter().map(String::as_str).collect();
    let paid: HashSet<String> = inputs::paid_orders(conn, &new_orders).await?.into_iter().collect();
    let mut applied: HashMap<&str, &NewConfirmation> = HashMap::new();
    for (i, c) in &batch.confirmations {
        let outcome = if !new.contains(&c.order_id) || applied.contains_key(c.order_id.as_str()) {
            Outcome::Duplicate
        } else if paid.contains(&c.order_id) {
            applied.insert(&c.order_id, c);
            Outcome::Applied
        } else {
            Outcome::Pending
        };
        outcomes.insert(*i, outcome);
    }
    if applied.is_empty() {
        return Ok(());
    }
    let orders: Vec<&str> = applied.keys().copied().collect();
    let ids = lines::of_orders(conn, &orders).await?;
    let before = lines::lock(conn, &ids).await?;
    let mut after = Vec::with_capacity(before.len());
    let mut outgoing = Vec::new();
    for old in &before {
        let Some(c) = applied.get(old.order_id.as_str()) else { continue };
        let mut row = old.clone();
        row.confirmed_at = Some(c.confirmed_at);
        row.updated_at = now;
        recompute(&mut row);
        outgoing.extend(events(
            Some(old),
            &row,
            Cause { kind: CommissionCause::Confirmation, id: &c.event_id, at: c.confirmed_at },
        )?);
        after.push(row);
    }
    lines::update(conn, &after).await?;
    publish_all(conn, &outgoing).await
}

async fn apply_refunds(
    conn: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<usize, Outcome>,
) -> Result<(), sqlx::Error> {
    if batch.refunds.is_empty() {
        return Ok(());
    }
    let line_ids: Vec<&str> = batch.refunds.iter().map(|(_, r)| r.line_id.as_str()).collect();
    let owner: HashMap<String, String> = inputs::existing_lines(conn, &line_ids).await?.into_iter().collect();
    let mut storable = Vec::new();
    for (i, r) in &batch.refunds {
        match owner.get(&r.line_id) {
            Some(order) if *order != r.order_id => {
                outcomes.insert(
                    *i,
                    Outcome::rejected(
                        Code::InvalidArgument,
                        "refund.order_id",
                        format!("line {} belongs to order {order}, not {}", r.line_id, r.order_id),
                    ),
                );
            }
            _ => storable.push((*i, r)),
        }
    }
    let rows: Vec<StoredRefund> = storable.iter().map(|(_, r)| (*r).clone()).collect();
    let new: HashSet<String> = inputs::insert_refunds(conn, &rows, now).await?.into_iter().collect();
    // Retries of earlier refunds answer as the first delivery did.
    let old_ids: Vec<&str> =
        storable.iter().filter(|(_, r)| !new.contains(&r.event_id)).map(|(_, r)| r.event_id.as_str()).collect();
    let earlier: HashMap<String, (String, Option<String>)> = inputs::refund_statuses(conn, &old_ids)
        .await?
        .into_iter()
        .map(|(id, status, why)| (id, (status, why)))
        .collect();
    let mut to_apply: Vec<(usize, &StoredRefund)> = Vec::new();
    let mut taken = HashSet::new();
    for (i, r) in storable {
        if new.contains(&r.event_id) && taken.insert(r.event_id.as_str()) {
            if owner.contains_key(&r.line_id) {
                to_apply.push((i, r));
            } else {
                outcomes.insert(i, Outcome::Pending);
            }
        } else {
            let outcome = match earlier.get(&r.event_id) {
                Some((status, Some(why))) if status == "rejected" => {
                    Outcome::rejected(Code::FailedPrecondition, "refund.refunded_amount.minor_units", why.clone())
                }
                _ => Outcome::Duplicate,
            };
            outcomes.insert(i, outcome);
        }
    }
    if to_apply.is_empty() {
        return Ok(());
    }
    to_apply.sort_by(|a, b| (a.1.refunded_at, &a.1.event_id).cmp(&(b.1.refunded_at, &b.1.event_id)));
    let ids: Vec<String> =
        to_apply.iter().map(|(_, r)| r.line_id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let mut current: HashMap<String, LineRow> =
        lines::lock(conn, &ids).await?.into_iter().map(|row| (row.line_id.clone(), row)).collect();
    let before: HashMap<String, LineRow> = current.clone();
    let mut settled = Vec::new();
    let mut outgoing = Vec::new();
    for (i, refund) in to_apply {
        let Some(row) = current.get_mut(&refund.line_id) else { continue };
        let previous = row.clone();
        match refund_onto(row, refund) {
            Ok(()) => {
                row.updated_at = now;
                recompute(row);
                let cause = Cause { kind: CommissionCause::Refund, id: &refund.event_id, at: refund.refunded_at };
                outgoing.extend(events(Some(&previous), row, cause)?);
                settled.push((refund.event_id.clone(), None));
                outcomes.insert(i, Outcome::Applied);
            }
            Err(why) => {
                outcomes.insert(
                    i,
                    Outcome::rejected(Code::FailedPrecondition, "refund.refunded_amount.minor_units", why.clone()),
                );
                settled.push((refund.event_id.clone(), Some(why)));
            }
        }
    }
    let changed: Vec<LineRow> = current.into_values().filter(|row| before.get(&row.line_id) != Some(row)).collect();
    lines::update(conn, &changed).await?;
    inputs::settle_refunds(conn, &settled).await?;
    publish_all(conn, &outgoing).await
}
