//! Paying from the batch: payees sealed and masked, the payout and detail files as a
//! spreadsheet opens them, tax withheld, lines held without a payee, and the bank's
//! result file imported (twice).
use tonic::Code;
use xiaopu_api::settlement::{self as pb, BatchLineStatus as S, BatchStatus, ImportRowOutcome as Row};
use xiaopu_common::{auth::Role, error::status_details, testing::authed};
use xiaopu_testkit::{Options, Stack};

use crate::support::{
    approve, as_finance, close, days, earnings, export_file, lines, minor, reconcile, sale, sale_via, sheet, spawn,
    sum_yuan, sweep, verify,
};

fn profile(name: &str, method: pb::PayoutMethod, account: &str, bank: &str) -> pb::SetPayoutProfileRequest {
    pb::SetPayoutProfileRequest {
        legal_name: name.into(),
        method: method.into(),
        account: account.into(),
        bank_name: bank.into(),
    }
}

async fn import(stack: &Stack, batch_id: &str, file: &str) -> Result<pb::ImportPaymentResultsResponse, tonic::Status> {
    let request = pb::ImportPaymentResultsRequest { batch_id: batch_id.into(), file: file.as_bytes().to_vec() };
    Ok(stack.settlement().import_payment_results(as_finance(request, "f1")).await?.into_inner())
}

#[tokio::test]
async fn a_payee_is_sealed_at_rest_and_shown_masked() {
    let stack = spawn().await;
    let mut client = stack.settlement();
    let bad = profile("张", pb::PayoutMethod::BankCard, "6222 0202", "");
    let err = client.set_payout_profile(authed(bad, Role::Promoter, "p9")).await.expect_err("bad profile");
    assert_eq!(err.code(), Code::InvalidArgument);
    for field in ["legal_name", "account", "bank_name"] {
        assert!(err.message().contains(field), "{field} named: {}", err.message());
    }
    let card = profile("张三丰", pb::PayoutMethod::BankCard, "6222 0202 0011 2233 445", "中国工商银行");
    let set = client.set_payout_profile(authed(card, Role::Promoter, "p9")).await.expect("set").into_inner();
    let shown = set.profile.expect("profile");
    assert_eq!((shown.legal_name.as_str(), shown.account.as_str()), ("张**", "****3445"));

    let own = pb::GetPayoutProfileRequest::default();
    let got = client.get_payout_profile(authed(own, Role::Promoter, "p9")).await.expect("own").into_inner();
    assert_eq!(got.profile.expect("profile").account, "****3445", "the promoter reads it masked too");
    let theirs = pb::GetPayoutProfileRequest { promoter_id: "p9".into() };
    let by_finance = client.get_payout_profile(as_finance(theirs.clone(), "f1")).await.expect("finance");
    assert_eq!(by_finance.into_inner().profile.expect("profile").legal_name, "张**");
    let err = client.get_payout_profile(authed(theirs, Role::Promoter, "p8")).await.expect_err("another promoter");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client.set_payout_profile(as_finance(pb::SetPayoutProfileRequest::default(), "f1")).await;
    assert_eq!(err.expect_err("finance may not set one").code(), Code::PermissionDenied);

    let pool = sqlx::PgPool::connect(&stack.settlement_db.url).await.expect("db");
    let (sealed, masked): (Vec<u8>, String) =
        sqlx::query_as("SELECT sealed, masked_account FROM payout_profile WHERE promoter_id = 'p9'")
            .fetch_one(&pool)
            .await
            .expect("row");
    assert_eq!(masked, "****3445");
    for clear in ["6222020200112233445", "张三丰"] {
        assert!(!sealed.windows(clear.len()).any(|w| w == clear.as_bytes()), "{clear} is not stored in the clear");
    }
}

#[tokio::test]
async fn the_payout_and_detail_files_sum_to_the_batch_with_tax_withheld_and_no_payee_held() {
    let stack = Stack::spawn(Options { withholding: "cn_labour_remuneration", ..Options::default() }).await;
    let w = stack.world().await;
    let (_, unpaid_code) = stack.shop_without_payee("p2", &w.product).await;
    stack.feeds_caught_up().await;
    stack.clock.advance(days(20));
    let s = w.since;
    // 20 000 yuan at 550 bps: commission 1100, fee 110, share 990 → tax (990 − 800) × 20 % = 38.
    sale(&stack, &w, "o1", 2_000_000, s + days(1), s + days(2)).await;
    // 990 yuan at 550 bps: commission 54.45, fee 5.44 (half to even), share 49.01.
    sale_via(&stack, &w, &unpaid_code, "o2", 99_000, (s + days(1), s + days(2))).await;
    assert_eq!(sweep(&stack).await, 2);
    let batch = close(&stack, s, s + days(10), "f1").await.batch.expect("batch");
    assert_eq!((batch.payable_lines, batch.held_lines), (1, 1));
    assert_eq!((minor(&batch.payable_total), minor(&batch.withheld_total)), (99_000 - 3_800, 3_800));
    let all = lines(&stack, &batch.batch_id).await;
    let held = all.iter().find(|l| l.promoter_id == "p2").expect("p2's line");
    assert_eq!((held.status(), held.hold_reason.as_str(), minor(&held.amount)), (S::Held, "PAYEE_MISSING", 4_901));
    let paid = all.iter().find(|l| l.promoter_id == "p1").expect("p1's line");
    assert_eq!((minor(&paid.settled_share), minor(&paid.withheld), minor(&paid.amount)), (99_000, 3_800, 95_200));
    approve(&stack, &batch.batch_id, "f2").await.expect("approve");

    // The approver's payout file pays in full; anyone else's is masked.
    let (header, rows) = sheet(&export_file(&stack, &batch.batch_id, pb::BatchFile::Payouts, "f2").await);
    assert_eq!(rows.len(), 1, "only lines to pay: {rows:?}");
    assert_eq!(rows[0][2..7], ["p1", "王小明", "支付宝", "13800138000", ""]);
    assert_eq!(sum_yuan(&header, &rows, "金额(元)"), minor(&batch.payable_total));
    assert_eq!(sum_yuan(&header, &rows, "代扣个税(元)"), 3_800);
    let (_, masked) = sheet(&export_file(&stack, &batch.batch_id, pb::BatchFile::Payouts, "f1").await);
    assert_eq!(masked[0][3..6], ["王**", "支付宝", "138****8000"]);

    // The detail file: every amount of the payout, once; it sums to the batch too.
    let (header, rows) = sheet(&export_file(&stack, &batch.batch_id, pb::BatchFile::Detail, "f1").await);
    assert_eq!(sum_yuan(&header, &rows, "金额(元)"), minor(&batch.payable_total), "{rows:?}");
    let kinds: Vec<&str> = rows.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(kinds, ["代扣个税", "订单佣金"], "tax withheld, then the order line; nothing of p2's");
    let english = pb::ExportBatchRequest {
        batch_id: batch.batch_id.clone(),
        file: pb::BatchFile::Detail.into(),
        language: "en".into(),
    };
    let mut stream = stack.settlement().export_batch(as_finance(english, "f1")).await.expect("en").into_inner();
    let first = stream.message().await.expect("chunk").expect("header");
    assert!(String::from_utf8_lossy(&first.data).starts_with("\u{FEFF}batch_id,batch_line_id,promoter_id,kind"));

    // The books: balanced, the tax in its own account, the statement still balances.
    let ledger = verify(&stack).await;
    assert_eq!(minor(&ledger.total), 0);
    let tax = ledger.accounts.iter().find(|a| a.account == "tax_withheld").expect("tax account");
    assert_eq!(minor(&tax.balance), -3_800, "owed to the tax authority");
    let books = reconcile(&stack, s, s + days(10)).await;
    assert!(books.clean, "{:?}", books.discrepancies);
    assert_eq!(minor(&earnings(&stack, "p1").await.withheld), 3_800);

    // p2 says where to pay them: the held money comes in the next period's batch.
    stack.payee("p2").await;
    let next = close(&stack, s + days(10), stack.now(), "f1").await.batch.expect("next batch");
    let p2 = lines(&stack, &next.batch_id).await.into_iter().find(|l| l.promoter_id == "p2").expect("p2");
    assert_eq!((p2.status(), minor(&p2.amount)), (S::Pending, 4_901));
}

#[tokio::test]
async fn a_bank_result_file_records_each_row_once_and_refuses_the_rest_row_by_row() {
    let stack = spawn().await;
    let w = stack.world().await;
    let (_, code3) = stack.shop("p3", &w.product).await;
    stack.feeds_caught_up().await;
    stack.clock.advance(days(20));
    let s = w.since;
    sale(&stack, &w, "o1", 99_000, s + days(1), s + days(2)).await;
    sale_via(&stack, &w, &code3, "o3", 99_000, (s + days(1), s + days(2))).await;
    sweep(&stack).await;
    let batch = close(&stack, s, s + days(10), "f1").await.batch.expect("batch");
    approve(&stack, &batch.batch_id, "f2").await.expect("approve");
    let err = import(&stack, &batch.batch_id, "付款明细号,结果\n").await.expect_err("not exported yet");
    assert_eq!(status_details(&err).0.as_deref(), Some("BATCH_STATE"));
    export_file(&stack, &batch.batch_id, pb::BatchFile::Payouts, "f2").await;
    let all = lines(&stack, &batch.batch_id).await;
    let line = |p: &str| all.iter().find(|l| l.promoter_id == p).expect("line").batch_line_id.clone();
    let (l1, l3) = (line("p1"), line("p3"));
    let unknown = uuid::Uuid::now_v7();
    let file = format!(
        "\u{FEFF}付款明细号,结果,银行流水号,失败原因\n{l1},成功,ICBC-1,\n{l3},失败,,\"账户已注销, 请更换\"\n{unknown},成功,ICBC-2,\n{l1}x,成功,ICBC-3,\n,不知道,,\n"
    );

    let first = import(&stack, &batch.batch_id, &file).await.expect("import");
    let outcomes: Vec<(i32, Row, &str)> = first.rows.iter().map(|r| (r.row, r.outcome(), r.reason.as_str())).collect();
    assert_eq!(
        outcomes,
        [
            (2, Row::Recorded, ""),
            (3, Row::Recorded, ""),
            (4, Row::Refused, "NOT_FOUND"),
            (5, Row::Refused, "INVALID_ROW"),
            (6, Row::Refused, "INVALID_ROW")
        ]
    );
    assert_eq!((first.recorded, first.unchanged, first.refused), (2, 0, 3));
    assert_eq!(first.batch.expect("batch").status(), BatchStatus::PartiallyPaid);
    let failed = lines(&stack, &batch.batch_id).await.into_iter().find(|l| l.batch_line_id == l3).expect("l3");
    assert_eq!((failed.status(), failed.failure_reason.as_str()), (S::Failed, "账户已注销, 请更换"));
    let journals = verify(&stack).await.journals;

    let again = import(&stack, &batch.batch_id, &file).await.expect("again");
    assert_eq!((again.recorded, again.unchanged, again.refused), (0, 2, 3), "the same file changes nothing");
    assert_eq!(verify(&stack).await.journals, journals, "no journal posted twice");
    let conflict = format!("batch_line_id,status,reference,failure_reason\n{l1},failed,,bounced\n");
    let refused = import(&stack, &batch.batch_id, &conflict).await.expect("conflict");
    assert_eq!((refused.rows[0].outcome(), refused.rows[0].reason.as_str()), (Row::Refused, "PAYOUT_RECORDED"));
    let err = import(&stack, &batch.batch_id, "id,amount\nx,1\n").await.expect_err("no columns");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("付款明细号"), "{}", err.message());
}

#[tokio::test]
async fn a_hold_on_a_promoter_settlement_never_heard_of_is_refused() {
    let stack = spawn().await;
    stack.payee("p5").await;
    let mut client = stack.settlement();
    let hold = |who: &str| pb::PlaceHoldRequest { promoter_id: who.into(), reason: "review".into() };
    let err = client.place_hold(as_finance(hold("p-typo"), "f1")).await.expect_err("unknown");
    assert_eq!((err.code(), status_details(&err).0.as_deref()), (Code::NotFound, Some("UNKNOWN_PROMOTER")));
    let holds = client.list_holds(as_finance(pb::ListHoldsRequest::default(), "f1")).await.expect("holds");
    assert!(holds.into_inner().holds.is_empty(), "nothing was held");
    client.place_hold(as_finance(hold("p5"), "f1")).await.expect("a promoter with a payout profile is known");
}

#[tokio::test]
async fn a_line_paid_then_refunded_says_so_and_batches_are_found_by_status_and_period() {
    let stack = spawn().await;
    let w = stack.world().await;
    stack.clock.advance(days(20));
    let s = w.since;
    sale(&stack, &w, "o1", 99_000, s + days(1), s + days(2)).await;
    sweep(&stack).await;
    let batch = close(&stack, s, s + days(10), "f1").await.batch.expect("batch");
    approve(&stack, &batch.batch_id, "f2").await.expect("approve");
    export_file(&stack, &batch.batch_id, pb::BatchFile::Payouts, "f2").await;
    let line = lines(&stack, &batch.batch_id).await.remove(0);
    crate::support::pay(&stack, &line.batch_line_id, pb::PayoutOutcome::Paid, "ICBC-9").await;
    stack.ingest(vec![xiaopu_testkit::events::refund("r1", "o1", "o1-l", 99_000, s + days(12))]).await;
    stack.feeds_caught_up().await;

    let mut client = stack.settlement();
    let ledger = client
        .get_line_ledger(as_finance(pb::GetLineLedgerRequest { line_id: "o1-l".into() }, "f1"))
        .await
        .expect("ledger")
        .into_inner();
    let p = &ledger.positions[0];
    assert_eq!((p.batch_line_status(), minor(&p.settled_share), minor(&p.share)), (S::Paid, 4_901, 0));
    assert_eq!(minor(&p.owed_back), 4_901, "paid, then refunded in full: all of it is owed back");
    assert_eq!(ledger.journals.len(), 2, "the commission and its reversal");
    for j in &ledger.journals {
        assert_eq!(j.postings.iter().map(|p| minor(&p.amount)).sum::<i64>(), 0, "{j:?}");
    }
    let mine = pb::ListPromoterLinesRequest { promoter_id: "p1".into(), ..Default::default() };
    let listed = client.list_promoter_lines(authed(mine.clone(), Role::Promoter, "p1")).await.expect("own lines");
    assert_eq!(listed.into_inner().lines.len(), 1);
    let err = client.list_promoter_lines(authed(mine, Role::Promoter, "p2")).await.expect_err("not theirs");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client.get_line_ledger(as_finance(pb::GetLineLedgerRequest { line_id: "nope".into() }, "f1")).await;
    assert_eq!(err.expect_err("unknown line").code(), Code::NotFound);

    let list = |status: BatchStatus, from: Option<chrono::DateTime<chrono::Utc>>| {
        let mut client = stack.settlement();
        async move {
            let request = pb::ListBatchesRequest {
                status: status.into(),
                period_from: from.map(xiaopu_common::time::to_timestamp),
                ..Default::default()
            };
            client.list_batches(as_finance(request, "f1")).await.expect("list").into_inner().batches.len()
        }
    };
    assert_eq!(list(BatchStatus::Paid, None).await, 1);
    assert_eq!(list(BatchStatus::Unspecified, None).await, 1);
    assert_eq!(list(BatchStatus::Draft, None).await, 0);
    assert_eq!(list(BatchStatus::Paid, Some(s + days(1))).await, 0, "its period starts before");
}
