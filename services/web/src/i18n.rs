//! The language pages are shown in: Chinese (zh-CN) unless the visitor chose English
//! (`/lang/en`, remembered in a cookie). Page text is written in Chinese and looked
//! up by that text in one English table (the gettext way: the source text is the
//! key); reason codes and enum values come from the API's catalogue
//! (`xiaopu_api::reasons`). A unit test fails on any page text without English.
use axum::{
    extract::{FromRequestParts, Path, Query},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use xiaopu_api::reasons::{self, Language};

use crate::shop::cookie;

const LANG_COOKIE: &str = "xiaopu_lang";

/// The visitor's language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lang(pub Language);

impl Lang {
    pub const CHINESE: Lang = Lang(Language::Chinese);

    /// `zh` as this visitor reads it.
    pub fn t<'a>(&self, zh: &'a str) -> &'a str {
        match self.0 {
            Language::Chinese => zh,
            Language::English => EN.iter().find(|(key, _)| *key == zh).map_or(zh, |(_, en)| *en),
        }
    }

    /// `zh` with `{}` replaced by `value`, e.g. a count.
    pub fn t1(&self, zh: &str, value: impl std::fmt::Display) -> String {
        self.t(zh).replacen("{}", &value.to_string(), 1)
    }

    /// `zh` with each `{}` replaced by the next of `values`.
    pub fn tf(&self, zh: &str, values: &[&str]) -> String {
        values.iter().fold(self.t(zh).to_owned(), |text, value| text.replacen("{}", value, 1))
    }

    /// An enum value (its proto name) or a reason code in words.
    pub fn words(&self, proto_name: &str) -> String {
        reasons::value_words(proto_name, self.0).to_owned()
    }

    /// The page's `lang` attribute.
    pub fn html(&self) -> &'static str {
        if self.0 == Language::English { "en" } else { "zh-CN" }
    }

    /// The switch to the other language: (its code, its name in itself).
    pub fn other(&self) -> (&'static str, &'static str) {
        if self.0 == Language::English { ("zh", "中文") } else { ("en", "English") }
    }

    pub fn of(parts: &Parts) -> Self {
        match cookie(&parts.headers, LANG_COOKIE).as_deref() {
            Some("en") => Lang(Language::English),
            _ => Lang::CHINESE,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(parts))
    }
}

#[derive(Debug, Deserialize)]
pub struct Back {
    #[serde(default)]
    back: String,
}

/// A path on this site, or None: a language switch never redirects elsewhere.
fn local_path(path: &str) -> Option<String> {
    (path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')).then(|| path.to_owned())
}

/// `GET /lang/{en|zh}?back=/app`: remembers the choice and returns to `back`, or to
/// the page the switch was pressed on.
pub async fn choose(Path(code): Path<String>, Query(back): Query<Back>, headers: HeaderMap) -> Response {
    let referer = headers.get(header::REFERER).and_then(|r| r.to_str().ok()).unwrap_or("");
    // `http://host/app/orders?page=2` → `/app/orders?page=2`.
    let referer_path = referer.split_once("://").and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]));
    let to = local_path(&back.back).or_else(|| referer_path.and_then(local_path)).unwrap_or_else(|| "/app".to_owned());
    let value = if code == "en" { "en" } else { "zh" };
    let mut response = Redirect::to(&to).into_response();
    let cookie = format!("{LANG_COOKIE}={value}; Path=/; Max-Age=31536000; SameSite=Lax");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Page text in English, keyed by its Chinese.
const EN: &[(&str, &str)] = &[
    // Sign-in and the areas.
    ("登录", "Sign in"),
    ("小铺店主", "Xiaopu for promoters"),
    ("小铺供应商后台", "Xiaopu supplier portal"),
    ("小铺财务控制台", "Xiaopu finance console"),
    ("推广者（店主）", "promoter"),
    ("供应商", "supplier"),
    ("财务", "finance"),
    ("身份令牌（Bearer token，{}角色）", "Identity token (bearer token, {} role)"),
    ("开发登录（仅本地）：以此名字登录为{}", "Development sign-in (local only): sign in as {} with this name"),
    ("开发登录", "Development sign-in"),
    ("退出", "Sign out"),
    ("登录已失效，请重新登录", "Your sign-in has expired; please sign in again"),
    ("令牌无效", "The token is not valid"),
    ("这里只对{}角色开放；此令牌的角色是", "Only the {} role may sign in here; this token's role is"),
    ("请求已过期", "The form has expired"),
    (
        "表单校验失败（CSRF）。请返回、刷新页面后重试。",
        "The form could not be verified (CSRF). Go back, reload the page and try again.",
    ),
    ("未开启", "Not enabled"),
    ("开发登录未开启。", "Development sign-in is off."),
    ("名字：1 到 64 个字母、数字或 - _ . @", "Name: 1 to 64 letters, digits or - _ . @"),
    ("无法签发令牌", "A token could not be issued"),
    ("操作未完成", "Not done"),
    // The promoter app.
    ("首页", "Home"),
    ("选品", "Products"),
    ("我的商品", "My listings"),
    ("推广链接", "Share links"),
    ("订单", "Orders"),
    ("收益", "Earnings"),
    ("数据", "Figures"),
    ("开店资格：", "Eligibility: "),
    ("下一步：", "Next: "),
    ("（信用分 {}", " (credit score {}"),
    ("，开店门槛：高于 {}）", ", threshold: above {})"),
    ("可以开店了：填写店名，开一家自己的小店。", "You may open a shop: give it a name."),
    (
        "去「选品」把好物加进小店，再到「推广链接」分享给朋友。",
        "Add products under Products, then share them from Share links.",
    ),
    (
        "信用分高于开店门槛后即可开店；信用分更新后系统会自动重新评估。",
        "You can open a shop once your credit score is above the threshold; a new score is assessed automatically.",
    ),
    (
        "小店已暂停，分享链接暂不计佣；信用分恢复后自动恢复营业，已赚到的佣金不受影响。",
        "Your shop is suspended and its links earn nothing for now; it reopens when your score recovers. Money already earned stays yours.",
    ),
    (
        "还没有信用分记录：授权信用评估后，系统会自动判断能否开店。",
        "No credit score yet: once one is recorded, eligibility is decided automatically.",
    ),
    ("已上架", "Listed"),
    ("件商品", "products"),
    ("去选品", "Find products"),
    ("开一家小店", "Open a shop"),
    ("店名", "Shop name"),
    ("例如：小美的好物铺", "e.g. Mei's picks"),
    ("简介（可选）", "About (optional)"),
    ("开店", "Open the shop"),
    ("小店已开张", "Your shop is open"),
    ("请先开店", "Open your shop first"),
    ("我的收益", "My earnings"),
    ("已扣除 {} 技术服务费", "after the {} service fee"),
    ("均已扣除 {} 技术服务费", "all after the {} service fee"),
    ("预估", "Estimated"),
    ("可结算", "Settleable"),
    ("结算中", "In a payout"),
    ("已到账", "Paid"),
    ("查看明细", "Details"),
    ("搜索商品关键词", "Search products"),
    ("关键词", "Keyword"),
    ("类目，如 水果", "Category, e.g. fruit"),
    ("类目", "Category"),
    ("最低佣金率 %", "Minimum rate %"),
    ("最低佣金率", "Minimum rate"),
    ("搜索", "Search"),
    (
        "「每件到手」= 按当前佣金率、已扣除 {} 技术服务费后，每卖出一件（按标价）您可得的佣金。",
        "\"You keep\" is what one unit sold at list price earns you at the current rate, after the {} service fee.",
    ),
    ("开店后才能把商品加进小店。", "Open your shop to add products to it."),
    ("售价", "Price"),
    ("佣金率", "Rate"),
    ("每件到手", "You keep per unit"),
    ("推荐理由（可选）", "Why you recommend it (optional)"),
    ("推荐理由", "Why you recommend it"),
    ("加入小店", "Add to my shop"),
    ("没有符合条件的商品。", "No product matches."),
    ("下一页", "Next page"),
    ("已加入小店", "Added to your shop"),
    ("最低佣金率：请填写 0 到 100 之间的百分数", "Minimum rate: a percentage from 0 to 100"),
    ("小店已上架", "Your shop lists"),
    ("件商品（最多 {} 件）。", "products (at most {})."),
    ("保存理由", "Save"),
    ("上移", "Move up"),
    ("移除", "Remove"),
    ("小店里还没有商品，去", "Your shop has no products yet: go to"),
    ("吧。", "."),
    ("推荐理由已保存", "Saved"),
    ("这件商品已不在小店中", "This product is no longer in your shop"),
    ("已经在最前面", "Already first"),
    ("顺序已调整", "Moved"),
    ("已从小店移除", "Removed from your shop"),
    ("生成推广链接", "Create a share link"),
    ("分享到", "Share on"),
    ("推广内容", "Link to"),
    ("整个小店", "The whole shop"),
    ("单件商品", "One product"),
    ("生成链接", "Create the link"),
    ("开店后才能生成推广链接。", "Open your shop to create share links."),
    ("已撤回", "Revoked"),
    ("链接地址", "Link"),
    ("复制链接", "Copy link"),
    ("二维码", "QR code"),
    ("链接已生成：复制链接或保存二维码分享出去", "Link created: copy it or save the QR code to share"),
    ("开始日期", "From"),
    ("结束日期（不含）", "To (exclusive)"),
    ("查看", "Show"),
    ("日期格式：YYYY-MM-DD", "Dates as YYYY-MM-DD"),
    (
        "佣金为扣除技术服务费前的金额；订单按付款时间、点击按点击时间计入。",
        "Commission is before the service fee; orders count by payment time, clicks by click time.",
    ),
    ("按渠道", "By channel"),
    ("按链接", "By link"),
    ("渠道", "Channel"),
    ("链接", "Link"),
    ("点击", "Clicks"),
    ("佣金", "Commission"),
    (
        "「到手」为扣除 {} 技术服务费后的佣金；买家信息已隐藏。",
        "\"You keep\" is the commission after the {} service fee; buyers are masked.",
    ),
    ("买家", "Buyer"),
    ("实付", "Paid"),
    ("到手", "you keep"),
    ("还没有订单。分享链接后，买家下单就会出现在这里。", "No orders yet. Share a link: buyers' orders appear here."),
    ("商品", "Product"),
    ("订单行", "Order line"),
    ("状态", "State"),
    ("为什么归您", "Why it is yours"),
    ("分享码", "Share code"),
    ("买家点击时间", "Buyer clicked at"),
    ("归属期 {} 天", "window {} days"),
    ("付款时间", "Paid at"),
    ("已退款", "Refunded"),
    ("佣金率（付款时）", "Rate (at payment)"),
    ("返回订单", "Back to orders"),
    ("预估（买家未收货）", "Estimated (not yet received)"),
    ("结算中（待付款）", "In a payout (to be paid)"),
    ("待扣回（售后退款）", "Owed back (refunds after payout)"),
    ("已代扣个税", "Tax withheld"),
    ("您的付款暂被冻结，请联系平台。", "Your payouts are on hold; please contact the platform."),
    ("还没有设置收款信息：设置前付款会暂缓。", "No payout details yet: payouts wait until you set them."),
    ("付款记录", "Payouts"),
    ("结算期", "Period"),
    ("金额", "Amount"),
    ("付款流水", "Payment reference"),
    ("暂无", "None yet"),
    ("至", "to"),
    // The supplier portal.
    ("供应商后台", "Supplier portal"),
    ("小铺供应商", "Xiaopu supplier"),
    ("商品库", "My catalog"),
    ("佣金支出", "Commission charged"),
    ("佣金预算", "Commission budgets"),
    ("月份", "Month"),
    ("预算即将用完或已用完：", "A budget is nearly or fully spent: "),
    ("。用完后，新订单不再计佣金。", ". Once spent, new orders earn no commission."),
    ("范围", "Scope"),
    ("每月上限", "Monthly cap"),
    ("已用", "Spent"),
    ("剩余", "Left"),
    ("进度", "Progress"),
    ("未计佣金的订单行", "Lines refused"),
    ("还没有预算：佣金不设上限。", "No budgets: commission is not capped."),
    ("设置预算", "Set a budget"),
    ("全部商品", "All products"),
    ("每月上限（元）", "Monthly cap (yuan)"),
    (
        "预算按自然月计，当月已有订单的佣金计入。同一范围再次设置即修改上限。用到 80% 时提醒；用完后新订单不计佣金，已计的不受影响。",
        "A budget runs per calendar month and counts the month's orders so far. Setting the same scope again changes its cap. You are warned at 80 %; once spent, new orders earn nothing, and what was earned stays.",
    ),
    ("每月上限：请填写金额，如 5000（元）", "Monthly cap: type an amount, e.g. 5000 (yuan)"),
    ("预算已设置", "Budget set"),
    ("预算已解除", "Budget lifted"),
    ("创建口令", "Create a promo code"),
    ("口令", "Promo code"),
    (
        "口令已创建：买家在下单时或“输入口令”页输入即可",
        "Promo code created: buyers type it at checkout or on the “Enter a code” page",
    ),
    (
        "口令由你来定（4 到 16 位字母和数字，如 XIAOMEI88），适合直播口播：买家下单时或在“输入口令”页输入，订单就算你的。",
        "You choose the code (4 to 16 letters and digits, e.g. XIAOMEI88), easy to say on a live stream: buyers type it at checkout or on the “Enter a code” page, and the order is yours.",
    ),
    ("复制口令", "Copy the code"),
    ("已撤回：之后的订单不再通过它计佣", "Revoked: later orders no longer earn through it"),
    ("撤回", "Revoke"),
    ("用在", "Used on"),
    ("请稍后再试", "Please try again later"),
    ("输入口令", "Enter a code"),
    ("输入推广者给你的口令，进入他的小店。", "Type the code a promoter gave you to open their shop."),
    ("输错的口令太多了，请过几分钟再试。", "Too many wrong codes; try again in a few minutes."),
    ("进入小店", "Open the shop"),
    ("请输入口令", "Please type a code"),
    ("没有这个口令，请检查后再试", "No such code; check it and try again"),
    ("风控", "Risk"),
    ("风控审核", "Risk review"),
    (
        "风控规则在归因时暂扣可疑订单的佣金：暂扣期间不结算、不付款。放行后照常结算；作废后不计佣金。每个决定都记录操作人和说明。",
        "Risk rules hold a suspicious line's commission at attribution: while held it neither settles nor is paid. Released, it settles as usual; voided, it earns nothing. Every decision is recorded with who made it and why.",
    ),
    ("待审核", "To review"),
    ("已放行", "Released"),
    ("已作废", "Voided"),
    ("放行", "Release"),
    ("作废", "Void"),
    ("记录", "Record"),
    ("依据", "Evidence"),
    ("标记时间", "Flagged at"),
    ("没有记录。", "Nothing here."),
    ("被标记的推广者", "Flagged promoters"),
    (
        "被标记的推广者，新订单的佣金都会暂扣，直到解除标记。",
        "A flagged promoter's new lines are held until the flag is cleared.",
    ),
    ("没有被标记的推广者。", "No flagged promoters."),
    ("解除标记", "Clear the flag"),
    ("已作废 {}：不计佣金", "Voided {}: it earns nothing"),
    ("已放行 {}：照常结算", "Released {}: it settles as usual"),
    ("已解除 {} 的风控标记", "Cleared {}'s risk flag"),
    ("同一买家短时间内多次下单", "Many orders from one buyer in a short time"),
    ("首次点击后数秒内付款", "Paid seconds after the first click"),
    ("推广者退款率过高", "The promoter's refund rate is high"),
    ("其他规则", "Another rule"),
    ("暂扣", "held"),
    ("标记", "flagged"),
    ("处理", "decided"),
    ("推广等级", "Promoter groups"),
    (
        "等级里的推广者按等级规则计佣：在商品佣金率上加，或替代商品佣金率。订单按付款时所在等级和当时生效的规则计佣。",
        "Promoters in a group earn by the group's rules: an uplift on the product's rate, or a rate instead of it. An order earns by the groups and rules in force when it was paid.",
    ),
    ("等级", "Group"),
    ("加入方式", "How promoters join"),
    ("当前成员", "Members now"),
    ("生效规则", "Rules in force"),
    ("还没有等级：所有推广者按商品佣金率计佣。", "No groups: every promoter earns the product's rate."),
    ("新建等级", "Create a group"),
    ("名称", "Name"),
    ("上月佣金达到（元，留空为手动加入）", "Joins at last month's commission of (yuan; empty: by hand)"),
    ("上月佣金达到 {} 自动加入当月", "Joins for the month at {} of last month's commission"),
    ("手动加入", "Added by hand"),
    ("手动", "By hand"),
    ("按上月佣金", "By last month's commission"),
    ("等级已创建", "Group created"),
    ("等级已保存", "Group saved"),
    ("规则", "Rules"),
    ("方式", "How"),
    ("比例", "Rate"),
    ("比例（%）", "Rate (%)"),
    ("比例：请填写百分数，如 1.5", "Rate: type a percentage, e.g. 1.5"),
    ("还没有规则：成员按商品佣金率计佣。", "No rules: members earn the product's rate."),
    ("品类", "Category"),
    ("品类：{}", "Category: {}"),
    ("单个商品", "One product"),
    ("添加规则", "Add a rule"),
    ("规则已添加", "Rule added"),
    ("已被取代", "Superseded"),
    (
        "规则是历史：不修改、不删除，同一范围的新规则生效后取代旧规则；加 0% 即停止加佣。单个商品的规则优先于品类，品类优先于全部商品。",
        "Rules are history: never edited or deleted; a new rule for the same scope supersedes the old one from its moment, and an uplift of 0% ends one. A product's rule beats its category's, which beats the whole catalogue's.",
    ),
    ("成员", "Members"),
    ("加入时间", "Joined"),
    ("离开时间", "Left"),
    ("移出", "Remove"),
    ("还没有成员。", "No members yet."),
    ("推广者编号", "Promoter id"),
    ("加入等级", "Add to the group"),
    ("推广者已加入", "Promoter added"),
    ("推广者已移出", "Promoter removed"),
    ("修改等级", "Edit the group"),
    (
        "自动加入门槛：请填写金额，如 1000（元），或留空",
        "Joining bar: type an amount, e.g. 1000 (yuan), or leave it empty",
    ),
    (
        "供应商可以把推广者加入等级：等级里的商品按等级的佣金率计佣，以付款时为准。",
        "Suppliers may put you in a group: their products then earn the group's rate, as it stood when an order was paid.",
    ),
    ("加入于", "Joined"),
    ("暂无生效的规则", "No rule in force"),
    ("还没有加入任何等级：按商品佣金率计佣。", "You are in no group: you earn the products' rates."),
    ("佣金率 {}", "Rate {}"),
    ("佣金率加 {}", "Rate plus {}"),
    ("当前佣金率", "Rate now"),
    ("上架小店数", "Shops listing it"),
    ("库存", "Stock"),
    ("还没有商品。", "No products yet."),
    ("发布新商品", "Publish a product"),
    ("发布", "Publish"),
    ("标题", "Title"),
    ("描述", "Description"),
    ("售价（元）", "Price (yuan)"),
    ("图片（每行一个 https 地址，最多 9 张）", "Images (one https URL a line, at most 9)"),
    ("未设置", "Not set"),
    ("售价：请填写金额，如 39.90（元）", "Price: an amount in yuan, e.g. 39.90"),
    ("商品已发布：再设置佣金率，店主就能选品了", "Published: set a commission rate so promoters can list it"),
    ("这不是您的商品", "This is not your product"),
    ("当前佣金率：", "Rate now: "),
    ("生效时间", "Effective from"),
    ("设置于", "Set at"),
    ("取消", "Cancel"),
    ("还没有设置佣金率：设置后店主才能选品。", "No rate yet: promoters can list it once one is set."),
    ("佣金率（%）", "Rate (%)"),
    ("生效时间（留空为立即生效）", "Effective from (empty: now)"),
    ("设置", "Set"),
    (
        "佣金率是历史：订单按付款时生效的佣金率计佣。尚未生效的佣金率可以取消。",
        "Rates are history: an order earns the rate in force when it was paid. A rate not yet in force can be cancelled.",
    ),
    ("编辑商品", "Edit the product"),
    ("保存", "Save"),
    ("下架原因", "Why withdraw"),
    ("下架商品", "Withdraw"),
    (
        "下架后商品从所有小店消失，不再计佣；已产生的订单不受影响。",
        "Withdrawn products leave every shop and earn nothing more; orders already paid keep their commission.",
    ),
    ("返回商品库", "Back to my catalog"),
    ("已取消", "Cancelled"),
    ("待生效", "Scheduled"),
    ("生效中", "In force"),
    ("已失效", "Superseded"),
    ("商品已保存", "Saved"),
    ("商品已下架，{} 家小店的上架随之结束", "Withdrawn: {} shops stopped listing it"),
    ("佣金率：请填写百分数，如 5.5", "Rate: a percentage, e.g. 5.5"),
    ("生效时间：请选择日期和时间", "Effective from: choose a date and time"),
    ("佣金率已设置", "Rate set"),
    ("待生效的佣金率已取消", "The scheduled rate is cancelled"),
    ("从", "From"),
    ("至（不含）", "To (exclusive)"),
    ("订单行数", "Order lines"),
    ("佣金支出（扣除退款后）", "Commission charged (after refunds)"),
    ("其中：平台技术服务费", "of which the platform's service fee"),
    ("其中：推广者所得", "of which the promoters' share"),
    ("订单明细", "Order lines"),
    ("这段时间没有订单。", "No orders in this period."),
    // The finance console.
    ("财务控制台", "Finance console"),
    ("· 小铺", "· Xiaopu"),
    ("小铺财务", "Xiaopu finance"),
    ("付款批次", "Payout batches"),
    ("冻结", "Holds"),
    ("对账", "Reconcile"),
    ("批次", "Batch"),
    ("应付", "To pay:"),
    ("笔，合计", "lines, total"),
    ("（已扣个税", "(tax withheld"),
    ("）；结转", "); carried forward"),
    ("笔；暂缓", "lines; held"),
    ("笔；创建", "lines; created by"),
    ("；审批", "; approved by"),
    ("；冻结未入批：", "; on hold, not in the batch: "),
    ("审批", "Approve"),
    ("你创建了这个批次，须由另一位财务审批。", "You created this batch: another finance user must approve it."),
    ("导出付款文件", "Export the payout file"),
    ("导出明细文件", "Export the detail file"),
    ("推广者", "Promoter"),
    ("结算分成", "Settled share"),
    ("服务费", "Service fee"),
    ("补发", "Re-issued"),
    ("扣回", "Netted back"),
    ("代扣个税", "Tax withheld"),
    ("付款流水号", "Payment reference"),
    ("记为已付", "Record as paid"),
    ("失败原因", "Why it failed"),
    ("记为失败", "Record as failed"),
    ("这个批次没有付款行。", "This batch has no payout lines."),
    ("冻结的推广者", "Promoters on hold"),
    (
        "被冻结的推广者不进入付款批次，直到解除冻结。",
        "A promoter on hold is left out of payout batches until released.",
    ),
    ("原因", "Reason"),
    ("解除", "Release"),
    ("解除原因", "Why released"),
    ("没有冻结记录。", "No holds."),
    ("结算期从", "Period from"),
    ("到（不含）", "to (exclusive)"),
    ("结算并生成批次", "Close and make the batch"),
    ("全部", "All"),
    ("结算期开始于", "Periods starting"),
    ("之前", "before"),
    ("筛选", "Filter"),
    ("应付笔数", "Lines to pay"),
    ("应付合计", "Total to pay"),
    ("结转", "Carried forward"),
    ("已付", "Paid"),
    ("失败", "Failed"),
    ("创建", "Created by"),
    ("还没有批次。", "No batches yet."),
    ("更早的批次", "Older batches"),
    ("每月佣金（按状态）", "Commission by month (by stage)"),
    ("每月佣金按状态", "Commission by month and stage"),
    (
        "按订单付款月份，推广者分成所处的阶段；每一分钱只在一段里。",
        "By the month orders were paid: the stage the promoters' share is in now; each fen is in one segment.",
    ),
    ("资金去向", "Where the money is"),
    ("阶段", "Stage"),
    ("分成", "Share"),
    ("付款行", "Payout line"),
    ("说明", "Note"),
    ("结算尚未记账。", "Settlement has not booked it yet."),
    ("资金流水", "Journal"),
    ("时间", "Time"),
    ("类型", "Kind"),
    ("科目", "Account"),
    ("对象", "Party"),
    ("金额（借正贷负）", "Amount (debit +, credit −)"),
    ("没有记账。", "Nothing booked."),
    ("还没有关闭过结算期。", "No period has been closed yet."),
    ("下一个结算期从", "The next period starts at"),
    ("开始。", "."),
    ("关闭人", "Closed by"),
    ("关闭时间", "Closed at"),
    ("还没有结算期。", "No periods yet."),
    ("更早的结算期", "Older periods"),
    ("冻结中", "On hold"),
    ("收款信息：", "Payout details: "),
    ("冻结记录", "Holds"),
    ("流水号", "Reference"),
    ("还没有付款。", "No payouts yet."),
    ("没有订单行。", "No order lines."),
    ("更早的订单行", "Older order lines"),
    ("对账单", "Reconciliation statement"),
    ("生成对账单", "Make the statement"),
    ("账实相符", "The books agree"),
    ("有差异", "Discrepancies"),
    ("逐笔核对订单行", "Order lines checked one by one:"),
    ("笔。", "."),
    ("差异（", "Discrepancies ("),
    ("应为", "Expected"),
    ("实为", "Actual"),
    ("没有差异。", "No discrepancies."),
    ("在途（", "In flight ("),
    ("结算已处理归因的全部变更。", "Settlement has applied every change from attribution."),
    ("结算还有", "Settlement has"),
    ("条归因变更未处理，最早的已等待", "changes from attribution still to apply; the oldest has waited"),
    (
        "秒；下列订单行的差别来自这些变更，处理后自然一致，不算差异。",
        "seconds. The lines below differ because of them and will agree once they are applied: not discrepancies.",
    ),
    ("归因", "Attribution"),
    ("账本", "Ledger"),
    ("没有在途的订单行。", "No order lines in flight."),
    ("期初", "Opening"),
    ("本期赚取", "Earned"),
    ("冲回", "Reversed"),
    ("期末", "Closing"),
    ("平衡", "Balanced"),
    ("本期", "This period"),
    ("待审批", "Awaiting approval"),
    ("已审批", "Approved"),
    ("已导出", "Exported"),
    ("已付款", "Paid"),
    ("部分付款", "Partly paid"),
    ("未知", "Unknown"),
    ("待付款", "To be paid"),
    ("暂缓", "Held"),
    ("结算期已关闭，批次已生成", "The period is closed and its batch made"),
    ("这个结算期之前已关闭，这是它的批次", "This period was closed before: here is its batch"),
    ("批次已审批", "The batch is approved"),
    ("已记为已付", "Recorded as paid"),
    ("已记为失败，将在下个批次补发", "Recorded as failed: it is re-issued in the next batch"),
    ("已结算（含已付）", "Settled (including paid)"),
    ("最高 ¥{}", "Highest ¥{}"),
    ("已结算", "Settled"),
    ("已付 {}，退款后应扣回 {}", "Paid {}; owed back {} after refunds"),
    ("应扣回 {}", "Owed back {}"),
    ("支付宝", "Alipay"),
    ("微信支付", "WeChat Pay"),
    ("银行卡", "Bank card"),
    ("已结算待付", "Settled, to be paid"),
    ("推送", "Webhooks"),
    ("推送设置", "Webhooks"),
    ("签名密钥", "Signing secret"),
    (
        "您的系统用它校验每次推送的签名。它只显示这一次，请现在保存。",
        "Your system checks each delivery's signature with it. It is shown this once: keep it now.",
    ),
    ("添加推送地址", "Add a webhook"),
    (
        "发生以下事件时，小铺向您的系统发送带签名的通知（说明见 docs/webhooks.md）。",
        "When these events happen, Xiaopu sends your system a signed notice (see docs/webhooks.md).",
    ),
    ("接收地址", "Receiving URL"),
    ("通知的事件", "Events to send"),
    ("添加", "Add"),
    ("已删除", "Deleted"),
    ("添加于", "added"),
    ("删除", "Delete"),
    ("事件", "Event"),
    ("尝试次数", "Attempts"),
    ("最后一次结果", "Last answer"),
    ("重新发送", "Send again"),
    ("还没有推送记录。", "Nothing sent yet."),
    ("还没有推送地址。", "No webhooks yet."),
    ("推送地址已添加：请保存签名密钥，它只显示这一次", "Webhook added: keep its signing secret, shown this once"),
    ("推送地址已删除", "Webhook deleted"),
    ("已重新排队发送", "Queued to be sent again"),
    ("应扣回", "Owed back"),
    ("未设置收款信息：付款行将暂缓（PAYEE_MISSING）", "No payout details: payout lines are held (PAYEE_MISSING)"),
    ("{} 于 {} 解除：{}", "Released by {} at {}: {}"),
    ("{}（解除：{}）", "{} (released: {})"),
    ("已冻结 {}", "{} is on hold"),
    ("已解除 {} 的冻结", "{} is released"),
    ("账本缺失", "Missing in the ledger"),
    ("归因缺失", "Missing in attribution"),
    ("佣金不符", "Commission differs"),
    ("账不平", "Does not balance"),
    ("确认收货", "Received at"),
    ("判定时间", "Decided at"),
    // The buyer's shop pages.
    ("{} 的小店", "{}'s shop"),
    ("{} 件好物", "{} picks"),
    ("推荐理由：", "Why it's recommended: "),
    ("暂时缺货", "Out of stock for now"),
    ("去购买", "Buy"),
    ("{} 推荐", "Recommended by {}"),
    ("链接不存在或已失效", "This link does not exist or has expired"),
    (
        "这个分享链接找不到了，可能已被店主撤回。请向分享给你的朋友要一个新链接。",
        "This share link cannot be found; the shop owner may have revoked it. Ask the friend who shared it for a new one.",
    ),
    ("服务繁忙", "Busy"),
    ("页面暂时打不开，请稍后刷新重试。", "The page cannot open right now; reload it in a moment."),
    ("二维码生成失败", "No QR code"),
    ("链接太长，无法生成二维码。", "The link is too long for a QR code."),
    ("商品已下架", "This product is gone"),
    ("这件商品已经下架或不在店里了。", "This product has been withdrawn or is no longer in the shop."),
    ("小店暂停营业", "The shop is closed for now"),
    ("这家小店暂时关闭了，过段时间再来看看吧。", "This shop is closed for now; come back later."),
    ("页面地址有误", "The address is wrong"),
    ("请从分享的链接重新打开。", "Open the shared link again."),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` / `t1("…"` in the templates and the code has English.
    #[test]
    fn every_page_text_has_english() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let dirs = ["templates", "templates/app", "templates/supplier", "templates/console", "src", "src/promoter"];
        for dir in dirs.iter().chain(&["src/supplier", "src/console"]) {
            for entry in std::fs::read_dir(root.join(dir)).expect("dir").flatten() {
                if entry.path().is_file() {
                    files.push(entry.path());
                }
            }
        }
        let mut missing = Vec::new();
        let mut seen = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for marker in [".t(\"", ".t1(\"", ".tf(\""] {
                for (at, _) in text.match_indices(marker) {
                    let rest = &text[at + marker.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let key = &rest[..end];
                    if key.is_empty() || key.contains('…') {
                        continue;
                    }
                    seen += 1;
                    if !EN.iter().any(|(zh, _)| *zh == key) {
                        missing.push(format!("{}: {key}", file.display()));
                    }
                }
            }
        }
        assert!(seen > 100, "the scan found only {seen} texts");
        assert!(missing.is_empty(), "page text without English:\n{}", missing.join("\n"));
    }

    #[test]
    fn each_text_has_one_english() {
        let mut keys: Vec<&str> = EN.iter().map(|(zh, _)| *zh).collect();
        keys.sort_unstable();
        let all = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), all, "a text listed twice");
    }

    #[test]
    fn the_switch_returns_to_this_site_only() {
        assert_eq!(local_path("/app/orders?page=2").as_deref(), Some("/app/orders?page=2"));
        for elsewhere in ["//evil.example/x", "https://evil.example/", "/\\evil", ""] {
            assert_eq!(local_path(elsewhere), None, "{elsewhere}");
        }
    }

    #[test]
    fn chinese_is_the_default_and_english_is_looked_up() {
        assert_eq!(Lang::default().t("首页"), "首页");
        assert_eq!(Lang(Language::English).t("首页"), "Home");
        assert_eq!(Lang(Language::English).t1("已扣除 {} 技术服务费", "10.00%"), "after the 10.00% service fee");
        assert_eq!(Lang(Language::English).words("CHANNEL_WECHAT"), "WeChat group");
    }
}
