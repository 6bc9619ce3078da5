//! Payout profiles: a promoter says who and where to pay; the details are sealed at
//! rest and read back masked. Only the batch's approver sees them in full, in the
//! payout file (see `files`).
use tonic::{Request, Response};
use xiaopu_api::settlement as pb;
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{Invalid, Violations},
    time::to_timestamp,
    validate,
};

use super::{Error, SettlementApi};
use crate::{
    domain::payee::{self, Method, Payee},
    store::{self, payees::ProfileRow},
};

const READERS: &[Role] = &[Role::Finance, Role::Admin];

pub fn method_of(m: pb::PayoutMethod) -> Option<Method> {
    match m {
        pb::PayoutMethod::Alipay => Some(Method::Alipay),
        pb::PayoutMethod::WechatPay => Some(Method::WechatPay),
        pb::PayoutMethod::BankCard => Some(Method::BankCard),
        pb::PayoutMethod::Unspecified => None,
    }
}

fn method_message(m: Option<Method>) -> pb::PayoutMethod {
    match m {
        Some(Method::Alipay) => pb::PayoutMethod::Alipay,
        Some(Method::WechatPay) => pb::PayoutMethod::WechatPay,
        Some(Method::BankCard) => pb::PayoutMethod::BankCard,
        None => pb::PayoutMethod::Unspecified,
    }
}

pub fn profile_message(p: &ProfileRow) -> pb::PayoutProfile {
    pb::PayoutProfile {
        promoter_id: p.promoter_id.clone(),
        legal_name: p.masked_name.clone(),
        method: method_message(Method::parse(&p.method)).into(),
        account: p.masked_account.clone(),
        bank_name: p.bank_name.clone(),
        updated_at: Some(to_timestamp(p.updated_at)),
    }
}

#[tracing::instrument(skip_all)]
pub async fn set_payout_profile(
    api: &SettlementApi,
    request: Request<pb::SetPayoutProfileRequest>,
) -> Result<Response<pb::SetPayoutProfileResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let name = r.legal_name.trim();
    if let Err(rule) = payee::name_rule(name) {
        v.add("legal_name", rule);
    }
    let method = pb::PayoutMethod::try_from(r.method).ok().and_then(method_of);
    let account: String = r.account.chars().filter(|c| !c.is_whitespace()).collect();
    let bank = r.bank_name.trim();
    match method {
        None => v.add("method", "must be ALIPAY, WECHAT_PAY or BANK_CARD"),
        Some(m) => {
            if let Err(rule) = payee::account_rule(m, &account) {
                v.add("account", rule);
            }
            if let Err(rule) = payee::bank_rule(m, bank) {
                v.add("bank_name", rule);
            }
        }
    }
    v.check(validate::optional_text("bank_name", bank, 50, false));
    let method = v.finish_with(method)?;

    let details = Payee { legal_name: name.to_owned(), account: account.clone() };
    let plain = serde_json::to_vec(&details).map_err(|e| Error::Sealing(e.to_string()))?;
    let row = ProfileRow {
        promoter_id: caller.subject.clone(),
        method: method.as_str().to_owned(),
        masked_name: payee::mask_name(name),
        masked_account: payee::mask_account(method, &account),
        bank_name: bank.to_owned(),
        key_id: api.payee_key.id().to_owned(),
        sealed: api.payee_key.seal(&caller.subject, &plain),
        updated_at: api.clock.now(),
    };
    let mut tx = api.pool.begin().await?;
    store::payees::upsert(&mut tx, &row).await?;
    tx.commit().await?;
    tracing::info!(promoter_id = %row.promoter_id, method = %row.method, "payout profile set");
    Ok(Response::new(pb::SetPayoutProfileResponse { profile: Some(profile_message(&row)) }))
}

#[tracing::instrument(skip_all)]
pub async fn get_payout_profile(
    api: &SettlementApi,
    request: Request<pb::GetPayoutProfileRequest>,
) -> Result<Response<pb::GetPayoutProfileResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Promoter, Role::Finance, Role::Admin])?;
    let asked = request.get_ref().promoter_id.as_str();
    let promoter = match (caller.role, asked) {
        (Role::Promoter, "") => caller.subject.as_str(),
        _ => validate::id("promoter_id", asked).map_err(|v| Error::from(Invalid::from(v)))?,
    };
    caller.require_owner(Role::Promoter, promoter, READERS)?;
    let row = store::payees::get(&api.pool, promoter)
        .await?
        .ok_or_else(|| Error::not_found("payout profile of promoter", promoter))?;
    Ok(Response::new(pb::GetPayoutProfileResponse { profile: Some(profile_message(&row)) }))
}

/// A profile's details in the clear, for the payout file of the batch's approver.
pub fn open(api: &SettlementApi, row: &ProfileRow) -> Result<Payee, Error> {
    let plain =
        api.payee_key.open(&row.key_id, &row.promoter_id, &row.sealed).map_err(|e| Error::Sealing(e.to_string()))?;
    serde_json::from_slice(&plain).map_err(|e| Error::Sealing(e.to_string()))
}
