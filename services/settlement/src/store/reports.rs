//! What finance, promoters and suppliers read, and the ledger's own checks.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::domain::ledger::JournalKind;

xiaopu_common::text_enum_column!(JournalKind, "journal.kind");

/// Balance of each account (and party) in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub account: String,
    pub party: String,
    pub currency: String,
    pub amount: i64,
}

/// Totals of the ledger: (sum of every posting, journals, postings).
pub async fn ledger_totals(db: impl PgExecutor<'_>) -> Result<(i64, i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT COALESCE(sum(amount), 0)::bigint AS "total!", count(DISTINCT journal_id) AS "journals!",
                  count(*) AS "postings!" FROM posting"#
    )
    .fetch_one(db)
    .await?;
    Ok((row.total, row.journals, row.postings))
}

/// Journals whose postings do not sum to zero.
pub async fn unbalanced_journals(db: impl PgExecutor<'_>) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT journal_id::text AS id FROM posting GROUP BY journal_id HAVING sum(amount) <> 0 ORDER BY 1 LIMIT 1000"
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().filter_map(|r| r.id).collect())
}

/// Balance of every account, summed over parties.
pub async fn account_balances(db: impl PgExecutor<'_>) -> Result<Vec<Balance>, sqlx::Error> {
    sqlx::query_as!(
        Balance,
        r#"SELECT account AS "account!", '' AS "party!", currency AS "currency!", sum(amount)::bigint AS "amount!"
           FROM posting GROUP BY account, currency ORDER BY account, currency"#
    )
    .fetch_all(db)
    .await
}

/// The netting balance of each promoter (clawbacks owed positive), leaving out `held`.
pub async fn netting(conn: &mut PgConnection, held: &[String]) -> Result<Vec<Balance>, sqlx::Error> {
    sqlx::query_as!(
        Balance,
        r#"SELECT account AS "account!", party AS "party!", currency AS "currency!", sum(amount)::bigint AS "amount!"
           FROM posting WHERE account = 'promoter_netting' AND party <> ALL($1::text[])
           GROUP BY account, party, currency HAVING sum(amount) <> 0"#,
        held
    )
    .fetch_all(conn)
    .await
}

/// One promoter's balances by account.
pub async fn promoter_balances(db: impl PgExecutor<'_>, promoter_id: &str) -> Result<Vec<Balance>, sqlx::Error> {
    sqlx::query_as!(
        Balance,
        r#"SELECT account AS "account!", party AS "party!", currency AS "currency!", sum(amount)::bigint AS "amount!"
           FROM posting WHERE party = $1 AND account IN ('promoter_estimated', 'promoter_settleable',
                                                          'promoter_payable', 'promoter_netting', 'payouts',
                                                          'tax_withheld')
           GROUP BY account, party, currency"#,
        promoter_id
    )
    .fetch_all(db)
    .await
}

/// One party's sums over the lines paid in a period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartySums {
    pub party_id: String,
    pub currency: String,
    pub lines: i64,
    pub estimated: i64,
    pub settleable: i64,
    pub settled: i64,
    pub commission: i64,
    pub fees: i64,
}

pub async fn promoter_sums(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PartySums>, sqlx::Error> {
    sqlx::query_as!(
        PartySums,
        r#"SELECT promoter_id AS "party_id!", currency AS "currency!", count(*) FILTER (WHERE commission > 0) AS "lines!",
                  COALESCE(sum(share) FILTER (WHERE stage = 'estimated'), 0)::bigint AS "estimated!",
                  COALESCE(sum(share) FILTER (WHERE stage = 'settleable'), 0)::bigint AS "settleable!",
                  COALESCE(sum(share) FILTER (WHERE stage = 'settled'), 0)::bigint AS "settled!",
                  sum(commission)::bigint AS "commission!", sum(fee)::bigint AS "fees!"
           FROM position WHERE paid_at >= $1 AND paid_at < $2
           GROUP BY promoter_id, currency ORDER BY 1, 2"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

pub async fn supplier_sums(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PartySums>, sqlx::Error> {
    sqlx::query_as!(
        PartySums,
        r#"SELECT supplier_id AS "party_id!", currency AS "currency!", count(*) FILTER (WHERE commission > 0) AS "lines!",
                  COALESCE(sum(commission) FILTER (WHERE stage = 'estimated'), 0)::bigint AS "estimated!",
                  COALESCE(sum(commission) FILTER (WHERE stage = 'settleable'), 0)::bigint AS "settleable!",
                  COALESCE(sum(commission) FILTER (WHERE stage = 'settled'), 0)::bigint AS "settled!",
                  sum(commission)::bigint AS "commission!", sum(fee)::bigint AS "fees!"
           FROM position WHERE paid_at >= $1 AND paid_at < $2
           GROUP BY supplier_id, currency ORDER BY 1, 2"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// Per party of `accounts`: postings in a period split by journal kind and sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movements {
    pub party: String,
    pub currency: String,
    pub opening: i64,
    pub credits: i64,
    pub debits: i64,
    pub payouts: i64,
    pub closing: i64,
}

/// Statement figures of each party holding promoter accounts (or the supplier
/// account): balances before `from` and `to`, and what moved between by cause.
/// Stage moves between a party's own accounts net to nothing and are left out.
pub async fn movements(
    db: impl PgExecutor<'_>,
    accounts: &[&str],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Movements>, sqlx::Error> {
    sqlx::query_as!(
        Movements,
        r#"SELECT p.party AS "party!", p.currency AS "currency!",
                  COALESCE(sum(p.amount) FILTER (WHERE p.occurred_at < $2), 0)::bigint AS "opening!",
                  COALESCE(sum(p.amount) FILTER (WHERE p.occurred_at >= $2 AND p.occurred_at < $3 AND p.amount < 0
                                                 AND j.kind IN ('commission', 'adjustment')), 0)::bigint AS "credits!",
                  COALESCE(sum(p.amount) FILTER (WHERE p.occurred_at >= $2 AND p.occurred_at < $3 AND p.amount > 0
                                                 AND j.kind IN ('commission', 'adjustment')), 0)::bigint AS "debits!",
                  COALESCE(sum(p.amount) FILTER (WHERE p.occurred_at >= $2 AND p.occurred_at < $3
                                                 AND j.kind IN ('payout', 'withholding')), 0)::bigint AS "payouts!",
                  COALESCE(sum(p.amount) FILTER (WHERE p.occurred_at < $3), 0)::bigint AS "closing!"
           FROM posting p JOIN journal j ON j.journal_id = p.journal_id
           WHERE p.account = ANY($1::text[])
           GROUP BY p.party, p.currency ORDER BY 1, 2"#,
        accounts as &[&str],
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// Per order line (of `line_ids`): the supplier charge and the sum of all postings of
/// its commission journals.
pub async fn line_postings(
    db: impl PgExecutor<'_>,
    line_ids: &[String],
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT j.line_id AS "line_id!",
                  COALESCE(sum(p.amount) FILTER (WHERE p.account = 'supplier_charges'), 0)::bigint AS "charged!",
                  sum(p.amount)::bigint AS "total!"
           FROM journal j JOIN posting p ON p.journal_id = j.journal_id
           WHERE j.kind = 'commission' AND j.line_id = ANY($1::text[])
           GROUP BY j.line_id"#,
        line_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.line_id, r.charged, r.total)).collect())
}

/// Batch lines whose share or fee differ from those of the lines they settled (as
/// settled: later clawbacks go through netting), or whose amount differs from
/// share + reissued − netted − withheld, for batches settling lines of the period.
pub async fn batch_mismatches(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT l.batch_line_id::text AS "line!", l.promoter_id AS "promoter!", l.settled_share AS "stored!",
                  COALESCE((SELECT sum(p.settled_share) FROM position p WHERE p.batch_line_id = l.batch_line_id), 0)::bigint AS "actual!"
           FROM batch_line l
           WHERE l.status IN ('pending', 'paid', 'failed')
             AND EXISTS (SELECT 1 FROM position p WHERE p.batch_line_id = l.batch_line_id AND p.paid_at >= $1 AND p.paid_at < $2)
             AND (l.settled_share <> COALESCE((SELECT sum(p.settled_share) FROM position p WHERE p.batch_line_id = l.batch_line_id), 0)
                  OR l.service_fee <> COALESCE((SELECT sum(p.settled_fee) FROM position p WHERE p.batch_line_id = l.batch_line_id), 0)
                  OR l.amount <> l.settled_share + l.reissued - l.clawback_netted - l.withheld)"#,
        from,
        to
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.line, r.promoter, r.stored, r.actual)).collect())
}

/// Per promoter: clawbacks arising and payouts made in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flows {
    pub party: String,
    pub currency: String,
    pub clawbacks: i64,
    pub paid_out: i64,
}

pub async fn promoter_flows(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Flows>, sqlx::Error> {
    sqlx::query_as!(
        Flows,
        r#"SELECT p.party AS "party!", p.currency AS "currency!",
                  COALESCE(sum(p.amount) FILTER (WHERE p.account = 'promoter_netting' AND j.kind = 'commission'
                                                 AND p.amount > 0), 0)::bigint AS "clawbacks!",
                  COALESCE(-sum(p.amount) FILTER (WHERE p.account = 'payouts'), 0)::bigint AS "paid_out!"
           FROM posting p JOIN journal j ON j.journal_id = p.journal_id
           WHERE p.account IN ('promoter_netting', 'payouts') AND p.occurred_at >= $1 AND p.occurred_at < $2
           GROUP BY p.party, p.currency"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// One posting of a journal, with the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalPosting {
    pub journal_id: uuid::Uuid,
    pub kind: JournalKind,
    pub occurred_at: DateTime<Utc>,
    pub created_by: String,
    pub memo: String,
    pub account: String,
    pub party: String,
    pub currency: String,
    pub amount: i64,
}

/// Every posting of an order line's own journals, oldest first.
pub async fn line_journals(db: impl PgExecutor<'_>, line_id: &str) -> Result<Vec<JournalPosting>, sqlx::Error> {
    sqlx::query_as!(
        JournalPosting,
        "SELECT j.journal_id, j.kind AS \"kind: _\", j.occurred_at, j.created_by, j.memo, p.account, p.party, p.currency, p.amount
         FROM journal j JOIN posting p ON p.journal_id = j.journal_id
         WHERE j.line_id = $1
         ORDER BY j.posted_at, j.journal_id, p.posting_id",
        line_id
    )
    .fetch_all(db)
    .await
}

/// This consumer's cursor in a producer's feed (empty before the first event).
pub async fn feed_cursor(db: impl PgExecutor<'_>, feed: &str) -> Result<String, sqlx::Error> {
    let row = sqlx::query!("SELECT position FROM feed_cursor WHERE feed = $1", feed).fetch_optional(db).await?;
    Ok(row.map(|r| r.position).unwrap_or_default())
}
