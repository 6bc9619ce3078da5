//! What a supplier has been charged in a period (commission, of which the platform's
//! fee and the promoters' share) and the order lines behind it.
use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use xiaopu_api::{attribution as at, settlement as st, storefront as sf};
use xiaopu_common::time::to_timestamp;

use super::{
    Session,
    views::{ChargeLine, ChargesPage},
};
use crate::{
    DefaultMonth, SharedApp, TypedPeriod,
    pages::{PageQuery, PeriodQuery, failed, money, percent, render, url_encode},
};

pub async fn charges(
    State(app): State<SharedApp>,
    session: Session,
    Query(query): Query<PageQuery>,
    Query(period): Query<PeriodQuery>,
) -> Response {
    let TypedPeriod { from, to, from_at, to_at } =
        match period.typed(&app, session.lang, "/supplier/charges", DefaultMonth::Last) {
            Ok(period) => period,
            Err(page) => return *page,
        };
    let (from_ts, to_ts) = (Some(to_timestamp(from_at)), Some(to_timestamp(to_at)));
    let request = st::GetSupplierChargesRequest { supplier_id: session.user.clone(), from: from_ts, to: to_ts };
    let totals = match app.settlement_as_user.clone().get_supplier_charges(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let request = at::ListSupplierLinesRequest {
        supplier_id: session.user.clone(),
        from: from_ts,
        to: to_ts,
        page_size: 50,
        page_token: query.page.clone(),
    };
    let listed = match app.attribution_as_user.clone().list_supplier_lines(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let mut ids: Vec<String> = listed.lines.iter().map(|l| l.product_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let titles: HashMap<String, String> = match app
        .storefront_as_user
        .clone()
        .batch_get_products(session.request(sf::BatchGetProductsRequest { product_ids: ids }))
        .await
    {
        Ok(answer) => answer.into_inner().products.into_iter().map(|p| (p.product_id, p.title)).collect(),
        Err(status) => return failed(session.lang, &status),
    };
    let lines = listed
        .lines
        .iter()
        .map(|l| ChargeLine {
            paid_at: app.local_time_of(&l.paid_at),
            title: titles.get(&l.product_id).cloned().unwrap_or_else(|| l.product_id.clone()),
            order_id: l.order_id.clone(),
            buyer: l.buyer_id.clone(),
            paid: money(l.paid_amount.as_ref()),
            rate: percent(l.rate_bps),
            commission: money(l.commission.as_ref()),
            state: session.lang.words(l.state().as_str_name()),
        })
        .collect();
    let page = ChargesPage {
        frame: session.frame(&query),
        charged: money(totals.charged.as_ref()),
        service_fees: money(totals.service_fees.as_ref()),
        promoter_shares: money(totals.promoter_shares.as_ref()),
        order_lines: totals.order_lines,
        lines,
        next_page: (!listed.next_page_token.is_empty()).then(|| {
            format!(
                "/supplier/charges?from={}&to={}&page={}",
                url_encode(&from),
                url_encode(&to),
                listed.next_page_token
            )
        }),
        from,
        to,
    };
    render(StatusCode::OK, &page)
}
