//! The app's first page: am I eligible (and why, and what next), my shop, my money;
//! and opening the shop.
use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tonic::Code;
use xiaopu_api::{eligibility as el, settlement as st, storefront as sf};

use super::{
    Session, percent,
    views::{EarningsView, HomePage, ShopView, Tabs},
};
use crate::{
    SharedApp,
    pages::{PageQuery, back, failed, money, render},
    session::Posted,
};

/// The promoter's shop, or None before they open one.
pub async fn my_shop(app: &SharedApp, session: &Session) -> Result<Option<sf::Shop>, tonic::Status> {
    match app.storefront_as_user.clone().get_my_shop(session.request(sf::GetMyShopRequest {})).await {
        Ok(answer) => Ok(answer.into_inner().shop),
        Err(status) if status.code() == Code::NotFound => Ok(None),
        Err(status) => Err(status),
    }
}

/// The shop an action needs, or the answer when there is none: back home to open one,
/// or back to `to` with the storefront's refusal.
pub async fn shop_for_action(app: &SharedApp, session: &Session, to: &str) -> Result<sf::Shop, Response> {
    match my_shop(app, session).await {
        Ok(Some(shop)) => Ok(shop),
        Ok(None) => {
            Err(back(session.lang, "/app", Err(tonic::Status::failed_precondition(session.lang.t("请先开店")))))
        }
        Err(status) => Err(back(session.lang, to, Err(status))),
    }
}

/// The promoter's earnings by stage, and the fee they are net of.
pub async fn earnings(app: &SharedApp, session: &Session) -> Result<st::GetPromoterEarningsResponse, tonic::Status> {
    let request = st::GetPromoterEarningsRequest { promoter_id: session.user.clone() };
    Ok(app.settlement_as_user.clone().get_promoter_earnings(session.request(request)).await?.into_inner())
}

pub fn earnings_view(e: &st::GetPromoterEarningsResponse) -> EarningsView {
    EarningsView {
        estimated: money(e.estimated.as_ref()),
        settleable: money(e.settleable.as_ref()),
        settled: money(e.settled.as_ref()),
        paid: money(e.paid.as_ref()),
        owed_back: money(e.clawbacks_owed.as_ref()),
        withheld: money(e.withheld.as_ref()),
        fee: percent(e.fee_bps),
        on_hold: e.on_hold,
        has_payout_profile: e.has_payout_profile,
    }
}

fn next_step(status: el::PromoterStatus, shop: Option<&sf::Shop>) -> &'static str {
    match (status, shop) {
        (el::PromoterStatus::Approved, None) => "可以开店了：填写店名，开一家自己的小店。",
        (el::PromoterStatus::Approved, Some(_)) => "去「选品」把好物加进小店，再到「推广链接」分享给朋友。",
        (el::PromoterStatus::Refused, _) => "信用分高于开店门槛后即可开店；信用分更新后系统会自动重新评估。",
        (el::PromoterStatus::Suspended, _) => {
            "小店已暂停，分享链接暂不计佣；信用分恢复后自动恢复营业，已赚到的佣金不受影响。"
        }
        _ => "还没有信用分记录：授权信用评估后，系统会自动判断能否开店。",
    }
}

pub async fn home(State(app): State<SharedApp>, session: Session, Query(query): Query<PageQuery>) -> Response {
    let request = el::GetPromoterStatusRequest { person_id: session.user.clone() };
    let status = match app.eligibility_as_user.clone().get_promoter_status(session.request(request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return failed(session.lang, &status),
    };
    let shop = match my_shop(&app, &session).await {
        Ok(shop) => shop,
        Err(status) => return failed(session.lang, &status),
    };
    let promoter_status = status.status();
    let status_reason = status.latest_decision.as_ref().map_or_else(String::new, |d| {
        let lang = session.lang;
        let words = lang.words(d.reason().as_str_name());
        format!("{words}{}{}", lang.t1("（信用分 {}", d.score), lang.t1("，开店门槛：高于 {}）", d.threshold))
    });
    let page = HomePage {
        frame: session.frame(&query),
        tabs: Tabs("home"),
        status: session.lang.words(promoter_status.as_str_name()),
        status_reason,
        next_step: session.lang.t(next_step(promoter_status, shop.as_ref())).to_owned(),
        eligible: promoter_status == el::PromoterStatus::Approved,
        shop: shop.map(|s| ShopView {
            status: session.lang.words(s.status().as_str_name()),
            name: s.name,
            listing_count: s.listing_count,
        }),
        earnings: earnings(&app, &session).await.ok().map(|e| earnings_view(&e)),
    };
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct OpenShopForm {
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn open_shop(
    State(app): State<SharedApp>,
    session: Session,
    Form(posted): Form<Posted<OpenShopForm>>,
) -> Response {
    let form = match session.accept(posted) {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let request = sf::OpenShopRequest { name: form.name.trim().to_owned(), description: form.description };
    let outcome = app.storefront_as_user.clone().open_shop(session.request(request)).await;
    back(session.lang, "/app", outcome.map(|_| session.lang.t("小店已开张").to_owned()))
}
