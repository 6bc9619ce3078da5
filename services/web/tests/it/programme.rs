//! Running a programme in the portal and the app: a supplier's budgets (a month's
//! spend with the 80 % warning, a typing mistake answered in words, lifting one) and
//! promoter groups (created, given a rule and a member, seen by the promoter).
use hyper::StatusCode;
use xiaopu_common::{auth::Role, testing::token};
use xiaopu_testkit::{
    Options,
    events::{line, paid},
};

use crate::harness::Web;

#[tokio::test]
async fn a_supplier_sets_a_budget_sees_the_warning_and_lifts_it() {
    let web = Web::start(Options::default()).await;
    let w = web.stack.world().await;
    let signed_in = web.post("/supplier/sign-in", &[("token", &token(Role::Supplier, "s1"))], &[]).await;
    let cookies = signed_in.cookies();
    let page = web.get("/supplier/budgets", &cookies).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("还没有预算") && page.body.contains("Longjing tea"), "{}", page.body);
    let form_id = request_id(&page.body);

    let typo = web
        .post("/supplier/budgets", &[("csrf", &page.csrf()), ("request_id", &form_id), ("cap", "十二")], &cookies)
        .await;
    assert!(web.get(typo.location(), &cookies).await.body.contains("每月上限：请填写金额"));
    let form =
        [("csrf", page.csrf()), ("request_id", form_id.clone()), ("product_id", String::new()), ("cap", "12".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let set = web.post("/supplier/budgets", &form, &cookies).await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert!(web.get(set.location(), &cookies).await.body.contains("预算已设置"));

    // A sale earning 10.94 of the 12.00: past 80 %, warned.
    let sale = paid("o1", "b1", chrono::Utc::now(), &w.code, vec![line("o1-l", &w.product, "s1", 19900)]);
    web.stack.ingest(vec![sale]).await;
    let page = web.get("/supplier/budgets", &cookies).await;
    assert!(page.body.contains("预算即将用完或已用完：全部商品"), "{}", page.body);
    assert!(
        page.body.contains("¥10.94") && page.body.contains("91%") && page.body.contains("已用 80% 以上"),
        "{}",
        page.body
    );

    let english = web.get("/lang/en", &cookies).await;
    let mut with_english = cookies.clone();
    with_english.extend(english.cookies());
    assert!(web.get("/supplier/budgets", &with_english).await.body.contains("Monthly cap"));

    let budget = page.body.split("data-budget=\"").nth(1).and_then(|s| s.split('"').next()).expect("a budget row");
    let lifted = web.post(&format!("/supplier/budgets/{budget}/remove"), &[("csrf", &page.csrf())], &cookies).await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER);
    let after = web.get(lifted.location(), &cookies).await;
    assert!(after.body.contains("预算已解除") && after.body.contains("还没有预算"), "{}", after.body);
}

/// The value of the first hidden `request_id` on a page.
fn request_id(body: &str) -> String {
    body.split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a request id")
        .to_owned()
}

#[tokio::test]
async fn a_supplier_runs_a_group_and_its_promoter_sees_the_rate() {
    let web = Web::start(Options::default()).await;
    let _w = web.stack.world().await;
    let supplier = web.post("/supplier/sign-in", &[("token", &token(Role::Supplier, "s1"))], &[]).await.cookies();
    let page = web.get("/supplier/groups", &supplier).await;
    assert!(page.body.contains("还没有等级"), "{}", page.body);
    let form = [
        ("csrf", page.csrf()),
        ("request_id", request_id(&page.body)),
        ("name", "金牌推广".into()),
        ("promote_at", String::new()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = web.post("/supplier/groups", &form, &supplier).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let group = web.get(created.location(), &supplier).await;
    assert!(group.body.contains("等级已创建") && group.body.contains("<h1>金牌推广</h1>"), "{}", group.body);
    let path = created.location().split('?').next().expect("path").to_owned();

    let typo = [
        ("csrf", group.csrf()),
        ("request_id", request_id(&group.body)),
        ("scope", "all".into()),
        ("kind", "GROUP_RULE_KIND_UPLIFT".into()),
        ("rate", "x".into()),
    ];
    let typo: Vec<(&str, &str)> = typo.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = web.post(&format!("{path}/rules"), &typo, &supplier).await;
    assert!(web.get(refused.location(), &supplier).await.body.contains("比例：请填写百分数"));
    let rule = [
        ("csrf", group.csrf()),
        ("request_id", request_id(&group.body)),
        ("scope", "category".into()),
        ("category", "tea".into()),
        ("kind", "GROUP_RULE_KIND_UPLIFT".into()),
        ("rate", "1.5".into()),
    ];
    let rule: Vec<(&str, &str)> = rule.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let added = web.post(&format!("{path}/rules"), &rule, &supplier).await;
    let group = web.get(added.location(), &supplier).await;
    assert!(
        group.body.contains("规则已添加") && group.body.contains("品类：tea") && group.body.contains("1.50%"),
        "{}",
        group.body
    );
    assert!(group.body.contains("生效中"), "{}", group.body);
    let member =
        web.post(&format!("{path}/members"), &[("csrf", &group.csrf()), ("promoter_id", "p1")], &supplier).await;
    let group = web.get(member.location(), &supplier).await;
    assert!(group.body.contains("推广者已加入") && group.body.contains("<td>p1</td>"), "{}", group.body);

    let promoter = web.post("/app/sign-in", &[("token", &token(Role::Promoter, "p1"))], &[]).await.cookies();
    let mine = web.get("/app/groups", &promoter).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert!(mine.body.contains("金牌推广") && mine.body.contains("品类：tea：佣金率加 1.50%"), "{}", mine.body);
    let other = web.post("/app/sign-in", &[("token", &token(Role::Promoter, "p9"))], &[]).await.cookies();
    assert!(web.get("/app/groups", &other).await.body.contains("还没有加入任何等级"));

    let removed = web.post(&format!("{path}/members/p1/remove"), &[("csrf", &group.csrf())], &supplier).await;
    assert!(web.get(removed.location(), &supplier).await.body.contains("推广者已移出"));
    assert!(web.get("/app/groups", &promoter).await.body.contains("还没有加入任何等级"));
}

#[tokio::test]
async fn a_promoter_creates_a_promo_code_and_a_buyer_types_it_until_guessing_is_stopped() {
    let web = Web::start(Options::default()).await;
    let _w = web.stack.world().await;
    let promoter = web.post("/app/sign-in", &[("token", &token(Role::Promoter, "p1"))], &[]).await.cookies();
    let links = web.get("/app/links", &promoter).await;
    assert!(links.body.contains("创建口令"), "{}", links.body);
    let form = [
        ("csrf", links.csrf()),
        ("request_id", request_id(&links.body)),
        ("code", "xiaomei88".into()),
        ("channel", "6".into()),
        ("listing_id", String::new()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = web.post("/app/links/codes", &form, &promoter).await;
    let links = web.get(created.location(), &promoter).await;
    assert!(links.body.contains("口令已创建") && links.body.contains("XIAOMEI88"), "{}", links.body);

    let entry = web.get("/k", &[]).await;
    assert_eq!(entry.status, StatusCode::OK);
    assert!(entry.body.contains("输入口令"));
    let typed = web.post("/k", &[("code", "XiaoMei88")], &[]).await;
    assert_eq!((typed.status, typed.location()), (StatusCode::SEE_OTHER, "/s/XIAOMEI88"));
    let shop = web.get("/s/XIAOMEI88", &[]).await;
    assert_eq!(shop.status, StatusCode::OK, "{}", shop.body);
    let wrong = web.post("/k", &[("code", "NOSUCH01")], &[]).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    assert!(wrong.body.contains("没有这个口令"), "{}", wrong.body);
    for i in 0..9 {
        web.post("/k", &[("code", &format!("GUESS{i:03}"))], &[]).await;
    }
    let stopped = web.post("/k", &[("code", "XIAOMEI88")], &[]).await;
    assert_eq!(stopped.status, StatusCode::TOO_MANY_REQUESTS, "{}", stopped.body);
    assert!(stopped.body.contains("输错的口令太多了"));
}

#[tokio::test]
async fn finance_reviews_a_held_line_in_the_console_and_the_promoter_sees_it_held_until_then() {
    use xiaopu_testkit::events::click;
    let web = Web::start(Options::default()).await;
    let w = web.stack.world().await;
    let now = chrono::Utc::now();
    web.stack
        .ingest(vec![
            click("c1", &w.code, "quick", now),
            paid("o1", "quick", now, "", vec![line("o1-l", &w.product, "s1", 19900)]),
        ])
        .await;
    let promoter = web.post("/app/sign-in", &[("token", &token(Role::Promoter, "p1"))], &[]).await.cookies();
    assert!(web.get("/app/orders", &promoter).await.body.contains("风控审核中"));

    let fiona = web.sign_in("fiona").await;
    let risk = web.get("/console/risk", &fiona).await;
    assert_eq!(risk.status, StatusCode::OK, "{}", risk.body);
    assert!(risk.body.contains("data-line=\"o1-l\"") && risk.body.contains("首次点击后数秒内付款"), "{}", risk.body);
    let form = [("csrf", risk.csrf()), ("note", "regular customer".into()), ("decision", "release".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let released = web.post("/console/risk/o1-l", &form, &fiona).await;
    assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.body);
    let after = web.get(released.location(), &fiona).await;
    assert!(after.body.contains("已放行 o1-l") && !after.body.contains("data-line=\"o1-l\""), "{}", after.body);
    let history = web.get("/console/risk?state=released", &fiona).await;
    assert!(history.body.contains("fiona") && history.body.contains("regular customer"), "{}", history.body);
    assert!(!web.get("/app/orders", &promoter).await.body.contains("风控审核中"));
}
