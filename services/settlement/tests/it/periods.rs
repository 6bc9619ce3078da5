//! Periods and batches as finance means them: a period takes the lines that became
//! settleable inside it (and those earlier closes carried or held), never the ones of
//! time no close has covered yet; a batch's status follows its lines once exported;
//! closed periods are listed with where the next one begins.
use xiaopu_api::settlement::{self as pb, BatchLineStatus as S, BatchStatus};
use xiaopu_testkit::World;

use crate::support::{approve, as_finance, close, days, export, lines, minor, pay, sale, spawn, sweep};

#[tokio::test]
async fn a_period_takes_what_became_settleable_inside_it_and_not_what_came_before() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(60));
    let s = w.since;
    // Settleable a week after receipt: at s+9, exactly s+19, and s+29.
    sale(&stack, &w, "early", 39800, s + days(1), s + days(2)).await;
    sale(&stack, &w, "edge", 39800, s + days(11), s + days(12)).await;
    sale(&stack, &w, "late", 39800, s + days(21), s + days(22)).await;
    assert_eq!(sweep(&stack).await, 3);

    // Closing a later period first takes neither the earlier line (its time is not
    // closed yet) nor the one settleable exactly at its end.
    let middle = close(&stack, s + days(19), s + days(29), "f1").await.batch.expect("batch");
    let taken = lines(&stack, &middle.batch_id).await;
    assert_eq!(taken.iter().map(|l| l.order_lines).sum::<i32>(), 1, "only `edge`, at the start: {taken:?}");
    assert_eq!(minor(&taken[0].settled_share), 1970, "39800 at 550 bps is 2189, less its 219 fee");

    let first = close(&stack, s, s + days(19), "f1").await.batch.expect("batch");
    assert_eq!(lines(&stack, &first.batch_id).await[0].order_lines, 1, "`early`, waiting for its period");
    let last = close(&stack, s + days(29), s + days(40), "f1").await.batch.expect("batch");
    assert_eq!(lines(&stack, &last.batch_id).await[0].order_lines, 1, "`late`, at the end of the middle period");
}

#[tokio::test]
async fn a_batch_is_paid_or_partially_paid_as_its_lines_are_recorded() {
    let stack = spawn().await;
    let w = stack.world().await;
    let (_, code) = stack.shop("p2", &w.product).await;
    stack.feeds_caught_up().await;
    let w2 = World { code, ..w.clone() };
    stack.clock.advance(days(40));
    let s = w.since;
    sale(&stack, &w, "o1", 39800, s + days(1), s + days(2)).await;
    sale(&stack, &w2, "o2", 39800, s + days(1), s + days(2)).await;
    assert_eq!(sweep(&stack).await, 2);

    let batch = close(&stack, s, s + days(20), "f1").await.batch.expect("batch");
    approve(&stack, &batch.batch_id, "f2").await.expect("approve");
    export(&stack, &batch.batch_id).await;
    let status = |id: String| {
        let stack = &stack;
        async move {
            let request = pb::GetBatchRequest { batch_id: id };
            stack.settlement().get_batch(as_finance(request, "f1")).await.expect("batch").into_inner().batch.expect("b")
        }
    };
    assert_eq!(status(batch.batch_id.clone()).await.status(), BatchStatus::Exported);
    let payout = lines(&stack, &batch.batch_id).await;
    let (p1, p2) = (&payout[0], &payout[1]);
    assert_eq!((p1.promoter_id.as_str(), p2.promoter_id.as_str()), ("p1", "p2"));

    pay(&stack, &p1.batch_line_id, pb::PayoutOutcome::Paid, "ICBC-1").await;
    assert_eq!(status(batch.batch_id.clone()).await.status(), BatchStatus::Exported, "one line still pending");
    pay(&stack, &p2.batch_line_id, pb::PayoutOutcome::Failed, "account closed").await;
    assert_eq!(status(batch.batch_id.clone()).await.status(), BatchStatus::PartiallyPaid);
    let retry = pay(&stack, &p1.batch_line_id, pb::PayoutOutcome::Paid, "ICBC-1").await;
    assert_eq!(retry.status(), S::Paid, "a retried record still answers once the batch has moved on");
    export(&stack, &batch.batch_id).await;
    assert_eq!(status(batch.batch_id.clone()).await.status(), BatchStatus::PartiallyPaid, "a re-download keeps it");

    // The failed line is issued again next period; paid, that batch is paid.
    let next = close(&stack, s + days(20), s + days(30), "f1").await.batch.expect("batch");
    approve(&stack, &next.batch_id, "f2").await.expect("approve");
    export(&stack, &next.batch_id).await;
    let reissued = lines(&stack, &next.batch_id).await.remove(0);
    assert_eq!((reissued.promoter_id.as_str(), minor(&reissued.reissued)), ("p2", 1970));
    pay(&stack, &reissued.batch_line_id, pb::PayoutOutcome::Paid, "ICBC-2").await;
    assert_eq!(status(next.batch_id.clone()).await.status(), BatchStatus::Paid);
}

#[tokio::test]
async fn closed_periods_are_listed_latest_first_with_where_the_next_begins() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(40));
    let s = w.since;
    let list = |page_size: i32, page_token: String| {
        let stack = &stack;
        async move {
            let request = pb::ListPeriodsRequest { page_size, page_token };
            stack.settlement().list_periods(as_finance(request, "f1")).await.expect("periods").into_inner()
        }
    };
    let none = list(0, String::new()).await;
    assert!(none.periods.is_empty() && none.next_from.is_none());

    let first = close(&stack, s, s + days(10), "f1").await.batch.expect("batch");
    let second = close(&stack, s + days(10), s + days(20), "f2").await.batch.expect("batch");
    let page = list(1, String::new()).await;
    assert_eq!(page.periods.len(), 1);
    assert_eq!(page.periods[0].batch_id, second.batch_id, "latest first");
    assert_eq!((page.periods[0].closed_by.as_str(), page.periods[0].batch_status()), ("f2", BatchStatus::Draft));
    assert_eq!(page.next_from, second.period_to, "the next period begins where the latest ended");
    let rest = list(1, page.next_page_token).await;
    assert_eq!(rest.periods.iter().map(|p| p.batch_id.as_str()).collect::<Vec<_>>(), [first.batch_id.as_str()]);
    assert!(rest.next_page_token.is_empty());
}

#[tokio::test]
async fn a_period_not_yet_ended_or_sharing_time_with_a_closed_one_is_refused() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(20));
    let s = w.since;
    let try_close = |from, to| {
        let stack = &stack;
        async move {
            let request = pb::ClosePeriodRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                from: Some(xiaopu_common::time::to_timestamp(from)),
                to: Some(xiaopu_common::time::to_timestamp(to)),
            };
            stack.settlement().close_period(as_finance(request, "f1")).await.map(|r| r.into_inner())
        }
    };
    let first = try_close(s, s + days(10)).await.expect("an ended period closes");
    let reason = |err: &tonic::Status| xiaopu_common::error::status_details(err).0.unwrap_or_default();

    let overlap = try_close(s + days(5), s + days(15)).await.expect_err("overlaps the first");
    assert_eq!((overlap.code(), reason(&overlap).as_str()), (tonic::Code::FailedPrecondition, "PERIOD_OVERLAPS"));
    assert!(overlap.message().contains(&(s + days(10)).to_rfc3339()), "names the closed period: {overlap:?}");
    let inside = try_close(s + days(2), s + days(3)).await.expect_err("inside the first");
    assert_eq!(reason(&inside), "PERIOD_OVERLAPS");

    let future = try_close(s + days(10), s + days(25)).await.expect_err("ends in five days");
    assert_eq!((future.code(), reason(&future).as_str()), (tonic::Code::FailedPrecondition, "PERIOD_NOT_ENDED"));

    let again = try_close(s, s + days(10)).await.expect("the same period again is its batch");
    assert!(!again.created);
    assert_eq!(again.batch.map(|b| b.batch_id), first.batch.map(|b| b.batch_id));
    try_close(s + days(10), s + days(20)).await.expect("the next period, touching the first");
}

#[tokio::test]
async fn a_stored_batch_status_this_build_does_not_know_is_an_error_not_unspecified() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(40));
    let batch = close(&stack, w.since, w.since + days(10), "f1").await.batch.expect("batch");
    let pool = stack.settlement_db.connect().await;
    // As if a newer build had written a status this one does not know.
    sqlx::query("ALTER TABLE batch DROP CONSTRAINT batch_status_check").execute(&pool).await.expect("drop");
    sqlx::query("UPDATE batch SET status = 'disputed'").execute(&pool).await.expect("set");

    let get = pb::GetBatchRequest { batch_id: batch.batch_id.clone() };
    let err = stack.settlement().get_batch(as_finance(get, "f1")).await.expect_err("unknown status");
    assert_eq!(err.code(), tonic::Code::Internal, "never shown as unspecified: {err:?}");
    let periods = pb::ListPeriodsRequest { page_size: 10, page_token: String::new() };
    let err = stack.settlement().list_periods(as_finance(periods, "f1")).await.expect_err("unknown status");
    assert_eq!(err.code(), tonic::Code::Internal);
}

#[tokio::test]
async fn a_stored_stage_line_state_or_journal_kind_this_build_does_not_know_is_an_error_not_a_guess() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(10));
    sale(&stack, &w, "o1", 39800, w.since + days(1), w.since + days(2)).await;
    let pool = stack.settlement_db.connect().await;
    sqlx::query("ALTER TABLE position DROP CONSTRAINT position_stage_check").execute(&pool).await.expect("drop");
    sqlx::query("UPDATE position SET stage = 'disputed'").execute(&pool).await.expect("set");

    let mine = pb::ListPromoterLinesRequest { promoter_id: "p1".into(), ..Default::default() };
    let err = stack.settlement().list_promoter_lines(as_finance(mine, "f1")).await.expect_err("unknown stage");
    assert_eq!(err.code(), tonic::Code::Internal, "never shown as estimated: {err:?}");

    // The same for the line's state, which has no constraint to drop.
    sqlx::query("UPDATE position SET stage = 'estimated', line_state = 'disputed'").execute(&pool).await.expect("set");
    let mine = pb::ListPromoterLinesRequest { promoter_id: "p1".into(), ..Default::default() };
    let err = stack.settlement().list_promoter_lines(as_finance(mine, "f1")).await.expect_err("unknown line state");
    assert_eq!(err.code(), tonic::Code::Internal, "never shown as paid: {err:?}");

    // And a journal's kind.
    sqlx::query("UPDATE position SET line_state = 'paid'").execute(&pool).await.expect("set");
    sqlx::query("ALTER TABLE journal DROP CONSTRAINT journal_kind_check").execute(&pool).await.expect("drop");
    sqlx::query("UPDATE journal SET kind = 'disputed'").execute(&pool).await.expect("set");
    let ledger = pb::GetLineLedgerRequest { line_id: "o1-l".into() };
    let err = stack.settlement().get_line_ledger(as_finance(ledger, "f1")).await.expect_err("unknown journal kind");
    assert_eq!(err.code(), tonic::Code::Internal, "{err:?}");
}
