//! Payees: who a promoter's payouts go to, the rules their details must meet, and
//! how they are masked wherever they are shown (张*, 138****5678, ****1234).

xiaopu_common::text_enum! {
    /// How a promoter is paid.
    pub enum Method {
        Alipay = "alipay",
        WechatPay = "wechat_pay",
        BankCard = "bank_card",
    }
}

impl Method {
    /// As a payout file names it.
    pub fn label(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (Method::Alipay, true) => "支付宝",
            (Method::WechatPay, true) => "微信支付",
            (Method::BankCard, true) => "银行卡",
            (Method::Alipay, false) => "Alipay",
            (Method::WechatPay, false) => "WeChat Pay",
            (Method::BankCard, false) => "bank card",
        }
    }
}

/// A payee's details, in the clear (only ever sealed at rest).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Payee {
    pub legal_name: String,
    pub account: String,
}

/// The legal name's rule: 2–50 letters of any script, with spaces, `·`, `.` or `-`
/// between them (e.g. 阿卜杜·热合曼).
pub fn name_rule(name: &str) -> Result<(), &'static str> {
    let chars = name.chars().count();
    let allowed = |c: char| c.is_alphabetic() || matches!(c, ' ' | '·' | '.' | '-');
    if !(2..=50).contains(&chars) || !name.chars().all(allowed) || name.trim() != name {
        return Err("must be the payee's legal name: 2 to 50 letters (spaces, ·, . and - allowed inside)");
    }
    Ok(())
}

/// The account's rule for `method`.
pub fn account_rule(method: Method, account: &str) -> Result<(), &'static str> {
    let ok = match method {
        Method::Alipay => is_mobile(account) || is_email(account),
        Method::WechatPay => {
            (6..=64).contains(&account.len())
                && account.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        Method::BankCard => (12..=19).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_digit()),
    };
    if ok {
        return Ok(());
    }
    Err(match method {
        Method::Alipay => "must be the Alipay account's mobile number (11 digits, 1…) or e-mail address",
        Method::WechatPay => "must be the WeChat Pay openid or WeChat ID: 6 to 64 letters, digits, _ or -",
        Method::BankCard => "must be the card number: 12 to 19 digits, no spaces",
    })
}

/// The bank's rule: named for a bank card (2–50 characters), empty otherwise.
pub fn bank_rule(method: Method, bank: &str) -> Result<(), &'static str> {
    match (method, bank.chars().count()) {
        (Method::BankCard, 2..=50) => Ok(()),
        (Method::BankCard, _) => Err("must name the card's bank (开户行), 2 to 50 characters"),
        (_, 0) => Ok(()),
        _ => Err("is only for BANK_CARD; leave it empty for Alipay and WeChat Pay"),
    }
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_email(s: &str) -> bool {
    let Some((user, domain)) = s.split_once('@') else { return false };
    s.len() <= 100
        && !user.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// 张三 → 张*, 欧阳娜娜 → 欧***.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().map(String::from).unwrap_or_default();
    let rest = chars.count().max(1);
    format!("{first}{}", "*".repeat(rest))
}

/// Bank cards and WeChat ids keep their last 4; mobiles their first 3 and last 4;
/// e-mail addresses their first letter and domain.
pub fn mask_account(method: Method, account: &str) -> String {
    let tail = |n: usize| account.get(account.len().saturating_sub(n)..).unwrap_or_default();
    match method {
        Method::Alipay if is_email(account) => {
            let (user, domain) = account.split_once('@').unwrap_or((account, ""));
            format!("{}***@{domain}", user.chars().next().unwrap_or('*'))
        }
        Method::Alipay => format!("{}****{}", account.get(..3).unwrap_or_default(), tail(4)),
        Method::WechatPay | Method::BankCard => format!("****{}", tail(4)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_accounts_are_checked_per_method() {
        assert!(name_rule("张三").is_ok() && name_rule("阿卜杜·热合曼").is_ok() && name_rule("Li Wei").is_ok());
        assert!(name_rule("张").is_err() && name_rule("张3").is_err() && name_rule(" 张三").is_err());
        assert!(account_rule(Method::Alipay, "13812345678").is_ok());
        assert!(account_rule(Method::Alipay, "li.wei@example.cn").is_ok());
        assert!(account_rule(Method::Alipay, "1381234567").is_err() && account_rule(Method::Alipay, "a@b").is_err());
        assert!(account_rule(Method::WechatPay, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M").is_ok());
        assert!(account_rule(Method::WechatPay, "wx 1").is_err());
        assert!(account_rule(Method::BankCard, "6222020200112233445").is_ok());
        assert!(account_rule(Method::BankCard, "6222 0202 0011").is_err());
        assert!(bank_rule(Method::BankCard, "工商银行").is_ok() && bank_rule(Method::BankCard, "").is_err());
        assert!(bank_rule(Method::Alipay, "").is_ok() && bank_rule(Method::Alipay, "工商银行").is_err());
    }

    #[test]
    fn masks_show_only_enough_to_recognise() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_account(Method::BankCard, "6222020200112233445"), "****3445");
        assert_eq!(mask_account(Method::Alipay, "13812345678"), "138****5678");
        assert_eq!(mask_account(Method::Alipay, "li.wei@example.cn"), "l***@example.cn");
        assert_eq!(mask_account(Method::WechatPay, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"), "****fL2M");
    }
}
