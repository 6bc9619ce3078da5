//! The ingest pipeline. A batch is checked event by event (a bad one is refused on
//! its own), then applied in one transaction, set-based and in dependency order —
//! clicks, payments, confirmations, refunds — so a confirmation or refund in the same
//! batch as its payment applies right after it, and one that arrives before its
//! payment waits (stored) until the payment comes. Every event is idempotent by its id.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tonic::Code;
use uuid::Uuid;
use xiaopu_api::attribution::{self as pb, order_event};
use xiaopu_common::{
    error::{is_retryable_conflict, reason},
    idempotency::{self, KeyReused},
    time::SharedClock,
};

use self::validate::{Checker, PaidOrder};
use crate::{
    Error,
    app::engine::Engine,
    domain::locks,
    store::{
        self,
        inputs::{NewClick, NewConfirmation, StoredRefund},
    },
};

mod clicks;
mod confirmations;
mod orders;
mod refunds;
mod validate;

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

/// What ingest needs: the database, the clock, the rules and the currencies taken.
pub struct Pipeline {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub engine: Engine,
    pub currencies: Vec<String>,
}

/// Applies a batch and answers each event.
pub async fn ingest(api: &Pipeline, events: &[pb::OrderEvent]) -> Result<Vec<pb::EventResult>, Error> {
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
    api: &Pipeline,
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

    clicks::apply_clicks(engine, conn, batch, now, &mut outcomes).await?;
    orders::apply_orders(engine, conn, batch, now, &mut outcomes).await?;
    confirmations::apply_confirmations(conn, batch, now, &mut outcomes).await?;
    refunds::apply_refunds(engine, conn, batch, now, &mut outcomes).await?;
    Ok(outcomes)
}
