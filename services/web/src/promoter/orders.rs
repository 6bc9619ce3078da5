//! My orders (titles, masked buyers, state and why each line is mine) and my
//! earnings by stage, net of the platform's service fee.
use std::collections::HashMap;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use xiaopu_api::{attribution as at, storefront as sf, types::Money};
use xiaopu_money::{Bps, Minor};

use super::{
    Session,
    home::{earnings, earnings_view},
    percent,
    views::{EarningsPage, LinePage, OrderRow, OrdersPage, PayoutRow, Tabs},
};
use crate::{
    SharedApp,
    i18n::Lang,
    pages::{PageQuery, failed, money, render},
};

/// Titles of the products on a page of lines, in one call.
async fn titles(app: &SharedApp, session: &Session, lines: &[at::OrderLine]) -> HashMap<String, String> {
    product_titles(app, session, lines.iter().map(|l| l.product_id.clone()).collect()).await
}

/// Titles of products by id, in one call.
pub(super) async fn product_titles(
    app: &SharedApp,
    session: &Session,
    mut ids: Vec<String>,
) -> HashMap<String, String> {
    ids.sort();
    ids.dedup();
    let request = sf::BatchGetProductsRequest { product_ids: ids };
    match app.storefront_as_user.clone().batch_get_products(session.request(request)).await {
        Ok(answer) => answer.into_inner().products.into_iter().map(|p| (p.product_id, p.title)).collect(),
        // Titles are a courtesy: the page still shows, with the ids.
        Err(status) => {
            tracing::warn!(%status, "product titles unavailable");
            HashMap::new()
        }
    }
}

/// A line's commission and, after the platform's fee, the promoter's share.
fn commission(lang: Lang, line: &at::OrderLine, fee_bps: i32) -> String {
    let Some(c) = line.commission.as_ref() else { return String::new() };
    let share = xiaopu_money::after_fee(Minor::new(c.minor_units), Bps::clamped(fee_bps)).promoter_share;
    let share = Money { minor_units: share.get(), currency: c.currency.clone() };
    format!("{} {} · {} {}", lang.t("佣金"), money(Some(c)), lang.t("到手"), money(Some(&share)))
}

fn order_row(
    app: &SharedApp,
    lang: Lang,
    line: &at::OrderLine,
    titles: &HashMap<String, String>,
    fee_bps: i32,
) -> OrderRow {
    OrderRow {
        line_id: line.line_id.clone(),
        title: titles
            .get(&line.product_id)
            .cloned()
            .unwrap_or_else(|| format!("{} {}", lang.t("商品"), line.product_id)),
        buyer: line.buyer_id.clone(),
        paid_at: app.local_time_of(&line.paid_at),
        paid: money(line.paid_amount.as_ref()),
        state: lang.words(line.state().as_str_name()),
        reason: lang.words(line.reason().as_str_name()),
        commission: commission(lang, line, fee_bps),
        // Held by a risk rule: shown until finance decides.
        risk: match line.risk_state() {
            at::RiskState::Held => lang.words(line.risk_state().as_str_name()),
            _ => String::new(),
        },
    }
}

pub async fn orders(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let request = at::ListPromoterLinesRequest {
        promoter_id: session.user.clone(),
        page_size: 20,
        page_token: query.page.clone(),
    };
    let listed = match app.attribution_as_user.clone().list_promoter_lines(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let fee_bps = match earnings(&app, &session).await {
        Ok(e) => e.fee_bps,
        Err(status) => return failed(session.lang, &status),
    };
    let titles = titles(&app, &session, &listed.lines).await;
    let page = OrdersPage {
        frame: session.frame(&query),
        tabs: Tabs("orders"),
        fee: percent(fee_bps),
        orders: listed.lines.iter().map(|l| order_row(&app, session.lang, l, &titles, fee_bps)).collect(),
        next_page: (!listed.next_page_token.is_empty()).then(|| format!("/app/orders?page={}", listed.next_page_token)),
    };
    render(StatusCode::OK, &page)
}

pub async fn line(
    State(app): State<SharedApp>,
    session: Session,
    Path(line_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let request = at::ExplainLineRequest { line_id };
    let explained = match app.attribution_as_user.clone().explain_line(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let (Some(line), Some(why)) = (explained.line, explained.explanation) else {
        return failed(session.lang, &tonic::Status::not_found(session.lang.t("订单行")));
    };
    let fee_bps = match earnings(&app, &session).await {
        Ok(e) => e.fee_bps,
        Err(status) => return failed(session.lang, &status),
    };
    let titles = titles(&app, &session, std::slice::from_ref(&line)).await;
    let page = LinePage {
        frame: session.frame(&query),
        tabs: Tabs("orders"),
        order: order_row(&app, session.lang, &line, &titles, fee_bps),
        share_code: why.share_code,
        clicked_at: app.local_time_of(&why.clicked_at),
        window_days: why.window_days,
        rate: percent(why.rate_bps),
        refunded: money(line.refunded_amount.as_ref()),
    };
    render(StatusCode::OK, &page)
}

pub async fn earnings_page(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let e = match earnings(&app, &session).await {
        Ok(e) => e,
        Err(status) => return failed(session.lang, &status),
    };
    let payouts = e
        .payouts
        .iter()
        .map(|p| PayoutRow {
            period: format!(
                "{} {} {}",
                app.local_time_of(&p.period_from),
                session.lang.t("至"),
                app.local_time_of(&p.period_to)
            ),
            status: session.lang.words(p.status().as_str_name()),
            amount: money(p.amount.as_ref()),
            reference: p.payment_reference.clone(),
        })
        .collect();
    let page =
        EarningsPage { frame: session.frame(&query), tabs: Tabs("earnings"), earnings: earnings_view(&e), payouts };
    render(StatusCode::OK, &page)
}
