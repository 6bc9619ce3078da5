//! Payout profiles: masked forms in the clear, the payee's details sealed.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    pub promoter_id: String,
    pub method: String,
    pub masked_name: String,
    pub masked_account: String,
    pub bank_name: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
    pub updated_at: DateTime<Utc>,
}

pub async fn upsert(conn: &mut PgConnection, p: &ProfileRow) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO payout_profile (promoter_id, method, masked_name, masked_account, bank_name, key_id, sealed, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (promoter_id) DO UPDATE SET method = $2, masked_name = $3, masked_account = $4, bank_name = $5,
                                                 key_id = $6, sealed = $7, updated_at = $8",
        p.promoter_id,
        p.method,
        p.masked_name,
        p.masked_account,
        p.bank_name,
        p.key_id,
        p.sealed,
        p.updated_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(db: impl PgExecutor<'_>, promoter_id: &str) -> Result<Option<ProfileRow>, sqlx::Error> {
    sqlx::query_as!(ProfileRow, "SELECT * FROM payout_profile WHERE promoter_id = $1", promoter_id)
        .fetch_optional(db)
        .await
}

/// The profiles of `promoters` (those that have one).
pub async fn of(db: impl PgExecutor<'_>, promoters: &[String]) -> Result<Vec<ProfileRow>, sqlx::Error> {
    sqlx::query_as!(ProfileRow, "SELECT * FROM payout_profile WHERE promoter_id = ANY($1::text[])", promoters)
        .fetch_all(db)
        .await
}

/// Of `promoters`, those with a payout profile.
pub async fn having_profile(conn: &mut PgConnection, promoters: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT promoter_id FROM payout_profile WHERE promoter_id = ANY($1::text[])", promoters)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.promoter_id).collect())
}
