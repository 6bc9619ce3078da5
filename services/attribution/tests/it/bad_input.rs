use tonic::Code;
use xiaopu_api::attribution::{self as pb, EventOutcome};
use xiaopu_common::{auth::Role, testing::authed};

use crate::support::{click, cny, days, line, paid, refund, spawn};

#[tokio::test]
async fn bad_events_are_refused_by_name_and_the_rest_of_the_batch_applies() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    app.clock.advance(days(5));
    let p = w.product.as_str();
    let mut zero = line("z1", p, "s1", 100);
    zero.paid_amount = cny(0);
    let mut negative = line("n1", p, "s1", 100);
    negative.paid_amount = cny(-5);
    let mut dollars = line("d1", p, "s1", 100);
    dollars.paid_amount = Some(xiaopu_api::types::Money { minor_units: 100, currency: "USD".into() });
    let results = app
        .ingest(vec![
            click("c1", &w.code, "b1", s + days(1)),
            paid("", "b2", s + days(1), "", vec![line("x1", p, "s1", 100)]),
            paid("o3", "b3", s + days(1), "", vec![line("ok3", p, "s1", 100), zero]),
            paid("o4", "b4", s + days(1), "", vec![negative]),
            paid("o5", "b5", s + days(1), "", vec![dollars]),
            paid("o6", "b6", s + days(1), "", vec![line("u1", &uuid::Uuid::new_v4().to_string(), "s1", 100)]),
            paid("o7", "b7", s + days(1), &w.code, vec![line("l7", p, "s1", 10000)]),
            refund("r-over", "o7", "l7", 10001, s + days(2)),
            refund("r-ok", "o7", "l7", 4000, s + days(2)),
            pb::OrderEvent { event: None },
            paid("o8", "b8", s + days(1), "", vec![line("l8", p, "wrong-supplier", 100)]),
        ])
        .await;
    let outcome = |i: usize| (results[i].outcome(), Code::from(results[i].code), results[i].field.as_str());
    assert_eq!(outcome(0).0, EventOutcome::Applied);
    assert_eq!(outcome(1), (EventOutcome::Rejected, Code::InvalidArgument, "order_paid.order_id"));
    assert_eq!(
        outcome(2),
        (EventOutcome::Rejected, Code::InvalidArgument, "order_paid.lines[1].paid_amount.minor_units")
    );
    assert_eq!(
        outcome(3),
        (EventOutcome::Rejected, Code::InvalidArgument, "order_paid.lines[0].paid_amount.minor_units")
    );
    assert_eq!(outcome(4), (EventOutcome::Rejected, Code::InvalidArgument, "order_paid.lines[0].paid_amount.currency"));
    assert_eq!(outcome(5), (EventOutcome::Rejected, Code::FailedPrecondition, "order_paid.lines[0].product_id"));
    assert!(results[5].message.contains("u1"), "names the line: {}", results[5].message);
    assert_eq!(outcome(6).0, EventOutcome::Applied);
    assert_eq!(outcome(7), (EventOutcome::Rejected, Code::FailedPrecondition, "refund.refunded_amount.minor_units"));
    assert!(
        results[7].message.contains("l7") && results[7].message.contains("above the 10000 paid"),
        "{}",
        results[7].message
    );
    assert_eq!(outcome(8).0, EventOutcome::Applied);
    assert_eq!(outcome(9), (EventOutcome::Rejected, Code::InvalidArgument, "event"));
    assert_eq!(outcome(10), (EventOutcome::Rejected, Code::InvalidArgument, "order_paid.lines[0].supplier_id"));

    // Nothing of a refused order was kept; the good ones were.
    let pool = app.pool().await;
    let (orders,): (i64,) = sqlx::query_as("SELECT count(*) FROM paid_order").fetch_one(&pool).await.expect("count");
    assert_eq!(orders, 1);
    let (l7, _) = app.line("l7").await;
    assert_eq!(l7.refunded_amount.expect("refunded").minor_units, 4000);
    assert_eq!(l7.commission.expect("c").minor_units, 330, "550 bps of the 6000 that remain");

    // A retry of the refused refund answers the same; of the good one, duplicate.
    let again = app
        .ingest(vec![refund("r-over", "o7", "l7", 10001, s + days(2)), refund("r-ok", "o7", "l7", 4000, s + days(2))])
        .await;
    assert_eq!(again[0].outcome(), EventOutcome::Rejected);
    assert_eq!(again[1].outcome(), EventOutcome::Duplicate);

    let too_many = pb::IngestEventsRequest { events: vec![pb::OrderEvent { event: None }; 5001] };
    let err = app.client().ingest_events(authed(too_many, Role::Service, "orders")).await.expect_err("too many");
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = app
        .client()
        .ingest_events(authed(pb::IngestEventsRequest { events: vec![] }, Role::Promoter, "p1"))
        .await
        .expect_err("promoter");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn early_confirmations_and_refunds_wait_for_their_payment() {
    let app = spawn().await;
    let w = app.world().await;
    let s = w.since;
    app.clock.advance(days(5));
    let early = app
        .ingest(vec![refund("r1", "o1", "l1", 9950, s + days(3)), crate::support::confirmed("o1", s + days(2))])
        .await;
    assert_eq!(early[0].outcome(), EventOutcome::Pending);
    assert_eq!(early[1].outcome(), EventOutcome::Pending);
    let late =
        app.ingest(vec![paid("o1", "b1", s + days(1), &w.code, vec![line("l1", &w.product, "s1", 19900)])]).await;
    assert_eq!(late[0].outcome(), EventOutcome::Applied);
    let (l, _) = app.line("l1").await;
    assert_eq!(l.state(), pb::LineState::Received);
    assert_eq!(l.refunded_amount.expect("r").minor_units, 9950);
    assert_eq!(l.commission.expect("c").minor_units, 547, "DOMAIN.md's worked example: 547.25 → 547");
}
