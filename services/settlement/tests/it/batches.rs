use tonic::Code;
use xiaopu_api::settlement::{self as pb, BatchLineStatus as S, BatchStatus};
use xiaopu_common::{auth::Role, error::status_details, testing::authed, time::to_timestamp};

use crate::support::{
    approve, as_finance, close, days, earnings, export, export_file, lines, minor, pay, refund, sale, sheet, spawn,
    sweep, verify,
};

#[tokio::test]
async fn a_period_closes_into_a_batch_approved_by_a_second_user_exported_and_paid() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(20));
    let s = w.since;
    sale(&stack, &w, "o1", 19900, s + days(1), s + days(2)).await;
    sale(&stack, &w, "o2", 12345, s + days(1), s + days(2)).await;
    assert_eq!(sweep(&stack).await, 2);

    let closed = close(&stack, s, s + days(15), "f1").await;
    assert!(closed.created);
    let batch = closed.batch.expect("batch");
    assert_eq!(batch.status(), BatchStatus::Draft);
    let again = close(&stack, s, s + days(15), "f2").await;
    assert!(!again.created);
    assert_eq!(
        again.batch.expect("batch").batch_id,
        batch.batch_id,
        "closing the same period twice returns the same batch"
    );

    let paid_lines = lines(&stack, &batch.batch_id).await;
    assert_eq!(paid_lines.len(), 1);
    let line = &paid_lines[0];
    // 1094 → fee 109, share 985; 12345 at 550 bps is 679 → fee 68, share 611.
    assert_eq!(
        (minor(&line.settled_share), minor(&line.service_fee), minor(&line.amount)),
        (985 + 611, 109 + 68, 1596)
    );
    assert_eq!(line.order_lines, 2);

    let err = approve(&stack, &batch.batch_id, "f1").await.expect_err("creator approving");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(status_details(&err).0.as_deref(), Some("FOUR_EYES"));
    let export_draft = pb::ExportBatchRequest { batch_id: batch.batch_id.clone(), ..Default::default() };
    let err = stack.settlement().export_batch(as_finance(export_draft, "f1")).await.expect_err("draft export");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(approve(&stack, &batch.batch_id, "f2").await.expect("second user").status(), BatchStatus::Approved);

    let (header, rows) = sheet(&export(&stack, &batch.batch_id).await);
    assert_eq!(header[..3], ["批次号", "付款明细号", "推广员ID"]);
    assert_eq!(rows.len(), 1, "one payout row: {rows:?}");
    assert_eq!(rows[0][2..], ["p1", "王**", "支付宝", "138****8000", "", "15.96", "CNY", "0.00", "2", "待付款"]);
    let (header, rows) = sheet(&export_file(&stack, &batch.batch_id, pb::BatchFile::Detail, "f1").await);
    assert_eq!(rows.len(), 2, "two order lines: {rows:?}");
    let tea = rows.iter().find(|r| r[4] == "o1-l").expect("o1's line");
    assert_eq!(tea[5..], ["o1", "s1", tea[7].as_str(), "10.94", "1.09", "9.85", "CNY"]);
    assert_eq!(header[7], "支付时间(Asia/Shanghai)");
    assert_eq!(tea[7].len(), "2026-12-03 10:15:30".len(), "to the second, in the business zone: {}", tea[7]);

    let recorded = pay(&stack, &line.batch_line_id, pb::PayoutOutcome::Paid, "BANK-0001").await;
    assert_eq!(recorded.status(), S::Paid);
    let retry = pay(&stack, &line.batch_line_id, pb::PayoutOutcome::Paid, "BANK-0001").await;
    assert_eq!(retry.payment_reference, "BANK-0001", "a retry answers the same");
    let other = pb::RecordPayoutRequest {
        batch_line_id: line.batch_line_id.clone(),
        outcome: pb::PayoutOutcome::Failed.into(),
        reference: "x".into(),
    };
    assert_eq!(
        stack.settlement().record_payout(as_finance(other, "f1")).await.expect_err("recorded").code(),
        Code::FailedPrecondition
    );
    let mine = earnings(&stack, "p1").await;
    assert_eq!((minor(&mine.paid), minor(&mine.settled), minor(&mine.settleable)), (1596, 0, 0));
    assert_eq!(mine.payouts[0].payment_reference, "BANK-0001");

    // A refund after payout becomes a clawback netted off the next payout.
    stack.ingest(vec![refund("r1", "o1", "o1-l", 9950, s + days(16))]).await;
    stack.feeds_caught_up().await;
    assert_eq!(minor(&earnings(&stack, "p1").await.clawbacks_owed), 985 - 492);
    // 39800 at 550 bps is 2189 → fee 219, share 1970.
    sale(&stack, &w, "o3", 39800, s + days(16), s + days(16)).await;
    stack.clock.advance(days(10));
    assert_eq!(sweep(&stack).await, 1);
    let next = close(&stack, s + days(15), s + days(30), "f2").await.batch.expect("batch");
    let next_line = &lines(&stack, &next.batch_id).await[0];
    assert_eq!((minor(&next_line.clawback_netted), minor(&next_line.amount)), (493, 1970 - 493));
    assert_eq!(minor(&earnings(&stack, "p1").await.clawbacks_owed), 0);
    assert_eq!(minor(&verify(&stack).await.total), 0);
}

#[tokio::test]
async fn a_payout_under_the_minimum_carries_forward_and_is_paid_later() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(30));
    let s = w.since;
    sale(&stack, &w, "small", 1000, s + days(1), s + days(2)).await;
    sweep(&stack).await;
    let first = close(&stack, s, s + days(12), "f1").await.batch.expect("batch");
    let carried = lines(&stack, &first.batch_id).await;
    assert_eq!(carried[0].status(), S::CarriedForward);
    assert_eq!(
        minor(&carried[0].amount),
        49,
        "55 commission less its 6 fee (5.5 rounds to even): under the 10.00 minimum"
    );
    assert_eq!(first.payable_lines, 0);
    assert_eq!(minor(&earnings(&stack, "p1").await.settleable), 49, "not lost: still settleable");

    sale(&stack, &w, "big", 19900, s + days(13), s + days(13)).await;
    sweep(&stack).await;
    let second = close(&stack, s + days(12), s + days(25), "f1").await.batch.expect("batch");
    let line = &lines(&stack, &second.batch_id).await[0];
    assert_eq!((line.status(), minor(&line.amount), line.order_lines), (S::Pending, 49 + 985, 2));
}

#[tokio::test]
async fn a_held_promoter_stays_out_until_released_and_a_failed_payout_is_reissued() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(30));
    let s = w.since;
    sale(&stack, &w, "o1", 39800, s + days(1), s + days(2)).await;
    sweep(&stack).await;
    let hold =
        pb::PlaceHoldRequest { promoter_id: "p1".into(), reason: "fraud review: 40 orders from one device".into() };
    stack.settlement().place_hold(as_finance(hold.clone(), "f1")).await.expect("hold");
    assert_eq!(
        stack.settlement().place_hold(as_finance(hold, "f1")).await.expect_err("twice").code(),
        Code::AlreadyExists
    );
    let held = close(&stack, s, s + days(10), "f1").await.batch.expect("batch");
    assert_eq!(held.held_promoters, ["p1"]);
    assert!(lines(&stack, &held.batch_id).await.is_empty());

    let release = pb::ReleaseHoldRequest { promoter_id: "p1".into(), reason: "cleared".into() };
    stack.settlement().release_hold(as_finance(release, "f2")).await.expect("release");
    let included = close(&stack, s + days(10), s + days(20), "f1").await.batch.expect("batch");
    let line = lines(&stack, &included.batch_id).await.remove(0);
    assert_eq!(minor(&line.amount), 1970);
    approve(&stack, &included.batch_id, "f2").await.expect("approve");
    export(&stack, &included.batch_id).await;
    pay(&stack, &line.batch_line_id, pb::PayoutOutcome::Failed, "account closed").await;

    let reissue = close(&stack, s + days(20), s + days(25), "f1").await.batch.expect("batch");
    let again = lines(&stack, &reissue.batch_id).await.remove(0);
    assert_eq!((minor(&again.reissued), minor(&again.amount)), (1970, 1970), "the failed payout is issued again");
    let holds = stack
        .settlement()
        .list_holds(as_finance(pb::ListHoldsRequest { include_released: true, ..Default::default() }, "f1"))
        .await
        .expect("holds");
    let history = holds.into_inner().holds;
    assert_eq!((history[0].placed_by.as_str(), history[0].released_by.as_str()), ("f1", "f2"), "who and why are kept");
}

#[tokio::test]
async fn only_finance_runs_the_books() {
    let stack = spawn().await;
    let now = stack.now();
    for role in [Role::Promoter, Role::Supplier, Role::Service] {
        let close = pb::ClosePeriodRequest {
            request_id: "r".into(),
            from: Some(to_timestamp(now - chrono::TimeDelta::days(30))),
            to: Some(to_timestamp(now)),
        };
        let err = stack.settlement().close_period(authed(close, role, "x")).await.expect_err("not finance");
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
        let hold = pb::PlaceHoldRequest { promoter_id: "p1".into(), reason: "r".into() };
        assert_eq!(
            stack.settlement().place_hold(authed(hold, role, "x")).await.expect_err("hold").code(),
            Code::PermissionDenied
        );
        let approve = pb::ApproveBatchRequest { batch_id: uuid::Uuid::new_v4().to_string() };
        assert_eq!(
            stack.settlement().approve_batch(authed(approve, role, "x")).await.expect_err("approve").code(),
            Code::PermissionDenied
        );
        let recon = pb::ReconcileRequest {
            from: Some(to_timestamp(now - chrono::TimeDelta::days(1))),
            to: Some(to_timestamp(now)),
        };
        assert_eq!(
            stack.settlement().reconcile(authed(recon, role, "x")).await.expect_err("reconcile").code(),
            Code::PermissionDenied
        );
    }
    let other = pb::GetPromoterEarningsRequest { promoter_id: "p1".into() };
    let err = stack.settlement().get_promoter_earnings(authed(other, Role::Promoter, "p2")).await.expect_err("other's");
    assert_eq!(err.code(), Code::PermissionDenied);
    let adjust = pb::CreateAdjustmentRequest {
        request_id: "a1".into(),
        promoter_id: "p1".into(),
        amount: None,
        reason: String::new(),
    };
    let err = stack.settlement().create_adjustment(as_finance(adjust, "f1")).await.expect_err("no reason");
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = status_details(&err).1.into_iter().map(|f| f.field).collect();
    assert_eq!(fields, ["reason", "amount"]);
}
