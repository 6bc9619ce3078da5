//! Budgets and their months' spend. Ingest reads the live budgets of the suppliers
//! it moves under a share lock (so a cap cannot change under it) and each month's
//! spend under an update lock, in a fixed order.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;
use xiaopu_money::Minor;

use crate::domain::budget::{Budget, Spend};

/// A budget as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetRow {
    pub budget: Budget,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// A month's spend row, with when its alerts went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRow {
    pub budget_id: Uuid,
    pub month: String,
    pub spend: Spend,
    pub warned_at: Option<DateTime<Utc>>,
    pub exhausted_at: Option<DateTime<Utc>>,
}

struct Stored {
    budget_id: Uuid,
    supplier_id: String,
    product_id: Option<Uuid>,
    currency: String,
    cap_minor: i64,
    first_month: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    removed_at: Option<DateTime<Utc>>,
}

impl From<Stored> for BudgetRow {
    fn from(s: Stored) -> Self {
        BudgetRow {
            budget: Budget {
                budget_id: s.budget_id,
                supplier_id: s.supplier_id,
                product_id: s.product_id,
                currency: s.currency,
                cap: Minor::new(s.cap_minor),
                first_month: s.first_month,
            },
            created_at: s.created_at,
            updated_at: s.updated_at,
            removed_at: s.removed_at,
        }
    }
}

/// The live budgets of `suppliers`, share-locked until the transaction ends: a cap
/// change or removal waits for the ingest that read it.
pub async fn live_locked(conn: &mut PgConnection, suppliers: &[String]) -> Result<Vec<Budget>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Stored,
        "SELECT budget_id, supplier_id, product_id, currency, cap_minor, first_month, created_at, updated_at, removed_at
           FROM budget WHERE supplier_id = ANY($1) AND removed_at IS NULL
          ORDER BY budget_id FOR SHARE",
        suppliers
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|s| BudgetRow::from(s).budget).collect())
}

/// The months' spend of `keys` (budget, month), created at zero where new, and locked
/// in key order until the transaction ends (so two ingests queue, never deadlock).
pub async fn spend_locked(conn: &mut PgConnection, keys: &[(Uuid, String)]) -> Result<Vec<SpendRow>, sqlx::Error> {
    let (ids, months): (Vec<Uuid>, Vec<String>) = keys.iter().cloned().unzip();
    sqlx::query!(
        "INSERT INTO budget_spend (budget_id, month, spent_minor)
         SELECT b, m, 0 FROM UNNEST($1::uuid[], $2::text[]) AS k(b, m) ORDER BY b, m
         ON CONFLICT DO NOTHING",
        &ids,
        &months
    )
    .execute(&mut *conn)
    .await?;
    let rows = sqlx::query!(
        r#"SELECT s.budget_id, s.month, s.spent_minor, s.refused_lines, s.warned_at, s.exhausted_at, b.cap_minor
             FROM budget_spend s JOIN budget b USING (budget_id)
             JOIN UNNEST($1::uuid[], $2::text[]) AS k(b, m) ON s.budget_id = k.b AND s.month = k.m
            ORDER BY s.budget_id, s.month FOR UPDATE OF s"#,
        &ids,
        &months
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SpendRow {
            budget_id: r.budget_id,
            month: r.month,
            spend: Spend { cap: Minor::new(r.cap_minor), spent: Minor::new(r.spent_minor), refused: r.refused_lines },
            warned_at: r.warned_at,
            exhausted_at: r.exhausted_at,
        })
        .collect())
}

/// Writes back months' spend and alert times.
pub async fn save_spend(conn: &mut PgConnection, rows: &[SpendRow]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.budget_id).collect();
    let months: Vec<String> = rows.iter().map(|r| r.month.clone()).collect();
    let spent: Vec<i64> = rows.iter().map(|r| r.spend.spent.get()).collect();
    let refused: Vec<i64> = rows.iter().map(|r| r.spend.refused).collect();
    let warned: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.warned_at).collect();
    let exhausted: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.exhausted_at).collect();
    sqlx::query!(
        r#"UPDATE budget_spend s
              SET spent_minor = v.spent, refused_lines = v.refused, warned_at = v.warned, exhausted_at = v.exhausted
             FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::timestamptz[])
                  AS v(b, m, spent, refused, warned, exhausted)
            WHERE s.budget_id = v.b AND s.month = v.m"#,
        &ids,
        &months,
        &spent,
        &refused,
        &warned as &[Option<DateTime<Utc>>],
        &exhausted as &[Option<DateTime<Utc>>]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Stops every concurrent line write until this transaction ends, and waits for those
/// under way: what a new budget's first spend is summed under, so no line moves
/// between the sum and the budget's row.
pub async fn hold_lines_still(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("LOCK TABLE order_line IN SHARE MODE").execute(conn).await?;
    Ok(())
}

/// Declares this transaction a line writer before it reads budgets: a budget being
/// set waits for it (see [`hold_lines_still`]), and it waits for that budget.
pub async fn announce_line_writes(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("LOCK TABLE order_line IN ROW EXCLUSIVE MODE").execute(conn).await?;
    Ok(())
}

/// The live budget of a scope, locked for a change of cap.
pub async fn live_of_scope(
    conn: &mut PgConnection,
    supplier_id: &str,
    product_id: Option<Uuid>,
    currency: &str,
) -> Result<Option<BudgetRow>, sqlx::Error> {
    let row = sqlx::query_as!(
        Stored,
        "SELECT budget_id, supplier_id, product_id, currency, cap_minor, first_month, created_at, updated_at, removed_at
           FROM budget
          WHERE supplier_id = $1 AND product_id IS NOT DISTINCT FROM $2 AND currency = $3 AND removed_at IS NULL
          FOR UPDATE",
        supplier_id,
        product_id,
        currency
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(BudgetRow::from))
}

pub async fn set_cap(
    conn: &mut PgConnection,
    budget_id: Uuid,
    cap: Minor,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE budget SET cap_minor = $2, updated_at = $3 WHERE budget_id = $1", budget_id, cap.get(), at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts a new budget with the spend its months already hold: the commission of
/// the covered lines paid from its first month on, per month in `zone`.
pub async fn insert(
    conn: &mut PgConnection,
    row: &BudgetRow,
    zone: &str,
    from: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let b = &row.budget;
    sqlx::query!(
        "INSERT INTO budget (budget_id, supplier_id, product_id, currency, cap_minor, first_month, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        b.budget_id,
        b.supplier_id,
        b.product_id,
        b.currency,
        b.cap.get(),
        b.first_month,
        row.created_at
    )
    .execute(&mut *conn)
    .await?;
    // Through the product index: the supplier's products, or the one.
    sqlx::query!(
        r#"INSERT INTO budget_spend (budget_id, month, spent_minor)
           SELECT $1, to_char(l.paid_at AT TIME ZONE $5, 'YYYY-MM'), sum(l.commission_minor)::bigint
             FROM order_line l
            WHERE l.product_id IN (SELECT p.product_id FROM rm_product p
                                    WHERE p.supplier_id = $2 AND ($3::uuid IS NULL OR p.product_id = $3))
              AND l.supplier_id = $2 AND l.currency = $4 AND l.paid_at >= $6 AND l.attributed
            GROUP BY 2"#,
        b.budget_id,
        b.supplier_id,
        b.product_id,
        b.currency,
        zone,
        from
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove(db: impl PgExecutor<'_>, budget_id: Uuid, at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE budget SET removed_at = $2, updated_at = $2 WHERE budget_id = $1 AND removed_at IS NULL",
        budget_id,
        at
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(db: impl PgExecutor<'_>, budget_id: Uuid) -> Result<Option<BudgetRow>, sqlx::Error> {
    let row = sqlx::query_as!(
        Stored,
        "SELECT budget_id, supplier_id, product_id, currency, cap_minor, first_month, created_at, updated_at, removed_at
           FROM budget WHERE budget_id = $1",
        budget_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(BudgetRow::from))
}

/// A supplier's live budgets covering `month`, each with that month's spend (zero
/// where nothing was spent yet).
pub async fn of_supplier(
    db: impl PgExecutor<'_>,
    supplier_id: &str,
    month: &str,
) -> Result<Vec<(BudgetRow, SpendRow)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT b.budget_id, b.supplier_id, b.product_id, b.currency, b.cap_minor, b.first_month,
                  b.created_at, b.updated_at, b.removed_at,
                  coalesce(s.spent_minor, 0) AS "spent_minor!", coalesce(s.refused_lines, 0) AS "refused_lines!",
                  s.warned_at AS "warned_at?", s.exhausted_at AS "exhausted_at?"
             FROM budget b LEFT JOIN budget_spend s ON s.budget_id = b.budget_id AND s.month = $2
            WHERE b.supplier_id = $1 AND b.removed_at IS NULL AND b.first_month <= $2
            ORDER BY b.product_id NULLS FIRST, b.currency, b.created_at"#,
        supplier_id,
        month
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let budget = BudgetRow::from(Stored {
                budget_id: r.budget_id,
                supplier_id: r.supplier_id,
                product_id: r.product_id,
                currency: r.currency,
                cap_minor: r.cap_minor,
                first_month: r.first_month,
                created_at: r.created_at,
                updated_at: r.updated_at,
                removed_at: r.removed_at,
            });
            let spend = SpendRow {
                budget_id: r.budget_id,
                month: month.to_owned(),
                spend: Spend {
                    cap: Minor::new(r.cap_minor),
                    spent: Minor::new(r.spent_minor),
                    refused: r.refused_lines,
                },
                warned_at: r.warned_at,
                exhausted_at: r.exhausted_at,
            };
            (budget, spend)
        })
        .collect())
}
