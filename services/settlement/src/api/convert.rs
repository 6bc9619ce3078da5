//! Store rows to protobuf messages, and CSV.
use xiaopu_api::{settlement as pb, types::Money};
use xiaopu_common::time::to_timestamp;

use crate::{
    domain::{batch::BatchStatus, payout::LineStatus},
    store::{
        batches::{BatchRow, LineRow},
        holds::{AdjustmentRow, HoldRow},
        periods::PeriodRow,
    },
};

pub fn money(minor_units: i64, currency: &str) -> Option<Money> {
    Some(Money { minor_units, currency: currency.to_owned() })
}

pub fn batch_status(status: BatchStatus) -> pb::BatchStatus {
    match status {
        BatchStatus::Draft => pb::BatchStatus::Draft,
        BatchStatus::Approved => pb::BatchStatus::Approved,
        BatchStatus::Exported => pb::BatchStatus::Exported,
        BatchStatus::Paid => pb::BatchStatus::Paid,
        BatchStatus::PartiallyPaid => pb::BatchStatus::PartiallyPaid,
    }
}

pub fn period(p: &PeriodRow) -> pb::Period {
    pb::Period {
        from: Some(to_timestamp(p.starts_at)),
        to: Some(to_timestamp(p.ends_at)),
        closed_by: p.closed_by.clone(),
        closed_at: Some(to_timestamp(p.closed_at)),
        batch_id: p.batch_id.to_string(),
        batch_status: batch_status(p.status).into(),
    }
}

pub fn line_status(status: LineStatus) -> pb::BatchLineStatus {
    match status {
        LineStatus::Pending => pb::BatchLineStatus::Pending,
        LineStatus::Paid => pb::BatchLineStatus::Paid,
        LineStatus::Failed => pb::BatchLineStatus::Failed,
        LineStatus::CarriedForward => pb::BatchLineStatus::CarriedForward,
        LineStatus::Held => pb::BatchLineStatus::Held,
    }
}

pub fn batch(b: &BatchRow, currency: &str) -> pb::Batch {
    pb::Batch {
        batch_id: b.batch_id.to_string(),
        period_from: Some(to_timestamp(b.period_from)),
        period_to: Some(to_timestamp(b.period_to)),
        status: batch_status(b.status).into(),
        created_by: b.created_by.clone(),
        created_at: Some(to_timestamp(b.created_at)),
        approved_by: b.approved_by.clone().unwrap_or_default(),
        approved_at: b.approved_at.map(to_timestamp),
        exported_at: b.exported_at.map(to_timestamp),
        payable_lines: i32::try_from(b.payable_lines).unwrap_or(i32::MAX),
        payable_total: money(b.payable_total, currency),
        carried_forward_lines: i32::try_from(b.carried_forward_lines).unwrap_or(i32::MAX),
        held_promoters: b.held_promoters.clone(),
        paid_lines: i32::try_from(b.paid_lines).unwrap_or(i32::MAX),
        failed_lines: i32::try_from(b.failed_lines).unwrap_or(i32::MAX),
        held_lines: i32::try_from(b.held_lines).unwrap_or(i32::MAX),
        withheld_total: money(b.withheld_total, currency),
    }
}

pub fn batch_line(l: &LineRow) -> pb::BatchLine {
    let m = |v| money(v, &l.currency);
    pb::BatchLine {
        batch_line_id: l.batch_line_id.to_string(),
        batch_id: l.batch_id.to_string(),
        promoter_id: l.promoter_id.clone(),
        status: line_status(l.status).into(),
        settled_share: m(l.settled_share),
        service_fee: m(l.service_fee),
        reissued: m(l.reissued),
        clawback_netted: m(l.clawback_netted),
        amount: m(l.amount),
        order_lines: l.order_lines,
        payment_reference: l.payment_reference.clone().unwrap_or_default(),
        failure_reason: l.failure_reason.clone().unwrap_or_default(),
        recorded_at: l.recorded_at.map(to_timestamp),
        recorded_by: l.recorded_by.clone().unwrap_or_default(),
        withheld: m(l.withheld),
        hold_reason: l.hold_reason.clone().unwrap_or_default(),
    }
}

pub fn hold(h: &HoldRow) -> pb::Hold {
    pb::Hold {
        promoter_id: h.promoter_id.clone(),
        reason: h.reason.clone(),
        placed_by: h.placed_by.clone(),
        placed_at: Some(to_timestamp(h.placed_at)),
        released_by: h.released_by.clone().unwrap_or_default(),
        released_at: h.released_at.map(to_timestamp),
        release_reason: h.release_reason.clone().unwrap_or_default(),
    }
}

pub fn adjustment(a: &AdjustmentRow) -> pb::Adjustment {
    pb::Adjustment {
        adjustment_id: a.adjustment_id.to_string(),
        promoter_id: a.promoter_id.clone(),
        amount: money(a.amount, &a.currency),
        reason: a.reason.clone(),
        created_by: a.created_by.clone(),
        created_at: Some(to_timestamp(a.created_at)),
    }
}

/// One CSV field, quoted when it must be (RFC 4180).
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// One CSV record.
pub fn csv_record<I: IntoIterator<Item = String>>(fields: I) -> String {
    let mut line = fields.into_iter().map(|f| csv_field(&f)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_record(["a".to_string(), "b,c".to_string()]), "a,\"b,c\"\n");
    }
}
