//! The promoter app and the supplier portal each open to their own role only, keep
//! their session in a cookie of their own path, and refuse forms without the CSRF
//! token.
use hyper::StatusCode;
use xiaopu_api::storefront::{self as sf, storefront_service_client::StorefrontServiceClient};
use xiaopu_common::{
    auth::Role,
    testing::{authed, token},
};
use xiaopu_testkit::Options;

use crate::harness::Web;

#[tokio::test]
async fn each_area_takes_its_own_role_and_every_form_needs_the_csrf_token() {
    let web = Web::start(Options::default()).await;
    for (area, role, other) in [("/app", Role::Promoter, Role::Supplier), ("/supplier", Role::Supplier, Role::Promoter)]
    {
        let away = web.get(area, &[]).await;
        assert_eq!((away.status, away.location().to_owned()), (StatusCode::SEE_OTHER, format!("{area}/sign-in")));
        let wrong = web.post(&format!("{area}/sign-in"), &[("token", &token(other, "x"))], &[]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{area}: {}", wrong.body);
        assert!(wrong.body.contains("角色开放"), "{}", wrong.body);
        let finance = web.post(&format!("{area}/sign-in"), &[("token", &token(Role::Finance, "f"))], &[]).await;
        assert_eq!(finance.status, StatusCode::FORBIDDEN, "{area}: finance is not {role}");

        let signed_in = web.post(&format!("{area}/sign-in"), &[("token", &token(role, "someone"))], &[]).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{area}");
        let set = signed_in.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        assert!(set.iter().all(|c| c.contains(&format!("Path={area};")) && c.contains("HttpOnly")), "{set:?}");
        // The console does not take this area's cookie.
        let console = web.get("/console", &signed_in.cookies()).await;
        assert_eq!(console.status, StatusCode::SEE_OTHER, "{area}'s session opened the console");
    }

    // A promoter's form without the CSRF token opens no shop.
    let signed_in = web.post("/app/sign-in", &[("token", &token(Role::Promoter, "p1"))], &[]).await;
    let cookies = signed_in.cookies();
    let home = web.get("/app", &cookies).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    for csrf in ["", "forged"] {
        let refused = web.post("/app/shop", &[("csrf", csrf), ("name", "小店")], &cookies).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    let err = StorefrontServiceClient::new(web.stack.channels.storefront.clone())
        .get_my_shop(authed(sf::GetMyShopRequest {}, Role::Promoter, "p1"))
        .await
        .expect_err("no shop was opened");
    assert_eq!(err.code(), tonic::Code::NotFound);

    // The eligibility refusal (no score) comes back in words, with its code.
    let opened = web.post("/app/shop", &[("csrf", &home.csrf()), ("name", "小店")], &cookies).await;
    let page = web.get(opened.location(), &cookies).await;
    assert!(page.body.contains("信用分未达到开店要求") && page.body.contains("NOT_ELIGIBLE"), "{}", page.body);
}
