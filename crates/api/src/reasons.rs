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
    // Settlement.
    FOUR_EYES => "批次须由创建人以外的财务审批", "A finance user other than the batch's creator must approve it";
    BATCH_STATE => "批次当前状态不允许此操作", "The batch's status does not allow this";
    PAYOUT_RECORDED => "这笔付款已登记过其他结果", "This payout was already recorded with another outcome";
    PERIOD_NOT_ENDED => "结算期尚未结束，结束后才能结算", "The period has not ended yet; close it once it has";
    PERIOD_OVERLAPS => "与已结算的结算期重叠", "The period overlaps a closed one";
    NOT_HELD => "该推广者没有被冻结", "The promoter is not on hold";
    UNKNOWN_PROMOTER => "结算中没有这个推广者的任何记录", "Settlement has no record of this promoter";
    WRONG_BATCH => "付款明细不属于这个批次", "The payout line is not in this batch";
    INVALID_ROW => "这一行的内容不完整或有误", "This row is incomplete or wrong";
    PAYEE_MISSING => "未设置收款信息，付款暂缓", "No payout profile: the payout is held";
}

/// The language words are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Chinese,
    English,
}

/// How `code` reads in `language`; None for a code not in the catalogue.
pub fn describe(code: &str, language: Language) -> Option<&'static str> {
    CATALOGUE.iter().find(|(c, ..)| *c == code).map(|(_, zh, en)| if language == Language::Chinese { *zh } else { *en })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_with_words_in_both_languages() {
        let mut codes: Vec<&str> = CATALOGUE.iter().map(|(c, ..)| *c).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before, "a code listed twice");
        for (code, zh, en) in CATALOGUE {
            assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{code}");
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{code}: {zh}");
            assert!(!en.is_empty() && en.is_ascii(), "{code}: {en}");
        }
        assert_eq!(describe(FOUR_EYES, Language::Chinese), Some("批次须由创建人以外的财务审批"));
        assert_eq!(describe("NO_SUCH_CODE", Language::English), None);
    }
}
