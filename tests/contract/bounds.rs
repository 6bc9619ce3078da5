//! Requests at the edges of what a client can send, through real clients: a
//! thousand-fold invalid request still gets a readable answer of bounded size, and
//! times no real order or page could carry are refused by validation naming the
//! field, never by the database.
use base64::Engine as _;
use tonic::Code;
use xiaopu_api::{attribution as at, storefront as sf};
use xiaopu_common::{
    auth::Role,
    error::{MAX_VIOLATIONS_LISTED, status_details},
    testing::authed,
    time::to_timestamp,
};
use xiaopu_testkit::{Options, Stack, events};

#[tokio::test]
async fn ten_thousand_bad_fields_get_a_small_readable_answer() {
    let stack = Stack::spawn(Options::default()).await;
    let world = stack.world().await;
    let paths: Vec<String> = (0..10_000).map(|i| format!("no_such_field_{i}")).collect();
    let request = sf::UpdateProductRequest {
        product_id: world.product,
        update_mask: Some(prost_types::FieldMask { paths }),
        ..Default::default()
    };
    let err = stack.storefront().update_product(authed(request, Role::Supplier, "s1")).await.expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let (_, fields) = status_details(&err);
    assert_eq!(fields.len(), MAX_VIOLATIONS_LISTED + 1, "{fields:?}");
    assert_eq!(fields[0].field, "update_mask.paths[0]");
    assert!(fields[MAX_VIOLATIONS_LISTED].rule.starts_with("9990 more violations"), "{fields:?}");
    assert!(err.details().len() < 8 * 1024, "details of {} bytes", err.details().len());
}

#[tokio::test]
async fn a_payment_in_year_one_is_refused_by_name() {
    let stack = Stack::spawn(Options::default()).await;
    let world = stack.world().await;
    let year_one = chrono::DateTime::from_timestamp(-62_135_596_800, 0).expect("0001-01-01");
    let line = events::line("l-1", &world.product, &world.supplier, 19900);
    let results = stack.ingest(vec![events::paid("o-1", "b-1", year_one, "", vec![line])]).await;
    assert_eq!(results[0].outcome, at::EventOutcome::Rejected as i32, "{results:?}");
    assert_eq!(results[0].code, Code::InvalidArgument as i32);
    assert_eq!(results[0].field, "order_paid.paid_at");
    assert!(results[0].message.contains("between 2000-01-01 and 2199-12-31"), "{results:?}");
    assert_eq!(to_timestamp(year_one).seconds, -62_135_596_800);
}

#[tokio::test]
async fn a_forged_page_token_from_year_minus_262143_is_refused_as_a_token() {
    let stack = Stack::spawn(Options::default()).await;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"["-262143-01-01T00:00:00Z","l-1"]"#);
    let request = at::ListPromoterLinesRequest { promoter_id: "p1".into(), page_size: 10, page_token: forged };
    let err = stack.attribution().list_promoter_lines(authed(request, Role::Promoter, "p1")).await.expect_err("forged");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(status_details(&err).1.first().map(|f| f.field.as_str()), Some("page_token"), "{err:?}");
}
