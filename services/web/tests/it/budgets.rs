//! The supplier portal's budgets: set one, see a month's spend with the 80 % warning,
//! a typing mistake answered in words, lift it.
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
    let request_id = page.body.split("name=\"request_id\" value=\"").nth(1).and_then(|s| s.split('"').next());
    let request_id = request_id.expect("the form's request id");

    let typo = web
        .post("/supplier/budgets", &[("csrf", &page.csrf()), ("request_id", request_id), ("cap", "十二")], &cookies)
        .await;
    assert!(web.get(typo.location(), &cookies).await.body.contains("每月上限：请填写金额"));
    let form = [
        ("csrf", page.csrf()),
        ("request_id", request_id.to_owned()),
        ("product_id", String::new()),
        ("cap", "12".into()),
    ];
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
