//! Checking each ingested event on its own, into the typed inputs the pipeline
//! stores; a bad event is refused with the field and the rule, the rest go on.
use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;
use xiaopu_api::{attribution as pb, types::Money};
use xiaopu_common::{
    error::{FieldViolation, Violations},
    validate,
};

use crate::store::inputs::{NewClick, NewConfirmation, NewOrder, StoredRefund};

const MAX_LINES: usize = 500;
const MAX_QUANTITY: i32 = 100_000;
const MAX_AMOUNT_MINOR: i64 = 100_000_000_000;
const MAX_CODE_LEN: usize = 32;
/// Clock skew tolerated on event times.
const FUTURE_SKEW: TimeDelta = TimeDelta::minutes(5);

/// A line of a paid order, checked.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub line_id: String,
    pub product_id: Uuid,
    pub supplier_id: String,
    pub quantity: i32,
    pub currency: String,
    pub paid_minor: i64,
}

#[derive(Debug, Clone)]
pub struct PaidOrder {
    pub order: NewOrder,
    pub lines: Vec<NewLine>,
}

pub struct Checker<'a> {
    pub now: DateTime<Utc>,
    pub currencies: &'a [String],
}

impl Checker<'_> {
    fn time(&self, v: &mut Violations, field: &str, value: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
        let time = v.check(validate::required_timestamp(field, value))?;
        if time > self.now + FUTURE_SKEW {
            v.add(field, "must not be in the future");
            return None;
        }
        Some(time)
    }

    fn money(&self, v: &mut Violations, field: &str, value: Option<&Money>) -> Option<(String, i64)> {
        let Some(money) = value else {
            v.add(field, "is required");
            return None;
        };
        let mut ok = true;
        if money.minor_units <= 0 || money.minor_units > MAX_AMOUNT_MINOR {
            v.add(format!("{field}.minor_units"), format!("must be between 1 and {MAX_AMOUNT_MINOR}"));
            ok = false;
        }
        if !self.currencies.contains(&money.currency) {
            v.add(format!("{field}.currency"), format!("must be one of {}", self.currencies.join(", ")));
            ok = false;
        }
        ok.then(|| (money.currency.clone(), money.minor_units))
    }

    pub fn click(&self, c: &pb::Click) -> Result<NewClick, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let event_id = v.check(validate::id("click.event_id", &c.event_id));
        let code = v.check(code("click.share_code", &c.share_code, true));
        let visitor = v.check(validate::id("click.visitor_id", &c.visitor_id));
        let at = self.time(&mut v, "click.clicked_at", c.clicked_at.as_ref());
        let (event_id, (code, (visitor, at))) = finish(v, event_id.zip(code.zip(visitor.zip(at))))?;
        Ok(NewClick {
            event_id: event_id.into(),
            share_code: code.unwrap_or_default(),
            visitor_id: visitor.into(),
            clicked_at: at,
        })
    }

    pub fn order(&self, o: &pb::OrderPaid) -> Result<PaidOrder, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let event_id = v.check(validate::id("order_paid.event_id", &o.event_id));
        let order_id = v.check(validate::id("order_paid.order_id", &o.order_id));
        let buyer = v.check(validate::id("order_paid.buyer_id", &o.buyer_id));
        let paid_at = self.time(&mut v, "order_paid.paid_at", o.paid_at.as_ref());
        let share_code = v.check(code("order_paid.share_code", &o.share_code, false));
        if o.lines.is_empty() || o.lines.len() > MAX_LINES {
            v.add("order_paid.lines", format!("must hold between 1 and {MAX_LINES} lines"));
        }
        let mut seen = HashSet::new();
        let mut lines = Vec::with_capacity(o.lines.len());
        for (i, line) in o.lines.iter().enumerate() {
            let f = |name: &str| format!("order_paid.lines[{i}].{name}");
            let line_id = v.check(validate::id(&f("line_id"), &line.line_id));
            if line_id.is_some_and(|id| !seen.insert(id)) {
                v.add(f("line_id"), "appears twice in the order");
            }
            let product = v.check(validate::uuid(&f("product_id"), &line.product_id));
            let supplier = v.check(validate::id(&f("supplier_id"), &line.supplier_id));
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                v.add(f("quantity"), format!("must be between 1 and {MAX_QUANTITY}"));
            }
            let amount = self.money(&mut v, &f("paid_amount"), line.paid_amount.as_ref());
            if let (Some(line_id), Some(product_id), Some(supplier), Some((currency, paid_minor))) =
                (line_id, product, supplier, amount)
            {
                lines.push(NewLine {
                    line_id: line_id.into(),
                    product_id,
                    supplier_id: supplier.into(),
                    quantity: line.quantity,
                    currency,
                    paid_minor,
                });
            }
        }
        let (event_id, (order_id, (buyer, (paid_at, share_code)))) =
            finish(v, event_id.zip(order_id.zip(buyer.zip(paid_at.zip(share_code)))))?;
        Ok(PaidOrder {
            order: NewOrder {
                event_id: event_id.into(),
                order_id: order_id.into(),
                buyer_id: buyer.into(),
                paid_at,
                share_code,
            },
            lines,
        })
    }

    pub fn confirmation(&self, c: &pb::OrderConfirmed) -> Result<NewConfirmation, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let event_id = v.check(validate::id("order_confirmed.event_id", &c.event_id));
        let order_id = v.check(validate::id("order_confirmed.order_id", &c.order_id));
        let at = self.time(&mut v, "order_confirmed.confirmed_at", c.confirmed_at.as_ref());
        let (event_id, (order_id, at)) = finish(v, event_id.zip(order_id.zip(at)))?;
        Ok(NewConfirmation { event_id: event_id.into(), order_id: order_id.into(), confirmed_at: at })
    }

    pub fn refund(&self, r: &pb::Refund) -> Result<StoredRefund, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let event_id = v.check(validate::id("refund.event_id", &r.event_id));
        let order_id = v.check(validate::id("refund.order_id", &r.order_id));
        let line_id = v.check(validate::id("refund.line_id", &r.line_id));
        let amount = self.money(&mut v, "refund.refunded_amount", r.refunded_amount.as_ref());
        let at = self.time(&mut v, "refund.refunded_at", r.refunded_at.as_ref());
        let (event_id, (order_id, (line_id, ((currency, amount_minor), at)))) =
            finish(v, event_id.zip(order_id.zip(line_id.zip(amount.zip(at)))))?;
        Ok(StoredRefund {
            event_id: event_id.into(),
            order_id: order_id.into(),
            line_id: line_id.into(),
            currency,
            amount_minor,
            refunded_at: at,
        })
    }
}

fn finish<T>(v: Violations, value: Option<T>) -> Result<T, Vec<FieldViolation>> {
    v.finish_with(value).map_err(|invalid| invalid.0)
}

/// A share code as it travels: up to 32 printable characters (unknown codes are
/// kept; attribution explains them).
fn code(field: &str, value: &str, required: bool) -> Result<Option<String>, FieldViolation> {
    if value.is_empty() {
        return if required { Err(FieldViolation::new(field, "is required")) } else { Ok(None) };
    }
    if value.len() > MAX_CODE_LEN || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(FieldViolation::new(field, format!("must be 1 to {MAX_CODE_LEN} letters or digits")));
    }
    Ok(Some(value.to_owned()))
}
