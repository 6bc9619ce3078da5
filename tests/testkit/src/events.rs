//! The order system's events, as tests write them.
use chrono::{DateTime, Utc};
use xiaopu_api::{
    attribution::{self as pb, order_event},
    types::Money,
};
use xiaopu_common::time::to_timestamp;

pub fn cny(minor_units: i64) -> Option<Money> {
    Some(Money { minor_units, currency: "CNY".into() })
}

pub fn click(id: &str, code: &str, visitor: &str, at: DateTime<Utc>) -> pb::OrderEvent {
    pb::OrderEvent {
        event: Some(order_event::Event::Click(pb::Click {
            event_id: id.into(),
            share_code: code.into(),
            visitor_id: visitor.into(),
            clicked_at: Some(to_timestamp(at)),
        })),
    }
}

pub fn line(id: &str, product: &str, supplier: &str, paid: i64) -> pb::PaidLine {
    pb::PaidLine {
        line_id: id.into(),
        product_id: product.into(),
        supplier_id: supplier.into(),
        quantity: 1,
        paid_amount: cny(paid),
    }
}

pub fn paid(order: &str, buyer: &str, at: DateTime<Utc>, code: &str, lines: Vec<pb::PaidLine>) -> pb::OrderEvent {
    pb::OrderEvent {
        event: Some(order_event::Event::OrderPaid(pb::OrderPaid {
            event_id: format!("paid-{order}"),
            order_id: order.into(),
            buyer_id: buyer.into(),
            paid_at: Some(to_timestamp(at)),
            lines,
            share_code: code.into(),
        })),
    }
}

pub fn confirmed(order: &str, at: DateTime<Utc>) -> pb::OrderEvent {
    pb::OrderEvent {
        event: Some(order_event::Event::OrderConfirmed(pb::OrderConfirmed {
            event_id: format!("confirmed-{order}"),
            order_id: order.into(),
            confirmed_at: Some(to_timestamp(at)),
        })),
    }
}

pub fn refund(id: &str, order: &str, line: &str, amount: i64, at: DateTime<Utc>) -> pb::OrderEvent {
    pb::OrderEvent {
        event: Some(order_event::Event::Refund(pb::Refund {
            event_id: id.into(),
            order_id: order.into(),
            line_id: line.into(),
            refunded_amount: cny(amount),
            refunded_at: Some(to_timestamp(at)),
        })),
    }
}
