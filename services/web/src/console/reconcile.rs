//! The reconciliation statement of a period (settlement's ledger against attribution,
//! line by line) with its discrepancies, each linking to the order line and why it
//! was attributed as it was.
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::Datelike;
use xiaopu_api::{
    attribution as at,
    settlement::{self as st, DiscrepancyKind},
};
use xiaopu_common::time::to_timestamp;

use super::{
    PageQuery, Session, failed,
    views::{DiscrepancyRow, LinePage, ReconcilePage, Statement, StatementRow},
};
use crate::{
    SharedApp,
    i18n::Lang,
    pages::{PeriodQuery, money, render},
};

pub async fn statement(State(app): State<SharedApp>, session: Session, Query(period): Query<PeriodQuery>) -> Response {
    let frame = session.frame(&PageQuery::default());
    let (Some(from), Some(to)) = (app.day_start(&period.from), app.day_start(&period.to)) else {
        let today = app.local_date(chrono::Utc::now());
        let page = ReconcilePage {
            frame,
            from: today.with_day0(0).unwrap_or(today).to_string(),
            to: today.succ_opt().unwrap_or(today).to_string(),
            statement: None,
        };
        return render(StatusCode::OK, &page);
    };
    let request = session.request(st::ReconcileRequest { from: Some(to_timestamp(from)), to: Some(to_timestamp(to)) });
    let answer = match app.settlement_as_user.clone().reconcile(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let statement = Statement {
        clean: answer.clean,
        lines_checked: answer.lines_checked,
        promoters: answer.promoters.iter().map(statement_row).collect(),
        suppliers: answer.suppliers.iter().map(statement_row).collect(),
        discrepancies: answer.discrepancies.iter().map(|d| discrepancy_row(session.lang, d)).collect(),
        in_flight: answer.in_flight.iter().map(|d| discrepancy_row(session.lang, d)).collect(),
        backlog_events: answer.backlog_events,
        backlog_seconds: answer.backlog_seconds,
    };
    render(StatusCode::OK, &ReconcilePage { frame, from: period.from, to: period.to, statement: Some(statement) })
}

fn statement_row(s: &st::StatementLine) -> StatementRow {
    StatementRow {
        party_id: s.party_id.clone(),
        opening: money(s.opening.as_ref()),
        earned: money(s.earned.as_ref()),
        reversed: money(s.reversed.as_ref()),
        paid: money(s.paid.as_ref()),
        closing: money(s.closing.as_ref()),
        balanced: s.balanced,
    }
}

fn discrepancy_row(lang: Lang, d: &st::Discrepancy) -> DiscrepancyRow {
    DiscrepancyRow {
        kind: lang
            .t(match d.kind() {
                DiscrepancyKind::MissingInLedger => "账本缺失",
                DiscrepancyKind::MissingInAttribution => "归因缺失",
                DiscrepancyKind::CommissionMismatch => "佣金不符",
                _ => "账不平",
            })
            .into(),
        line_id: d.line_id.clone(),
        promoter_id: d.promoter_id.clone(),
        expected: money(d.expected.as_ref()),
        actual: money(d.actual.as_ref()),
        description: d.description.clone(),
    }
}

/// One order line as attribution decided it.
pub async fn line(State(app): State<SharedApp>, session: Session, Path(line_id): Path<String>) -> Response {
    let request = session.request(at::ExplainLineRequest { line_id });
    let answer = match app.attribution_as_user.clone().explain_line(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let line = answer.line.unwrap_or_default();
    let why = answer.explanation.unwrap_or_default();
    let facts = vec![
        (session.lang.t("订单行").to_owned(), line.line_id.clone()),
        (session.lang.t("订单").to_owned(), line.order_id.clone()),
        (session.lang.t("买家").to_owned(), line.buyer_id.clone()),
        (session.lang.t("商品").to_owned(), line.product_id.clone()),
        (session.lang.t("供应商").to_owned(), line.supplier_id.clone()),
        (session.lang.t("实付").to_owned(), money(line.paid_amount.as_ref())),
        (session.lang.t("已退款").to_owned(), money(line.refunded_amount.as_ref())),
        (session.lang.t("付款时间").to_owned(), app.local_time_of(&line.paid_at)),
        (session.lang.t("确认收货").to_owned(), app.local_time_of(&line.confirmed_at)),
        (session.lang.t("状态").to_owned(), session.lang.words(line.state().as_str_name())),
        (session.lang.t("推广者").to_owned(), line.promoter_id.clone()),
        (session.lang.t("分享码").to_owned(), why.share_code.clone()),
        (session.lang.t("佣金率").to_owned(), format!("{} bps", line.rate_bps)),
        (session.lang.t("佣金").to_owned(), money(line.commission.as_ref())),
        (session.lang.t("判定时间").to_owned(), app.local_time_of(&why.decided_at)),
    ];
    // Its money in the ledger (none yet when settlement has not applied it).
    let ledger = app
        .settlement_as_user
        .clone()
        .get_line_ledger(session.request(st::GetLineLedgerRequest { line_id: line.line_id.clone() }))
        .await;
    let (positions, journals) = match ledger {
        Ok(answer) => {
            let answer = answer.into_inner();
            (
                answer.positions.iter().map(|p| super::ledger::position_row(&app, session.lang, p)).collect(),
                super::ledger::journal_rows(&app, &answer.journals),
            )
        }
        Err(status) if status.code() == tonic::Code::NotFound => (Vec::new(), Vec::new()),
        Err(status) => return failed(session.lang, &status),
    };
    let page =
        LinePage { frame: session.frame(&PageQuery::default()), facts, summary: why.summary, positions, journals };
    render(StatusCode::OK, &page)
}
