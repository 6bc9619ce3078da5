//! Finance's daily reading: the closed periods, one promoter's page (balance, payee,
//! holds, lines, payouts), and an order line's money history.
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use xiaopu_api::settlement::{self as st, BatchLineStatus};

use super::{
    PageQuery, Session,
    batches::{batch_status_label, line_status_label},
    failed,
    views::{JournalRow, PeriodRow, PeriodsPage, PositionRow, PromoterPage},
};
use crate::{
    SharedApp,
    i18n::Lang,
    pages::{money, render},
};

pub async fn periods(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let request = st::ListPeriodsRequest { page_size: 24, page_token: query.page.clone() };
    let listed = match app.settlement_as_user.clone().list_periods(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let page = PeriodsPage {
        frame: session.frame(&query),
        next_from: app.local_time_of(&listed.next_from),
        periods: listed
            .periods
            .iter()
            .map(|p| PeriodRow {
                from: app.local_time_of(&p.from),
                to: app.local_time_of(&p.to),
                closed_by: p.closed_by.clone(),
                closed_at: app.local_time_of(&p.closed_at),
                batch_id: p.batch_id.clone(),
                status: session.lang.t(batch_status_label(p.batch_status())).into(),
            })
            .collect(),
        next_page: (!listed.next_page_token.is_empty())
            .then(|| format!("/console/periods?page={}", listed.next_page_token)),
    };
    render(StatusCode::OK, &page)
}

pub fn position_row(app: &SharedApp, lang: Lang, p: &st::LinePosition) -> PositionRow {
    let stage = match p.stage.as_str() {
        "estimated" => "预估",
        "settleable" => "可结算",
        "settled" => "已结算",
        _ => "未知",
    };
    let paid = p.batch_line_status() == BatchLineStatus::Paid;
    let owed = p.owed_back.as_ref().is_some_and(|m| m.minor_units > 0);
    // What finance must know at a glance: paid, and now owed back.
    let note = match (paid, owed) {
        (true, true) => {
            lang.tf("已付 {}，退款后应扣回 {}", &[&money(p.settled_share.as_ref()), &money(p.owed_back.as_ref())])
        }
        (false, true) => lang.t1("应扣回 {}", money(p.owed_back.as_ref())),
        _ => String::new(),
    };
    PositionRow {
        line_id: p.line_id.clone(),
        promoter_id: p.promoter_id.clone(),
        paid_at: app.local_time_of(&p.paid_at),
        stage: lang.t(stage).into(),
        commission: money(p.commission.as_ref()),
        service_fee: money(p.service_fee.as_ref()),
        share: money(p.share.as_ref()),
        batch_id: p.batch_id.clone(),
        batch_line: if p.batch_line_id.is_empty() {
            String::new()
        } else {
            line_status_label(p.batch_line_status()).to_owned()
        },
        note,
    }
}

pub async fn promoter(
    State(app): State<SharedApp>,
    session: Session,
    Path(promoter_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let mut client = app.settlement_as_user.clone();
    let earnings = st::GetPromoterEarningsRequest { promoter_id: promoter_id.clone() };
    let earnings = match client.get_promoter_earnings(session.request(earnings)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let lines = st::ListPromoterLinesRequest {
        promoter_id: promoter_id.clone(),
        page_size: 50,
        page_token: query.page.clone(),
    };
    let lines = match client.list_promoter_lines(session.request(lines)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let holds = st::ListHoldsRequest { include_released: true, promoter_id: promoter_id.clone() };
    let holds = match client.list_holds(session.request(holds)).await {
        Ok(answer) => answer.into_inner().holds,
        Err(status) => return failed(session.lang, &status),
    };
    let payee = st::GetPayoutProfileRequest { promoter_id: promoter_id.clone() };
    let payee = match client.get_payout_profile(session.request(payee)).await {
        Ok(answer) => answer.into_inner().profile.map(|p| {
            let method = match p.method() {
                st::PayoutMethod::Alipay => "支付宝",
                st::PayoutMethod::WechatPay => "微信支付",
                st::PayoutMethod::BankCard => "银行卡",
                st::PayoutMethod::Unspecified => "未知",
            };
            format!("{} · {} {} {}", p.legal_name, session.lang.t(method), p.account, p.bank_name).trim().to_owned()
        }),
        Err(status) if status.code() == tonic::Code::NotFound => None,
        Err(status) => return failed(session.lang, &status),
    };
    let page = PromoterPage {
        frame: session.frame(&query),
        promoter_id: promoter_id.clone(),
        balances: vec![
            (session.lang.t("预估").into(), money(earnings.estimated.as_ref())),
            (session.lang.t("可结算").into(), money(earnings.settleable.as_ref())),
            (session.lang.t("已结算待付").into(), money(earnings.settled.as_ref())),
            (session.lang.t("已付").into(), money(earnings.paid.as_ref())),
            (session.lang.t("代扣个税").into(), money(earnings.withheld.as_ref())),
            (session.lang.t("应扣回").into(), money(earnings.clawbacks_owed.as_ref())),
        ],
        on_hold: earnings.on_hold,
        payee: payee.unwrap_or_else(|| session.lang.t("未设置收款信息：付款行将暂缓（PAYEE_MISSING）").into()),
        holds: holds
            .iter()
            .map(|h| {
                let released = if h.released_by.is_empty() {
                    session.lang.t("生效中").to_owned()
                } else {
                    session.lang.tf(
                        "{} 于 {} 解除：{}",
                        &[&h.released_by, &app.local_time_of(&h.released_at), &h.release_reason],
                    )
                };
                (format!("{} {}：{}", app.local_time_of(&h.placed_at), h.placed_by, h.reason), released)
            })
            .collect(),
        payouts: earnings
            .payouts
            .iter()
            .map(|p| {
                (
                    format!("{} – {}", app.local_time_of(&p.period_from), app.local_time_of(&p.period_to)),
                    p.batch_id.clone(),
                    session.lang.t(line_status_label(p.status())).to_owned(),
                    money(p.amount.as_ref()),
                    p.payment_reference.clone(),
                )
            })
            .collect(),
        lines: lines.lines.iter().map(|p| position_row(&app, session.lang, p)).collect(),
        next_page: (!lines.next_page_token.is_empty())
            .then(|| format!("/console/promoters/{promoter_id}?page={}", lines.next_page_token)),
    };
    render(StatusCode::OK, &page)
}

/// A line's journals as rows: one per posting, the journal named on its first.
pub fn journal_rows(app: &SharedApp, journals: &[st::Journal]) -> Vec<JournalRow> {
    journals
        .iter()
        .flat_map(|j| {
            j.postings.iter().enumerate().map(move |(i, p)| JournalRow {
                at: if i == 0 { app.local_time_of(&j.occurred_at) } else { String::new() },
                kind: if i == 0 { j.kind.clone() } else { String::new() },
                account: p.account.clone(),
                party: p.party.clone(),
                amount: money(p.amount.as_ref()),
            })
        })
        .collect()
}
