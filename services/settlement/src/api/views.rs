//! What promoters, suppliers and finance read.
use tonic::{Request, Response};
use xiaopu_api::settlement as pb;
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::Invalid,
    time::to_timestamp,
    validate,
};

use super::{Error, SettlementApi, convert, period};
use crate::{domain::ledger::Account, store};

#[tracing::instrument(skip_all, fields(promoter_id = %request.get_ref().promoter_id))]
pub async fn promoter_earnings(
    api: &SettlementApi,
    request: Request<pb::GetPromoterEarningsRequest>,
) -> Result<Response<pb::GetPromoterEarningsResponse>, Error> {
    request.caller()?.require_role(&[Role::Promoter, Role::Finance, Role::Admin])?;
    let promoter =
        validate::id("promoter_id", &request.get_ref().promoter_id).map_err(|v| Error::from(Invalid::from(v)))?;
    request.caller()?.require_owner(Role::Promoter, promoter, &[Role::Finance, Role::Admin])?;
    let currency = &api.settings.currency;
    let balances = store::reports::promoter_balances(&api.pool, promoter).await?;
    let balance = |account: Account| {
        balances
            .iter()
            .filter(|b| b.account == account.as_str() && b.currency == *currency)
            .map(|b| b.amount)
            .sum::<i64>()
    };
    let payouts = store::batches::of_promoter(&api.pool, promoter, 50).await?;
    let on_hold = store::holds::active(&api.pool, promoter).await?.is_some();
    let has_payout_profile = store::payees::get(&api.pool, promoter).await?.is_some();
    Ok(Response::new(pb::GetPromoterEarningsResponse {
        promoter_id: promoter.to_owned(),
        estimated: convert::money(-balance(Account::PromoterEstimated), currency),
        settleable: convert::money(-balance(Account::PromoterSettleable), currency),
        settled: convert::money(-balance(Account::PromoterPayable), currency),
        paid: convert::money(-balance(Account::Payouts), currency),
        clawbacks_owed: convert::money(balance(Account::PromoterNetting), currency),
        on_hold,
        withheld: convert::money(-balance(Account::TaxWithheld), currency),
        has_payout_profile,
        fee_bps: api.settings.fee_bps,
        payouts: payouts
            .iter()
            .map(|(l, from, to)| pb::PayoutRecord {
                batch_id: l.batch_id.to_string(),
                batch_line_id: l.batch_line_id.to_string(),
                period_from: Some(to_timestamp(*from)),
                period_to: Some(to_timestamp(*to)),
                status: convert::line_status(l.status).into(),
                amount: convert::money(l.amount, &l.currency),
                payment_reference: l.payment_reference.clone().unwrap_or_default(),
                recorded_at: l.recorded_at.map(to_timestamp),
            })
            .collect(),
    }))
}

#[tracing::instrument(skip_all, fields(supplier_id = %request.get_ref().supplier_id))]
pub async fn supplier_charges(
    api: &SettlementApi,
    request: Request<pb::GetSupplierChargesRequest>,
) -> Result<Response<pb::GetSupplierChargesResponse>, Error> {
    request.caller()?.require_role(&[Role::Supplier, Role::Finance, Role::Admin])?;
    let r = request.get_ref();
    let supplier = validate::id("supplier_id", &r.supplier_id).map_err(|v| Error::from(Invalid::from(v)))?;
    request.caller()?.require_owner(Role::Supplier, supplier, &[Role::Finance, Role::Admin])?;
    let (from, to) = period(r.from.as_ref(), r.to.as_ref())?;
    let currency = &api.settings.currency;
    let sums = store::reports::supplier_sums(&api.pool, from, to).await?;
    let mine = sums.into_iter().find(|s| s.party_id == supplier && s.currency == *currency).unwrap_or_default();
    Ok(Response::new(pb::GetSupplierChargesResponse {
        supplier_id: supplier.to_owned(),
        charged: convert::money(mine.commission, currency),
        order_lines: mine.lines,
        service_fees: convert::money(mine.fees, currency),
        promoter_shares: convert::money(mine.commission - mine.fees, currency),
    }))
}

#[tracing::instrument(skip_all)]
pub async fn period_report(
    api: &SettlementApi,
    request: Request<pb::GetPeriodReportRequest>,
) -> Result<Response<pb::GetPeriodReportResponse>, Error> {
    request.caller()?.require_role(&[Role::Finance, Role::Admin])?;
    let r = request.get_ref();
    let (from, to) = period(r.from.as_ref(), r.to.as_ref())?;
    let promoters = store::reports::promoter_sums(&api.pool, from, to).await?;
    let suppliers = store::reports::supplier_sums(&api.pool, from, to).await?;
    let flows = store::reports::promoter_flows(&api.pool, from, to).await?;
    let mut promoter_reports: Vec<pb::PartyReport> = promoters
        .iter()
        .map(|s| {
            let f = flows.iter().find(|f| f.party == s.party_id && f.currency == s.currency);
            party(s, f.map_or(0, |f| f.clawbacks), f.map_or(0, |f| f.paid_out))
        })
        .collect();
    // Promoters with clawbacks or payouts in the period but no lines paid in it.
    for f in &flows {
        if !promoters.iter().any(|s| s.party_id == f.party && s.currency == f.currency) {
            let empty = store::reports::PartySums {
                party_id: f.party.clone(),
                currency: f.currency.clone(),
                ..Default::default()
            };
            promoter_reports.push(party(&empty, f.clawbacks, f.paid_out));
        }
    }
    Ok(Response::new(pb::GetPeriodReportResponse {
        promoters: promoter_reports,
        suppliers: suppliers.iter().map(|s| party(s, 0, 0)).collect(),
    }))
}

fn party(s: &store::reports::PartySums, clawbacks: i64, paid_out: i64) -> pb::PartyReport {
    let m = |v| convert::money(v, &s.currency);
    pb::PartyReport {
        party_id: s.party_id.clone(),
        order_lines: s.lines,
        estimated: m(s.estimated),
        settleable: m(s.settleable),
        settled: m(s.settled),
        commission: m(s.commission),
        service_fees: m(s.fees),
        clawbacks: m(clawbacks),
        paid_out: m(paid_out),
    }
}
