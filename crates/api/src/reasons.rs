//! Reason codes, defined once: what `ErrorInfo.reason` of a refusal says (and a
//! batch line's hold reason), for programs to act on, and how each reads to people —
//! Chinese first (zh-CN, the platform's users), English available. Services return
//! the codes; the web front, the app and the CLI show the words.

/// Declares each code once: its constant, and its words in the catalogue.
macro_rules! reasons {
    ($($code:ident => $zh:literal, $en:literal;)*) => {
        $(pub const $code: &str = stringify!($code);)*

        /// Every code with its words: (code, zh-CN, en).
        pub const CATALOGUE: &[(&str, &str, &str)] = &[$(($code, $zh, $en)),*];
    };
}

reasons! {
    INVALID_ARGUMENT => "填写的内容不符合要求", "Some of what was sent does not meet the rules";
    MALFORMED_REQUEST => "请求无法解析，请更新应用后重试", "The request could not be read; update the app and retry";
    NOT_FOUND => "找不到要操作的对象", "What was asked for does not exist";
    ALREADY_EXISTS => "已经存在，无需重复操作", "It exists already";
    FAILED_PRECONDITION => "当前状态下不能这样做", "This cannot be done in the current state";
    TOKEN_MISSING => "请先登录", "Please sign in";
    TOKEN_EXPIRED => "登录已过期，请重新登录", "Your sign-in has expired; sign in again";
    TOKEN_INVALID => "登录凭证无效，请重新登录", "Your sign-in is not valid; sign in again";
    ROLE_NOT_ALLOWED => "您的身份不能进行此操作", "Your role may not do this";
    NOT_OWNER => "只能操作您自己的数据", "You may act only on your own data";
    DATABASE_UNAVAILABLE => "服务暂时不可用，请稍后重试", "The service is briefly unavailable; retry shortly";
    UPSTREAM_UNAVAILABLE => "依赖的服务暂时不可用，请稍后重试", "A service this depends on is unavailable; retry shortly";
    INTERNAL => "系统出错了，请稍后重试", "Something went wrong on our side; retry shortly";
    IDEMPOTENCY_KEY_REUSED => "同一请求编号被用于不同的内容", "The same request id was used for a different request";
    CONCURRENT_UPDATE => "有人同时修改了同一数据，请重试", "Someone changed the same data at the same time; retry";
    TOO_MANY_STREAMS => "订阅连接过多，请稍后重试", "Too many feed streams; retry later";
    // Storefront.
    NOT_ELIGIBLE => "信用分未达到开店要求", "Your credit score does not allow opening a shop";
    LISTING_LIMIT_REACHED => "小店最多上架 1000 件商品，请先下架一些", "A shop lists at most 1000 products; remove some first";
    ALREADY_LISTED => "这件商品已在您的小店中", "This product is already in your shop";
    PRODUCT_WITHDRAWN => "商品已下架", "The product has been withdrawn";
    LISTING_REMOVED => "店主已移除这件商品", "The shop no longer lists this product";
    SHOP_SUSPENDED => "小店已暂停营业", "The shop is suspended";
    RATE_ALREADY_SCHEDULED => "该时间已有一个待生效的佣金率", "A rate is already scheduled at that time";
    RATE_IN_FORCE => "该佣金率已生效，只能取消尚未生效的佣金率", "The rate is already in force; only a scheduled rate can be cancelled";
    CODE_TAKEN => "这个口令已被使用，请换一个", "This code is taken; choose another";
    PROMO_CODE_LIMIT => "口令数量已达上限，请先撤回一些", "The shop has as many live codes as it may; revoke some first";
    TOO_MANY_GUESSES => "尝试次数过多，请稍后再试", "Too many wrong codes; try again later";
    // Settlement.
    FOUR_EYES => "批次须由创建人以外的财务审批", "A finance user other than the batch's creator must approve it";
    BATCH_STATE => "批次当前状态不允许此操作", "The batch's status does not allow this";
    PAYOUT_RECORDED => "这笔付款已登记过其他结果", "This payout was already recorded with another outcome";
    PERIOD_NOT_ENDED => "结算期尚未结束，结束后才能结算", "The period has not ended yet; close it once it has";
    PERIOD_OVERLAPS => "与已结算的结算期重叠", "The period overlaps a closed one";
    NOT_HELD => "该推广者没有被冻结", "The promoter is not on hold";
    WEBHOOK_DELETED => "该推送地址已删除，请重新创建", "The webhook has been deleted; create another";
    DELIVERY_NOT_FAILED => "只有发送失败的推送可以重发", "Only a failed delivery can be sent again";
    UNKNOWN_PROMOTER => "结算中没有这个推广者的任何记录", "Settlement has no record of this promoter";
    WRONG_BATCH => "付款明细不属于这个批次", "The payout line is not in this batch";
    INVALID_ROW => "这一行的内容不完整或有误", "This row is incomplete or wrong";
    PAYEE_MISSING => "未设置收款信息，付款暂缓", "No payout profile: the payout is held";
    // Attribution.
    LINE_NOT_HELD => "这笔订单没有在风控审核中", "The line is not held by a risk rule";
    FLAG_NOT_RAISED => "这个推广者没有这条风控标记", "The promoter has no such risk flag";
}

/// How the values of the API's enums that people see read (keyed by the value's
/// proto name): explanations of attribution, eligibility decisions, states, channels.
pub const VALUES: &[(&str, &str, &str)] = &[
    ("ATTRIBUTION_REASON_ORDER_CODE", "订单带有您的分享码，佣金归您", "The order carried your share code"),
    (
        "ATTRIBUTION_REASON_LAST_CLICK",
        "买家在归属期内最后点击的是您的链接",
        "The buyer's last click in the window was your link",
    ),
    ("ATTRIBUTION_REASON_NO_CLICK", "买家没有点击过任何分享链接", "The buyer clicked no share link"),
    (
        "ATTRIBUTION_REASON_WINDOW_EXPIRED",
        "最后一次点击已超过归属期",
        "The last click was before the attribution window",
    ),
    ("ATTRIBUTION_REASON_UNKNOWN_CODE", "订单上的分享码不存在", "The order's share code does not exist"),
    ("ATTRIBUTION_REASON_LINK_REVOKED", "分享链接在付款前已被撤回", "The share link was revoked before payment"),
    (
        "ATTRIBUTION_REASON_PRODUCT_NOT_LISTED",
        "付款时这件商品不在该小店中",
        "The product was not listed in the shop at payment",
    ),
    ("ATTRIBUTION_REASON_SHOP_SUSPENDED", "付款时小店处于暂停状态", "The shop was suspended at payment"),
    (
        "ATTRIBUTION_REASON_SELF_PURCHASE",
        "店主通过自己的链接购买，不计佣金",
        "The promoter bought through their own link",
    ),
    ("ATTRIBUTION_REASON_NO_RATE", "付款时这件商品没有生效的佣金率", "No commission rate was in force at payment"),
    (
        "ATTRIBUTION_REASON_BUDGET_EXHAUSTED",
        "供应商本月的佣金预算已用完，这一单不计佣金",
        "The supplier's commission budget for the month was spent",
    ),
    ("GROUP_RULE_KIND_UPLIFT", "在商品佣金率上加", "Added to the product's rate"),
    ("GROUP_RULE_KIND_ABSOLUTE", "替代商品佣金率", "Instead of the product's rate"),
    (
        "ATTRIBUTION_REASON_RISK_VOIDED",
        "风控审核后作废，这一单不计佣金",
        "Voided after a risk review: the line earns nothing",
    ),
    ("RISK_STATE_HELD", "风控审核中", "Held for a risk review"),
    ("RISK_STATE_RELEASED", "审核通过", "Released"),
    ("RISK_STATE_VOIDED", "已作废", "Voided"),
    ("BUDGET_STATUS_OPEN", "正常", "Open"),
    ("BUDGET_STATUS_WARNING", "已用 80% 以上", "80 % or more spent"),
    ("BUDGET_STATUS_EXHAUSTED", "已用完", "Spent"),
    ("LINE_STATE_PAID", "已付款", "Paid"),
    ("LINE_STATE_RECEIVED", "已收货", "Received"),
    ("LINE_STATE_VOID", "已退款失效", "Void (refunded)"),
    ("PROMOTER_STATUS_NONE", "尚未评估", "Not assessed yet"),
    ("PROMOTER_STATUS_APPROVED", "已通过，可以开店", "Approved: you may run a shop"),
    ("PROMOTER_STATUS_REFUSED", "未通过", "Not approved"),
    ("PROMOTER_STATUS_SUSPENDED", "已暂停", "Suspended"),
    ("DECISION_REASON_SCORE_ABOVE_THRESHOLD", "信用分高于开店门槛", "The credit score is above the threshold"),
    (
        "DECISION_REASON_SCORE_NOT_ABOVE_THRESHOLD",
        "信用分未高于开店门槛",
        "The credit score is not above the threshold",
    ),
    ("DECISION_REASON_SCORE_STALE", "信用分已过期，需要更新", "The credit score is out of date"),
    ("DECISION_REASON_NO_SCORE", "还没有信用分记录", "No credit score has been recorded"),
    ("CHANNEL_WECHAT", "微信群", "WeChat group"),
    ("CHANNEL_MOMENTS", "朋友圈", "WeChat Moments"),
    ("CHANNEL_DOUYIN", "抖音", "Douyin"),
    ("CHANNEL_WEIBO", "微博", "Weibo"),
    ("CHANNEL_XIAOHONGSHU", "小红书", "Xiaohongshu"),
    ("CHANNEL_LIVE", "直播", "Live stream"),
    ("CHANNEL_OTHER", "其他", "Other"),
    ("STOCK_STATUS_IN_STOCK", "有货", "In stock"),
    ("STOCK_STATUS_LOW_STOCK", "库存紧张", "Low stock"),
    ("STOCK_STATUS_OUT_OF_STOCK", "缺货", "Out of stock"),
    ("PRODUCT_STATUS_ACTIVE", "在售", "On sale"),
    ("PRODUCT_STATUS_WITHDRAWN", "已下架", "Withdrawn"),
    ("SHOP_STATUS_ACTIVE", "营业中", "Open"),
    ("SHOP_STATUS_SUSPENDED", "已暂停", "Suspended"),
    ("BATCH_LINE_STATUS_PENDING", "待付款", "To be paid"),
    ("BATCH_LINE_STATUS_PAID", "已付款", "Paid"),
    ("BATCH_LINE_STATUS_FAILED", "付款失败，将在下期重付", "Failed; re-issued next period"),
    ("BATCH_LINE_STATUS_CARRIED_FORWARD", "未达起付金额，结转下期", "Under the minimum; carried forward"),
    ("BATCH_LINE_STATUS_HELD", "暂缓付款", "Held"),
    ("WEBHOOK_EVENT_LINE_ATTRIBUTED", "订单计入佣金", "A line earns commission"),
    ("WEBHOOK_EVENT_LINE_VOIDED", "订单退款失效", "A line was voided"),
    ("WEBHOOK_EVENT_BATCH_APPROVED", "付款批次已审批", "A payout batch was approved"),
    ("WEBHOOK_EVENT_PAYOUT_PAID", "佣金已到账", "A payout was paid"),
    ("WEBHOOK_EVENT_PAYOUT_FAILED", "佣金付款失败", "A payout failed"),
    ("WEBHOOK_EVENT_BUDGET_ALERT", "佣金预算将要用完或已用完", "A commission budget is nearly or fully spent"),
    ("DELIVERY_STATUS_PENDING", "等待发送", "Waiting to be sent"),
    ("DELIVERY_STATUS_DELIVERED", "已送达", "Delivered"),
    ("DELIVERY_STATUS_FAILED", "发送失败", "Failed"),
];

/// The language words are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Chinese,
    English,
}

/// How `code` (a reason code, or an enum value's proto name) reads in `language`;
/// None for a code in neither catalogue.
pub fn describe(code: &str, language: Language) -> Option<&'static str> {
    CATALOGUE
        .iter()
        .chain(VALUES)
        .find(|(c, ..)| *c == code)
        .map(|(_, zh, en)| if language == Language::Chinese { *zh } else { *en })
}

/// An enum value in words, or its proto name when the catalogue lacks it (which the
/// page-walking tests catch).
pub fn value_words(proto_name: &str, language: Language) -> &str {
    describe(proto_name, language).unwrap_or(proto_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_with_words_in_both_languages() {
        let mut codes: Vec<&str> = CATALOGUE.iter().chain(VALUES).map(|(c, ..)| *c).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before, "a code listed twice");
        for (code, zh, en) in CATALOGUE.iter().chain(VALUES) {
            assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{code}");
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{code}: {zh}");
            assert!(!en.is_empty() && en.is_ascii(), "{code}: {en}");
        }
        assert_eq!(describe(FOUR_EYES, Language::Chinese), Some("批次须由创建人以外的财务审批"));
        assert_eq!(describe("NO_SUCH_CODE", Language::English), None);
        assert_eq!(value_words("CHANNEL_WECHAT", Language::Chinese), "微信群");
        assert_eq!(value_words("CHANNEL_NEW", Language::Chinese), "CHANNEL_NEW");
    }
}
