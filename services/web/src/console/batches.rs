//! Periods and payout batches: close a period, a batch with its lines, approve,
//! export the CSV (streamed through), record payments and failures; the home page's
//! chart of commission by state per month.
use axum::{
    Form,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{Datelike, Months, NaiveDate, Utc};
use futures::{StreamExt, future::join_all};
use serde::Deserialize;
use xiaopu_api::{
    reasons,
    settlement::{self as st, BatchLineStatus, BatchStatus},
};
use xiaopu_common::time::{from_timestamp, to_timestamp};

use super::{
    PageQuery, Session, back, failed,
    session::{NoFields, Posted},
    views::{Bar, BatchPage, BatchRow, Chart, HomePage, LineRow, Segment},
};
use crate::{
    SharedApp,
    i18n::Lang,
    pages::{money, render, url_encode},
};

/// The batch list's filters: `?status=…&from=…&to=…` (period start dates).
#[derive(Debug, Default, Deserialize)]
pub struct BatchFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

const STATUSES: [(BatchStatus, &str); 5] = [
    (BatchStatus::Draft, "draft"),
    (BatchStatus::Approved, "approved"),
    (BatchStatus::Exported, "exported"),
    (BatchStatus::Paid, "paid"),
    (BatchStatus::PartiallyPaid, "partially_paid"),
];

pub fn batch_status_label(status: BatchStatus) -> &'static str {
    match status {
        BatchStatus::Draft => "待审批",
        BatchStatus::Approved => "已审批",
        BatchStatus::Exported => "已导出",
        BatchStatus::Paid => "已付款",
        BatchStatus::PartiallyPaid => "部分付款",
        BatchStatus::Unspecified => "未知",
    }
}

pub fn line_status_label(status: BatchLineStatus) -> &'static str {
    match status {
        BatchLineStatus::Pending => "待付款",
        BatchLineStatus::Paid => "已付",
        BatchLineStatus::Failed => "失败",
        BatchLineStatus::CarriedForward => "结转",
        BatchLineStatus::Held => "暂缓",
        BatchLineStatus::Unspecified => "未知",
    }
}

pub async fn home(
    State(app): State<SharedApp>,
    session: Session,
    Query(query): Query<PageQuery>,
    Query(filter): Query<BatchFilter>,
) -> Response {
    let status = STATUSES.iter().find(|(_, name)| *name == filter.status).map(|(s, _)| *s);
    let bound = |day: &str| app.day_start(day).map(to_timestamp);
    let request = st::ListBatchesRequest {
        page_size: 20,
        page_token: query.page.clone(),
        status: status.unwrap_or(BatchStatus::Unspecified).into(),
        period_from: bound(&filter.from),
        period_to: bound(&filter.to),
    };
    let listed = app.settlement_as_user.clone().list_batches(session.request(request)).await;
    let listed = match listed {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let today = app.local_date(Utc::now());
    let this_month = today.with_day(1).unwrap_or(today);
    let last_month = this_month.checked_sub_months(Months::new(1)).unwrap_or(this_month);
    let filters = format!(
        "status={}&from={}&to={}",
        url_encode(&filter.status),
        url_encode(&filter.from),
        url_encode(&filter.to)
    );
    let page = HomePage {
        frame: session.frame(&query),
        batches: listed.batches.iter().map(|b| batch_row(&app, session.lang, b)).collect(),
        status: filter.status.clone(),
        period_from: filter.from.clone(),
        period_to: filter.to.clone(),
        statuses: STATUSES
            .iter()
            .map(|(s, name)| ((*name).into(), session.lang.t(batch_status_label(*s)).into()))
            .collect(),
        next_page: (!listed.next_page_token.is_empty())
            .then(|| format!("/console?{filters}&page={}", listed.next_page_token)),
        default_from: last_month.to_string(),
        default_to: this_month.to_string(),
        chart: chart(&app, &session, this_month).await,
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct CloseForm {
    from: String,
    to: String,
}

pub async fn close_period(
    State(app): State<SharedApp>,
    session: Session,
    Form(posted): Form<Posted<CloseForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let (Some(from), Some(to)) = (app.day_start(&form.from), app.day_start(&form.to)) else {
        return back(
            session.lang,
            "/console",
            Err(tonic::Status::invalid_argument("from, to: dates as YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]")),
        );
    };
    let request = st::ClosePeriodRequest {
        // Closing the same period twice returns its batch: the id only guards retries.
        request_id: format!("web-close-{}-{}", form.from, form.to),
        from: Some(to_timestamp(from)),
        to: Some(to_timestamp(to)),
    };
    let closed = app.settlement_as_user.clone().close_period(session.request(request)).await;
    match closed {
        Ok(answer) => {
            let answer = answer.into_inner();
            let batch = answer.batch.unwrap_or_default();
            let done = if answer.created {
                session.lang.t("结算期已关闭，批次已生成")
            } else {
                session.lang.t("这个结算期之前已关闭，这是它的批次")
            };
            back(session.lang, &format!("/console/batches/{}", batch.batch_id), Ok(done.into()))
        }
        Err(status) => back(session.lang, "/console", Err(status)),
    }
}

pub async fn batch(
    State(app): State<SharedApp>,
    session: Session,
    Path(batch_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let mut client = app.settlement_as_user.clone();
    let got = client.get_batch(session.request(st::GetBatchRequest { batch_id: batch_id.clone() })).await;
    let batch = match got {
        Ok(answer) => answer.into_inner().batch.unwrap_or_default(),
        Err(status) => return failed(session.lang, &status),
    };
    let request =
        st::ListBatchLinesRequest { batch_id: batch_id.clone(), page_size: 100, page_token: query.page.clone() };
    let lines = client.list_batch_lines(session.request(request)).await;
    let lines = match lines {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    // Only actions the service would take from this user are offered.
    let draft = batch.status() == BatchStatus::Draft;
    let own = batch.created_by == session.user;
    let records = matches!(batch.status(), BatchStatus::Exported | BatchStatus::Paid | BatchStatus::PartiallyPaid);
    let page = BatchPage {
        frame: session.frame(&query),
        can_approve: draft && !own,
        awaits_other_approver: draft && own,
        can_export: !draft && batch.status() != BatchStatus::Unspecified,
        lines: lines.lines.iter().map(|l| line_row(session.lang, l, records)).collect(),
        next_page: (!lines.next_page_token.is_empty())
            .then(|| format!("/console/batches/{batch_id}?page={}", lines.next_page_token)),
        batch: batch_row(&app, session.lang, &batch),
    };
    render(StatusCode::OK, &page)
}

pub async fn approve(
    State(app): State<SharedApp>,
    session: Session,
    Path(batch_id): Path<String>,
    Form(posted): Form<Posted<NoFields>>,
) -> Response {
    if let Err(refused) = session.accept(posted) {
        return refused.into_response();
    }
    let approved = app
        .settlement_as_user
        .clone()
        .approve_batch(session.request(st::ApproveBatchRequest { batch_id: batch_id.clone() }))
        .await;
    back(
        session.lang,
        &format!("/console/batches/{batch_id}"),
        approved.map(|_| session.lang.t("批次已审批").to_owned()),
    )
}

/// `?file=payouts|detail`: which of a batch's files.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    file: String,
}

/// One of the batch's files, streamed from settlement to the browser chunk by chunk.
pub async fn export(
    State(app): State<SharedApp>,
    session: Session,
    Path(batch_id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let (file, name) = match query.file.as_str() {
        "detail" => (st::BatchFile::Detail, "detail"),
        _ => (st::BatchFile::Payouts, "payouts"),
    };
    let request = st::ExportBatchRequest { batch_id: batch_id.clone(), file: file.into(), language: "zh-CN".into() };
    let exported = app.settlement_as_user.clone().export_batch(session.request(request)).await;
    let stream = match exported {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let body = Body::from_stream(stream.map(|chunk| chunk.map(|c| c.data)));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"batch-{batch_id}-{name}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

#[derive(Debug, Deserialize)]
pub struct PayoutForm {
    outcome: String,
    /// The payment reference when paid, the reason when failed.
    note: String,
}

pub async fn record_payout(
    State(app): State<SharedApp>,
    session: Session,
    Path((batch_id, line_id)): Path<(String, String)>,
    Form(posted): Form<Posted<PayoutForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let outcome = match form.outcome.as_str() {
        "paid" => st::PayoutOutcome::Paid,
        "failed" => st::PayoutOutcome::Failed,
        _ => {
            return back(
                session.lang,
                &format!("/console/batches/{batch_id}"),
                Err(tonic::Status::invalid_argument("outcome: paid or failed")),
            );
        }
    };
    let request = st::RecordPayoutRequest { batch_line_id: line_id, outcome: outcome.into(), reference: form.note };
    let recorded = app.settlement_as_user.clone().record_payout(session.request(request)).await;
    let done = if outcome == st::PayoutOutcome::Paid {
        session.lang.t("已记为已付")
    } else {
        session.lang.t("已记为失败，将在下个批次补发")
    };
    back(session.lang, &format!("/console/batches/{batch_id}"), recorded.map(|_| done.to_owned()))
}

fn batch_row(app: &SharedApp, lang: Lang, b: &st::Batch) -> BatchRow {
    let day = |t: &Option<prost_types::Timestamp>| {
        t.as_ref().and_then(from_timestamp).map(|t| app.local_date(t).to_string()).unwrap_or_default()
    };
    BatchRow {
        batch_id: b.batch_id.clone(),
        period: format!("{} – {}", day(&b.period_from), day(&b.period_to)),
        status: lang.t(batch_status_label(b.status())).into(),
        payable_lines: b.payable_lines,
        payable_total: money(b.payable_total.as_ref()),
        withheld_total: money(b.withheld_total.as_ref()),
        held_lines: b.held_lines,
        carried_forward_lines: b.carried_forward_lines,
        paid_lines: b.paid_lines,
        failed_lines: b.failed_lines,
        created_by: b.created_by.clone(),
        approved_by: b.approved_by.clone(),
        held: b.held_promoters.join(", "),
    }
}

/// A payout line's row; `records`: its batch takes payment records now.
fn line_row(lang: Lang, l: &st::BatchLine, records: bool) -> LineRow {
    LineRow {
        batch_line_id: l.batch_line_id.clone(),
        promoter_id: l.promoter_id.clone(),
        status: lang.t(line_status_label(l.status())).into(),
        recordable: records && l.status() == BatchLineStatus::Pending,
        withheld: money(l.withheld.as_ref()),
        // A code the catalogue does not know (a newer settlement's) shows as sent.
        hold_reason: reasons::describe(&l.hold_reason, lang.0).map_or_else(|| l.hold_reason.clone(), str::to_owned),
        settled_share: money(l.settled_share.as_ref()),
        service_fee: money(l.service_fee.as_ref()),
        reissued: money(l.reissued.as_ref()),
        clawback_netted: money(l.clawback_netted.as_ref()),
        amount: money(l.amount.as_ref()),
        order_lines: l.order_lines,
        payment: if l.failure_reason.is_empty() { l.payment_reference.clone() } else { l.failure_reason.clone() },
    }
}

/// The last six months' promoters' share of the lines paid in each month, by the
/// stage it is in now: each fen in one segment (settled includes paid out, so paid
/// is not stacked on top again).
async fn chart(app: &SharedApp, session: &Session, this_month: NaiveDate) -> Chart {
    const STATES: [(&str, &str); 3] =
        [("estimated", "预估"), ("settleable", "可结算"), ("settled", "已结算（含已付）")];
    let months: Vec<NaiveDate> =
        (0..6).rev().filter_map(|back| this_month.checked_sub_months(Months::new(back))).collect();
    let reports = join_all(months.iter().map(|start| {
        let end = start.checked_add_months(Months::new(1)).unwrap_or(*start);
        month_totals(app, session, *start, end)
    }))
    .await;
    let max = reports.iter().map(|t| t.iter().sum::<i64>()).max().unwrap_or(0).max(1);
    let bars = months
        .iter()
        .zip(&reports)
        .enumerate()
        .map(|(i, (month, totals))| {
            let mut y = 200;
            let segments = STATES
                .iter()
                .zip(totals)
                .map(|((class, name), amount)| {
                    let height = amount * 180 / max;
                    y -= height;
                    Segment {
                        y,
                        height,
                        class: (*class).into(),
                        title: format!("{} ¥{}", session.lang.t(name), xiaopu_money::to_decimal(*amount, "CNY")),
                    }
                })
                .collect();
            Bar { x: 20 + i as i64 * 100, label: format!("{}-{:02}", month.year(), month.month()), segments }
        })
        .collect();
    Chart {
        bars,
        legend: STATES.iter().map(|(c, n)| ((*c).into(), session.lang.t(n).into())).collect(),
        max_label: session.lang.t1("最高 ¥{}", xiaopu_money::to_decimal(max, "CNY")),
    }
}

/// [estimated, settleable, settled] summed over promoters for one month's lines;
/// zeros when the report cannot be had (the chart is not worth failing the page).
async fn month_totals(app: &SharedApp, session: &Session, start: NaiveDate, end: NaiveDate) -> [i64; 3] {
    let (Some(from), Some(to)) = (app.day_start(&start.to_string()), app.day_start(&end.to_string())) else {
        return [0; 3];
    };
    let request = st::GetPeriodReportRequest { from: Some(to_timestamp(from)), to: Some(to_timestamp(to)) };
    let report = app.settlement_as_user.clone().get_period_report(session.request(request)).await;
    let Ok(report) = report else { return [0; 3] };
    let minor = |m: &Option<xiaopu_api::types::Money>| m.as_ref().map_or(0, |m| m.minor_units);
    report.into_inner().promoters.iter().fold([0; 3], |acc, p| {
        [acc[0] + minor(&p.estimated), acc[1] + minor(&p.settleable), acc[2] + minor(&p.settled)]
    })
}
