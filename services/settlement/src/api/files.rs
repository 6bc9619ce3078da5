//! The files finance opens in a spreadsheet or sends to a bank: UTF-8 with a BOM
//! (so Excel and WPS read Chinese), headers in Chinese by default, times in the
//! business zone to the second, amounts in yuan. Every file is one kind of row, so a
//! column sums to what it says.
use xiaopu_api::settlement as pb;
use xiaopu_common::error::Invalid;
use xiaopu_money::to_decimal;

use super::{Error, convert};
use crate::{
    domain::{
        payee::{Method, Payee},
        payout::LineStatus,
    },
    store::{batches::LineRow, payees::ProfileRow, positions::Position},
};

/// The header language a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Chinese,
    English,
}

impl Language {
    /// `zh-CN` (or empty: the default) or `en`.
    pub fn parse(value: &str) -> Result<Self, Error> {
        match value {
            "" | "zh-CN" | "zh" => Ok(Self::Chinese),
            "en" => Ok(Self::English),
            _ => Err(Invalid::field("language", "must be zh-CN or en").into()),
        }
    }

    fn pick(self, (zh, en): (&'static str, &'static str)) -> &'static str {
        if self == Self::Chinese { zh } else { en }
    }

    fn chinese(self) -> bool {
        self == Self::Chinese
    }
}

/// The header row, BOM first; `{zone}` in a column name is the business zone.
pub fn header(columns: &[(&'static str, &'static str)], language: Language, zone: &str) -> String {
    let names = columns.iter().map(|c| language.pick(*c).replace("{zone}", zone));
    format!("\u{FEFF}{}", convert::csv_record(names))
}

pub const PAYOUT_COLUMNS: &[(&str, &str)] = &[
    ("批次号", "batch_id"),
    ("付款明细号", "batch_line_id"),
    ("推广员ID", "promoter_id"),
    ("收款人", "payee_name"),
    ("收款方式", "method"),
    ("收款账号", "account"),
    ("开户行", "bank"),
    ("金额(元)", "amount"),
    ("币种", "currency"),
    ("代扣个税(元)", "tax_withheld"),
    ("订单行数", "order_lines"),
    ("状态", "status"),
];

fn status_label(status: LineStatus, language: Language) -> &'static str {
    let pair = match status {
        LineStatus::Pending => ("待付款", "pending"),
        LineStatus::Paid => ("已付款", "paid"),
        LineStatus::Failed => ("付款失败", "failed"),
        LineStatus::CarriedForward => ("结转下期", "carried forward"),
        LineStatus::Held => ("暂缓", "held"),
    };
    language.pick(pair)
}

/// Who a payout row pays: in full for the batch's approver, masked otherwise.
pub enum PayeeShown<'a> {
    Full(&'a ProfileRow, Payee),
    Masked(&'a ProfileRow),
    Missing,
}

pub fn payout_row(l: &LineRow, payee: PayeeShown<'_>, language: Language) -> String {
    let (name, method, account, bank) = match &payee {
        PayeeShown::Full(p, d) => (d.legal_name.clone(), p.method.as_str(), d.account.clone(), p.bank_name.clone()),
        PayeeShown::Masked(p) => {
            (p.masked_name.clone(), p.method.as_str(), p.masked_account.clone(), p.bank_name.clone())
        }
        PayeeShown::Missing => (String::new(), "", String::new(), String::new()),
    };
    let method = Method::parse(method).map(|m| m.label(language.chinese())).unwrap_or_default();
    convert::csv_record([
        l.batch_id.to_string(),
        l.batch_line_id.to_string(),
        l.promoter_id.clone(),
        name,
        method.to_owned(),
        account,
        bank,
        to_decimal(l.amount, &l.currency),
        l.currency.clone(),
        to_decimal(l.withheld, &l.currency),
        l.order_lines.to_string(),
        status_label(l.status, language).to_owned(),
    ])
}

pub const DETAIL_COLUMNS: &[(&str, &str)] = &[
    ("批次号", "batch_id"),
    ("付款明细号", "batch_line_id"),
    ("推广员ID", "promoter_id"),
    ("类型", "kind"),
    ("订单行号", "order_line_id"),
    ("订单号", "order_id"),
    ("供应商ID", "supplier_id"),
    ("支付时间({zone})", "paid_at ({zone})"),
    ("佣金(元)", "commission"),
    ("技术服务费(元)", "service_fee"),
    ("金额(元)", "amount"),
    ("币种", "currency"),
];

/// The rows of a payout line's own amounts (re-issued, netted, withheld); its order
/// lines follow from `order_line_row`. Together their amounts sum to the line's.
pub fn line_rows(l: &LineRow, language: Language) -> String {
    let parts = [
        (("补发失败付款", "re-issued payout"), l.reissued),
        (("冲抵（扣回或调整）", "netted (clawbacks and adjustments)"), -l.clawback_netted),
        (("代扣个税", "tax withheld"), -l.withheld),
    ];
    parts
        .into_iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|(kind, amount)| {
            convert::csv_record([
                l.batch_id.to_string(),
                l.batch_line_id.to_string(),
                l.promoter_id.clone(),
                language.pick(kind).to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                to_decimal(amount, &l.currency),
                l.currency.clone(),
            ])
        })
        .collect()
}

/// One settled order line: its share as settled is what it adds to the payout.
pub fn order_line_row(batch_id: &str, p: &Position, language: Language, zone: &xiaopu_common::time::Zone) -> String {
    let share = p.settled_share.unwrap_or(p.share);
    let fee = p.settled_fee.unwrap_or(p.fee);
    convert::csv_record([
        batch_id.to_owned(),
        p.batch_line_id.map(|b| b.to_string()).unwrap_or_default(),
        p.promoter_id.clone(),
        language.pick(("订单佣金", "order commission")).to_owned(),
        p.line_id.clone(),
        p.order_id.clone(),
        p.supplier_id.clone(),
        zone.to_second(p.paid_at),
        to_decimal(share + fee, &p.currency),
        to_decimal(fee, &p.currency),
        to_decimal(share, &p.currency),
        p.currency.clone(),
    ])
}

/// The batch file a request names.
pub fn batch_file(value: i32) -> Result<pb::BatchFile, Error> {
    match pb::BatchFile::try_from(value) {
        Ok(pb::BatchFile::Unspecified | pb::BatchFile::Payouts) => Ok(pb::BatchFile::Payouts),
        Ok(pb::BatchFile::Detail) => Ok(pb::BatchFile::Detail),
        Err(_) => Err(Invalid::field("file", "must be PAYOUTS or DETAIL").into()),
    }
}

pub const PERIOD_COLUMNS: &[(&str, &str)] = &[
    ("订单行号", "order_line_id"),
    ("订单号", "order_id"),
    ("推广员ID", "promoter_id"),
    ("供应商ID", "supplier_id"),
    ("店铺ID", "shop_id"),
    ("商品ID", "product_id"),
    ("支付时间({zone})", "paid_at ({zone})"),
    ("确认收货时间({zone})", "confirmed_at ({zone})"),
    ("订单行状态", "line_state"),
    ("结算阶段", "stage"),
    ("币种", "currency"),
    ("佣金(元)", "commission"),
    ("技术服务费(元)", "service_fee"),
    ("推广员所得(元)", "promoter_share"),
    ("可结算时间({zone})", "settleable_at ({zone})"),
    ("付款明细号", "batch_line_id"),
];

pub fn period_row(p: &Position, zone: &xiaopu_common::time::Zone) -> String {
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| zone.to_second(t)).unwrap_or_default();
    convert::csv_record([
        p.line_id.clone(),
        p.order_id.clone(),
        p.promoter_id.clone(),
        p.supplier_id.clone(),
        p.shop_id.clone(),
        p.product_id.clone(),
        zone.to_second(p.paid_at),
        at(p.confirmed_at),
        p.line_state.as_str().to_owned(),
        p.stage.as_str().to_owned(),
        p.currency.clone(),
        to_decimal(p.commission, &p.currency),
        to_decimal(p.fee, &p.currency),
        to_decimal(p.share, &p.currency),
        at(p.settleable_at),
        p.batch_line_id.map(|b| b.to_string()).unwrap_or_default(),
    ])
}
