use chrono::{DateTime, Utc};
use tonic::Status;
use xiaopu_api::settlement as pb;
use xiaopu_common::{auth::Role, testing::authed, time::to_timestamp};
pub use xiaopu_testkit::{Options, Stack, World, events::*};

pub async fn spawn() -> Stack {
    Stack::spawn(Options::default()).await
}

pub fn days(n: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::days(n)
}

/// Calls as finance user `who`.
pub fn as_finance<T>(message: T, who: &str) -> tonic::Request<T> {
    authed(message, Role::Finance, who)
}

pub async fn sweep(stack: &Stack) -> i64 {
    let answer = stack.settlement().run_settleable_sweep(as_finance(pb::RunSettleableSweepRequest {}, "f1")).await;
    answer.expect("sweep").into_inner().moved
}

pub async fn close(stack: &Stack, from: DateTime<Utc>, to: DateTime<Utc>, by: &str) -> pb::ClosePeriodResponse {
    let request = pb::ClosePeriodRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        from: Some(to_timestamp(from)),
        to: Some(to_timestamp(to)),
    };
    stack.settlement().close_period(as_finance(request, by)).await.expect("close").into_inner()
}

pub async fn lines(stack: &Stack, batch_id: &str) -> Vec<pb::BatchLine> {
    let request = pb::ListBatchLinesRequest { batch_id: batch_id.into(), page_size: 1000, page_token: String::new() };
    stack.settlement().list_batch_lines(as_finance(request, "f1")).await.expect("lines").into_inner().lines
}

pub async fn approve(stack: &Stack, batch_id: &str, by: &str) -> Result<pb::Batch, Status> {
    let request = pb::ApproveBatchRequest { batch_id: batch_id.into() };
    Ok(stack.settlement().approve_batch(as_finance(request, by)).await?.into_inner().batch.expect("batch"))
}

/// Exports a batch's payout file as f1 and returns the CSV.
pub async fn export(stack: &Stack, batch_id: &str) -> String {
    export_file(stack, batch_id, pb::BatchFile::Payouts, "f1").await
}

/// Exports one of a batch's files as finance user `by`.
pub async fn export_file(stack: &Stack, batch_id: &str, file: pb::BatchFile, by: &str) -> String {
    let request = pb::ExportBatchRequest { batch_id: batch_id.into(), file: file.into(), language: String::new() };
    let mut stream = stack.settlement().export_batch(as_finance(request, by)).await.expect("export").into_inner();
    let mut csv = Vec::new();
    while let Some(chunk) = stream.message().await.expect("chunk") {
        csv.extend(chunk.data);
    }
    String::from_utf8(csv).expect("utf-8")
}

/// A CSV file as a spreadsheet opens it: it must start with the UTF-8 BOM; the
/// header row, then the rows' cells.
pub fn sheet(csv: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let body = csv.strip_prefix('\u{FEFF}').expect("the file starts with a UTF-8 BOM");
    let mut reader = ::csv::Reader::from_reader(body.as_bytes());
    let header = reader.headers().expect("header").iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.expect("row").iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

/// Sums a column of yuan amounts, in fen (exactly: no floating point).
pub fn sum_yuan(header: &[String], rows: &[Vec<String>], column: &str) -> i64 {
    let at = header.iter().position(|h| h == column).unwrap_or_else(|| panic!("no column {column} in {header:?}"));
    rows.iter()
        .map(|r| {
            let (yuan, fen) = r[at].split_once('.').expect("yuan.fen");
            let sign = if yuan.starts_with('-') { -1 } else { 1 };
            yuan.parse::<i64>().expect("yuan") * 100 + sign * fen.parse::<i64>().expect("fen")
        })
        .sum()
}

pub async fn pay(stack: &Stack, line_id: &str, outcome: pb::PayoutOutcome, reference: &str) -> pb::BatchLine {
    let request =
        pb::RecordPayoutRequest { batch_line_id: line_id.into(), outcome: outcome.into(), reference: reference.into() };
    stack.settlement().record_payout(as_finance(request, "f1")).await.expect("record").into_inner().line.expect("line")
}

pub async fn earnings(stack: &Stack, promoter: &str) -> pb::GetPromoterEarningsResponse {
    let request = pb::GetPromoterEarningsRequest { promoter_id: promoter.into() };
    stack
        .settlement()
        .get_promoter_earnings(authed(request, Role::Promoter, promoter))
        .await
        .expect("earnings")
        .into_inner()
}

pub async fn verify(stack: &Stack) -> pb::VerifyLedgerResponse {
    stack.settlement().verify_ledger(as_finance(pb::VerifyLedgerRequest {}, "f1")).await.expect("verify").into_inner()
}

pub async fn reconcile(stack: &Stack, from: DateTime<Utc>, to: DateTime<Utc>) -> pb::ReconcileResponse {
    let request = pb::ReconcileRequest { from: Some(to_timestamp(from)), to: Some(to_timestamp(to)) };
    stack.settlement().reconcile(as_finance(request, "f1")).await.expect("reconcile").into_inner()
}

pub fn minor(m: &Option<xiaopu_api::types::Money>) -> i64 {
    m.as_ref().map_or(0, |m| m.minor_units)
}

/// A paid and confirmed one-line order through p1's code, fully applied.
pub async fn sale(
    stack: &Stack,
    w: &World,
    order: &str,
    paid_fen: i64,
    paid_at: DateTime<Utc>,
    confirmed_at: DateTime<Utc>,
) {
    sale_via(stack, w, &w.code, order, paid_fen, (paid_at, confirmed_at)).await;
}

/// The same through share code `code`.
pub async fn sale_via(
    stack: &Stack,
    w: &World,
    code: &str,
    order: &str,
    paid_fen: i64,
    (paid_at, confirmed_at): (DateTime<Utc>, DateTime<Utc>),
) {
    let line_id = format!("{order}-l");
    let lines = vec![line(&line_id, &w.product, &w.supplier, paid_fen)];
    stack
        .ingest(vec![paid(order, &format!("{order}-buyer"), paid_at, code, lines), confirmed(order, confirmed_at)])
        .await;
    stack.feeds_caught_up().await;
}
