//! The settlement database: the ledger, positions, batches, holds and adjustments.
pub mod batches;
pub mod holds;
pub mod payees;
pub mod periods;
pub mod positions;
pub mod reports;
pub mod webhooks;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::ledger::{Balanced, JournalKind};

/// Advisory-lock namespace of settlement.
const LOCK_NAMESPACE: i32 = 0x5850_5354; // "XPST"
/// Held by a settleable sweep; a second sweeper skips rather than waits.
pub const SWEEP_LOCK: i32 = 1;
/// Held while a period closes: closes run one at a time.
pub const CLOSE_LOCK: i32 = 2;

/// Takes `key` if free, for the rest of the transaction.
pub async fn try_lock(conn: &mut PgConnection, key: i32) -> Result<bool, sqlx::Error> {
    let row = sqlx::query!(r#"SELECT pg_try_advisory_xact_lock($1, $2) AS "taken!""#, LOCK_NAMESPACE, key)
        .fetch_one(conn)
        .await?;
    Ok(row.taken)
}

/// Waits for `key`, then holds it for the rest of the transaction.
pub async fn lock(conn: &mut PgConnection, key: i32) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1, $2)", LOCK_NAMESPACE, key).execute(conn).await?;
    Ok(())
}

/// A journal to post: what moved, why, and its balanced postings.
#[derive(Debug, Clone)]
pub struct Journal {
    pub kind: JournalKind,
    pub line_id: Option<String>,
    pub promoter_id: Option<String>,
    pub supplier_id: Option<String>,
    pub batch_line_id: Option<Uuid>,
    pub source_event_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub created_by: String,
    pub memo: String,
    pub currency: String,
    pub postings: Balanced,
}

/// Who and when a journal is posted, and in which currency.
#[derive(Debug, Clone, Copy)]
pub struct Posted<'a> {
    pub at: DateTime<Utc>,
    pub by: &'a str,
    pub currency: &'a str,
}

impl Journal {
    /// A movement of one payout line of `promoter` (close, withholding, payout).
    pub fn of_payout_line(
        kind: JournalKind,
        promoter: &str,
        batch_line_id: Uuid,
        posted: Posted<'_>,
        memo: String,
        postings: Balanced,
    ) -> Self {
        Self {
            kind,
            line_id: None,
            promoter_id: Some(promoter.to_owned()),
            supplier_id: None,
            batch_line_id: Some(batch_line_id),
            source_event_id: None,
            occurred_at: posted.at,
            created_by: posted.by.to_owned(),
            memo,
            currency: posted.currency.to_owned(),
            postings,
        }
    }
}

/// Posts journals and their postings (two statements for any number).
pub async fn post(conn: &mut PgConnection, journals: &[Journal], now: DateTime<Utc>) -> Result<Vec<Uuid>, sqlx::Error> {
    let journals: Vec<&Journal> = journals.iter().filter(|j| !j.postings.is_empty()).collect();
    if journals.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = journals.iter().map(|_| Uuid::now_v7()).collect();
    macro_rules! column {
        ($f:ident) => {
            journals.iter().map(|j| j.$f.clone()).collect::<Vec<_>>()
        };
    }
    sqlx::query!(
        "INSERT INTO journal (journal_id, kind, line_id, promoter_id, supplier_id, batch_line_id, source_event_id,
                              occurred_at, posted_at, created_by, memo)
         SELECT j, k, l, p, s, b, e, o, $8, c, m
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[],
                     $9::timestamptz[], $10::text[], $11::text[]) AS u(j, k, l, p, s, b, e, o, c, m)",
        &ids,
        &journals.iter().map(|j| j.kind.as_str().to_owned()).collect::<Vec<_>>(),
        &column!(line_id) as &[Option<String>],
        &column!(promoter_id) as &[Option<String>],
        &column!(supplier_id) as &[Option<String>],
        &column!(batch_line_id) as &[Option<Uuid>],
        &column!(source_event_id) as &[Option<String>],
        now,
        &column!(occurred_at),
        &column!(created_by),
        &column!(memo)
    )
    .execute(&mut *conn)
    .await?;
    let (mut journal, mut account, mut party, mut currency, mut amount, mut occurred) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (j, id) in journals.iter().zip(&ids) {
        for e in j.postings.entries() {
            journal.push(*id);
            account.push(e.account.as_str());
            party.push(e.party.as_str());
            currency.push(j.currency.as_str());
            amount.push(e.amount.get());
            occurred.push(j.occurred_at);
        }
    }
    sqlx::query!(
        "INSERT INTO posting (journal_id, account, party, currency, amount, occurred_at)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[])",
        &journal,
        &account as &[&str],
        &party as &[&str],
        &currency as &[&str],
        &amount,
        &occurred
    )
    .execute(conn)
    .await?;
    Ok(ids)
}
