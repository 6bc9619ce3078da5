//! What promoters, support and finance read: a promoter's lines, one line's
//! explanation, and a period's totals and lines.
use std::{collections::BTreeMap, pin::Pin};

use chrono::{DateTime, Utc};
use futures::Stream;
use tonic::{Request, Response, Status};
use xiaopu_api::{attribution as pb, types::Money};
use xiaopu_common::{
    auth::{Caller, CallerExt, Role},
    db::unknown_value,
    error::Invalid,
    paging::{Page, next_page},
    time::to_timestamp,
    validate::{self, period},
};
use xiaopu_money::Bps;

use super::AttributionApi;
use crate::{
    Error,
    app::engine::line_state,
    domain::Reason,
    store::{
        self,
        lines::LineRow,
        views::{LinkFigures, Totals},
    },
};

const PERIOD_CHUNK: i64 = 1000;

/// Keeps the first and last character: enough to tell buyers apart, not to find them.
pub fn mask(buyer_id: &str) -> String {
    let chars: Vec<char> = buyer_id.chars().collect();
    match chars.as_slice() {
        [] => String::new(),
        [_] | [_, _] => "*".repeat(chars.len()),
        [first, .., last] => format!("{first}***{last}"),
    }
}

fn money(minor_units: i64, currency: &str) -> Option<Money> {
    Some(Money { minor_units, currency: currency.to_owned() })
}

/// A reason as the API names it.
fn reason(reason: Reason) -> pb::AttributionReason {
    match reason {
        Reason::OrderCode => pb::AttributionReason::OrderCode,
        Reason::LastClick => pb::AttributionReason::LastClick,
        Reason::NoClick => pb::AttributionReason::NoClick,
        Reason::WindowExpired => pb::AttributionReason::WindowExpired,
        Reason::UnknownCode => pb::AttributionReason::UnknownCode,
        Reason::LinkRevoked => pb::AttributionReason::LinkRevoked,
        Reason::ProductNotListed => pb::AttributionReason::ProductNotListed,
        Reason::ShopSuspended => pb::AttributionReason::ShopSuspended,
        Reason::SelfPurchase => pb::AttributionReason::SelfPurchase,
        Reason::NoRate => pb::AttributionReason::NoRate,
        Reason::BudgetExhausted => pb::AttributionReason::BudgetExhausted,
        Reason::RiskVoided => pb::AttributionReason::RiskVoided,
    }
}

/// The promoter a line is decided for: who earns it, or who would have but for the
/// supplier's budget or finance's void of a risk hold (the refusal is theirs to see).
fn named_promoter(l: &LineRow) -> Option<&str> {
    (l.attributed || matches!(l.reason, Reason::BudgetExhausted | Reason::RiskVoided))
        .then_some(l.promoter_id.as_deref())
        .flatten()
}

/// A line as `viewer` may see it (buyers masked except for service and admin).
pub fn line(l: &LineRow, viewer: &Caller) -> Result<pb::OrderLine, sqlx::Error> {
    let unmasked = matches!(viewer.role, Role::Service | Role::Admin);
    let named = named_promoter(l).is_some();
    Ok(pb::OrderLine {
        line_id: l.line_id.clone(),
        order_id: l.order_id.clone(),
        buyer_id: if unmasked { l.buyer_id.clone() } else { mask(&l.buyer_id) },
        product_id: l.product_id.to_string(),
        supplier_id: l.supplier_id.clone(),
        quantity: l.quantity,
        paid_amount: money(l.paid_minor, &l.currency),
        refunded_amount: money(l.refunded_minor, &l.currency),
        paid_at: Some(to_timestamp(l.paid_at)),
        confirmed_at: l.confirmed_at.map(to_timestamp),
        state: line_state(l.state).into(),
        attributed: l.attributed,
        reason: reason(l.reason).into(),
        promoter_id: if named { l.promoter_id.clone().unwrap_or_default() } else { String::new() },
        shop_id: if named { l.shop_id.map(|s| s.to_string()).unwrap_or_default() } else { String::new() },
        rate_bps: l.rate_bps.map_or(0, Bps::get),
        commission: money(l.commission_minor, &l.currency),
        risk_state: super::risk::state_message(l.risk_state).into(),
        risk_rule: l.risk_rule.map(|r| r.as_str().to_owned()).unwrap_or_default(),
    })
}

/// Lines as `viewer` may see them.
fn lines(rows: &[LineRow], viewer: &Caller) -> Result<Vec<pb::OrderLine>, Error> {
    Ok(rows.iter().map(|l| line(l, viewer)).collect::<Result<_, _>>()?)
}

#[tracing::instrument(skip_all, fields(promoter_id = %request.get_ref().promoter_id))]
pub async fn list_promoter_lines(
    api: &AttributionApi,
    request: Request<pb::ListPromoterLinesRequest>,
) -> Result<Response<pb::ListPromoterLinesResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter, Role::Service, Role::Admin, Role::Finance])?;
    let r = request.into_inner();
    let promoter = validate::id("promoter_id", &r.promoter_id).map_err(|v| Error::from(Invalid::from(v)))?;
    caller.require_owner(Role::Promoter, promoter, &[Role::Service, Role::Admin, Role::Finance])?;
    let page: Page<(DateTime<Utc>, String)> = Page::from_request(r.page_size, &r.page_token, 50, 500)?;
    let mut rows = store::views::promoter_lines(&api.pool, promoter, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |l| (l.paid_at, l.line_id.clone()));
    Ok(Response::new(pb::ListPromoterLinesResponse { lines: lines(&rows, &caller)?, next_page_token }))
}

#[tracing::instrument(skip_all, fields(supplier_id = %request.get_ref().supplier_id))]
pub async fn list_supplier_lines(
    api: &AttributionApi,
    request: Request<pb::ListSupplierLinesRequest>,
) -> Result<Response<pb::ListSupplierLinesResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier, Role::Service, Role::Admin, Role::Finance])?;
    let r = request.into_inner();
    let supplier = validate::id("supplier_id", &r.supplier_id).map_err(|v| Error::from(Invalid::from(v)))?;
    caller.require_owner(Role::Supplier, supplier, &[Role::Service, Role::Admin, Role::Finance])?;
    let period = period(r.from.as_ref(), r.to.as_ref())?;
    let page: Page<(DateTime<Utc>, String)> = Page::from_request(r.page_size, &r.page_token, 50, 500)?;
    let mut rows = store::views::supplier_lines(&api.pool, supplier, period, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |l| (l.paid_at, l.line_id.clone()));
    Ok(Response::new(pb::ListSupplierLinesResponse { lines: lines(&rows, &caller)?, next_page_token }))
}

#[tracing::instrument(skip_all, fields(promoter_id = %request.get_ref().promoter_id))]
pub async fn get_link_stats(
    api: &AttributionApi,
    request: Request<pb::GetLinkStatsRequest>,
) -> Result<Response<pb::GetLinkStatsResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter, Role::Service, Role::Admin, Role::Finance])?;
    let r = request.into_inner();
    let promoter = validate::id("promoter_id", &r.promoter_id).map_err(|v| Error::from(Invalid::from(v)))?;
    caller.require_owner(Role::Promoter, promoter, &[Role::Service, Role::Admin, Role::Finance])?;
    let period = period(r.from.as_ref(), r.to.as_ref())?;
    let figures = store::views::link_figures(&api.pool, promoter, period).await?;
    let (links, channels) = link_stats(figures);
    Ok(Response::new(pb::GetLinkStatsResponse { links, channels }))
}

/// Rows of (link, currency) into one entry per link, busiest first, and the same
/// summed per channel (an order that came through two links of one channel counts
/// once for each).
fn link_stats(figures: Vec<LinkFigures>) -> (Vec<pb::LinkStats>, Vec<pb::LinkStats>) {
    fn add(into: &mut pb::LinkStats, currency: Option<&str>, orders: i64, lines: i64, commission: i64) {
        into.orders += orders;
        into.lines += lines;
        let Some(currency) = currency else { return };
        match into.commission.iter_mut().find(|m| m.currency == currency) {
            Some(money) => money.minor_units += commission,
            None => into.commission.push(Money { minor_units: commission, currency: currency.to_owned() }),
        }
    }
    let mut links: Vec<pb::LinkStats> = Vec::new();
    for f in figures {
        let channel = f.channel.to_uppercase();
        if links.last().is_none_or(|l| l.share_code != f.code) {
            links.push(pb::LinkStats {
                share_code: f.code.clone(),
                channel,
                product_id: f.product_id.map(|p| p.to_string()).unwrap_or_default(),
                clicks: f.clicks,
                ..Default::default()
            });
        }
        if let Some(link) = links.last_mut() {
            add(link, f.currency.as_deref(), f.orders, f.lines, f.commission);
        }
    }
    let mut channels: BTreeMap<String, pb::LinkStats> = BTreeMap::new();
    for link in &links {
        let channel = channels
            .entry(link.channel.clone())
            .or_insert_with(|| pb::LinkStats { channel: link.channel.clone(), ..Default::default() });
        channel.clicks += link.clicks;
        add(channel, None, link.orders, link.lines, 0);
        for money in &link.commission {
            add(channel, Some(&money.currency), 0, 0, money.minor_units);
        }
    }
    let busiest = |a: &pb::LinkStats, b: &pb::LinkStats| (b.lines, b.clicks).cmp(&(a.lines, a.clicks));
    links.sort_by(busiest);
    let mut channels: Vec<pb::LinkStats> = channels.into_values().collect();
    channels.sort_by(busiest);
    (links, channels)
}

#[tracing::instrument(skip_all, fields(line_id = %request.get_ref().line_id))]
pub async fn explain_line(
    api: &AttributionApi,
    request: Request<pb::ExplainLineRequest>,
) -> Result<Response<pb::ExplainLineResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter, Role::Service, Role::Admin, Role::Finance])?;
    let line_id = validate::id("line_id", &request.get_ref().line_id).map_err(|v| Error::from(Invalid::from(v)))?;
    let found = store::views::line(&api.pool, line_id).await?.ok_or_else(|| Error::not_found("order line", line_id))?;
    // A promoter sees the lines decided for them; nobody else's.
    let earner = named_promoter(&found).unwrap_or("");
    caller.require_owner(Role::Promoter, earner, &[Role::Service, Role::Admin, Role::Finance])?;
    let group_name = match found.group_id {
        Some(id) => store::groups::group(&api.pool, id).await?.map(|g| g.name).unwrap_or_default(),
        None => String::new(),
    };
    let explanation = pb::Explanation {
        reason: reason(found.reason).into(),
        summary: found.summary.clone(),
        share_code: found.share_code.clone().unwrap_or_default(),
        click_event_id: found.click_event_id.clone().unwrap_or_default(),
        clicked_at: found.clicked_at.map(to_timestamp),
        window_days: i32::try_from(api.pipeline.engine.rules.window.num_days()).unwrap_or(i32::MAX),
        rate_id: found.rate_id.map(|r| r.to_string()).unwrap_or_default(),
        rate_bps: found.rate_bps.map_or(0, Bps::get),
        decided_at: Some(to_timestamp(found.decided_at)),
        base_rate_bps: found.base_rate_bps.map_or(0, Bps::get),
        group_id: found.group_id.map(|g| g.to_string()).unwrap_or_default(),
        group_name,
        group_rule_id: found.group_rule_id.map(|r| r.to_string()).unwrap_or_default(),
    };
    let line = line(&found, &caller)?;
    Ok(Response::new(pb::ExplainLineResponse { line: Some(line), explanation: Some(explanation) }))
}

fn parties(rows: Vec<Totals>) -> Result<Vec<pb::PartyTotals>, Error> {
    let mut grouped: BTreeMap<String, Vec<pb::StateTotals>> = BTreeMap::new();
    for t in rows {
        let state = crate::domain::line::State::parse(&t.state)
            .map(line_state)
            .ok_or_else(|| unknown_value("order_line.state", &t.state))?;
        grouped.entry(t.party_id).or_default().push(pb::StateTotals {
            state: state.into(),
            lines: t.lines,
            paid: money(t.paid, &t.currency),
            refunded: money(t.refunded, &t.currency),
            commission: money(t.commission, &t.currency),
        });
    }
    Ok(grouped.into_iter().map(|(party_id, by_state)| pb::PartyTotals { party_id, by_state }).collect())
}

const RECONCILERS: &[Role] = &[Role::Finance, Role::Service, Role::Admin];

#[tracing::instrument(skip_all)]
pub async fn get_period_totals(
    api: &AttributionApi,
    request: Request<pb::GetPeriodTotalsRequest>,
) -> Result<Response<pb::GetPeriodTotalsResponse>, Error> {
    request.caller()?.require_role(RECONCILERS)?;
    let r = request.get_ref();
    let (from, to) = period(r.from.as_ref(), r.to.as_ref())?;
    let promoters = store::views::promoter_totals(&api.pool, from, to).await?;
    let suppliers = store::views::supplier_totals(&api.pool, from, to).await?;
    let unattributed = store::views::unattributed_count(&api.pool, from, to).await?;
    Ok(Response::new(pb::GetPeriodTotalsResponse {
        promoters: parties(promoters)?,
        suppliers: parties(suppliers)?,
        unattributed_lines: unattributed,
    }))
}

pub type LineStream = Pin<Box<dyn Stream<Item = Result<pb::StreamPeriodLinesResponse, Status>> + Send>>;

#[tracing::instrument(skip_all)]
pub async fn stream_period_lines(
    api: &AttributionApi,
    request: Request<pb::StreamPeriodLinesRequest>,
) -> Result<Response<LineStream>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(RECONCILERS)?;
    let r = request.into_inner();
    let (from, to) = period(r.from.as_ref(), r.to.as_ref())?;
    let pool = api.pool.clone();
    // Chunks of a keyset scan: memory stays one chunk however long the period.
    let stream = futures::stream::try_unfold(Some(None), move |cursor: Option<Option<(DateTime<Utc>, String)>>| {
        let pool = pool.clone();
        let caller = caller.clone();
        async move {
            let Some(after) = cursor else { return Ok(None) };
            let rows = store::views::period_lines(&pool, from, to, r.attributed_only, after, PERIOD_CHUNK)
                .await
                .map_err(|e| Status::from(Error::from(e)))?;
            if rows.is_empty() {
                return Ok(None);
            }
            let next = (rows.len() as i64 == PERIOD_CHUNK).then(|| rows.last().map(|l| (l.paid_at, l.line_id.clone())));
            let chunk = pb::StreamPeriodLinesResponse { lines: lines(&rows, &caller).map_err(Status::from)? };
            Ok(Some((chunk, next)))
        }
    });
    Ok(Response::new(Box::pin(stream)))
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn link_figures_add_up_per_link_and_per_channel() {
        use super::{LinkFigures, link_stats};
        let row = |code: &str, channel: &str, clicks, currency: Option<&str>, orders, lines, commission| LinkFigures {
            code: code.into(),
            channel: channel.into(),
            product_id: None,
            clicks,
            currency: currency.map(str::to_owned),
            orders,
            lines,
            commission,
        };
        let (links, channels) = link_stats(vec![
            row("a", "channel_wechat", 10, Some("CNY"), 2, 3, 500),
            row("a", "channel_wechat", 10, Some("USD"), 1, 1, 70),
            row("b", "channel_wechat", 4, Some("CNY"), 1, 1, 100),
            row("c", "channel_douyin", 7, None, 0, 0, 0),
        ]);
        assert_eq!(links.iter().map(|l| l.share_code.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!((links[0].clicks, links[0].orders, links[0].lines), (10, 3, 4));
        assert_eq!(links[0].commission.len(), 2);
        assert!(links[2].commission.is_empty());
        let wechat = &channels[0];
        assert_eq!(wechat.channel, "CHANNEL_WECHAT");
        assert_eq!((wechat.clicks, wechat.orders, wechat.lines), (14, 4, 5));
        let cny = wechat.commission.iter().find(|m| m.currency == "CNY").map(|m| m.minor_units);
        assert_eq!(cny, Some(600));
        assert_eq!(channels[1].channel, "CHANNEL_DOUYIN");
        assert_eq!(channels[1].clicks, 7);
    }

    #[test]
    fn buyers_are_masked() {
        assert_eq!(mask("buyer-4711"), "b***1");
        assert_eq!(mask("ab"), "**");
        assert_eq!(mask("王小明"), "王***明");
    }
}
