//! A per-statement profile of a run from pg_stat_statements (the benchmark's cluster
//! preloads it): which statements took the database's time, in which service's
//! database. Printed after the table for the runs that miss a target.
use sqlx::{Connection, PgConnection};

pub struct StatementProfile {
    admin_url: String,
}

/// One statement's share of a run.
pub struct StatementTime {
    pub database: String,
    pub calls: i64,
    pub total_ms: f64,
    pub query: String,
}

impl StatementProfile {
    /// None when the cluster does not preload pg_stat_statements.
    pub async fn start(admin_url: &str) -> Option<Self> {
        let mut conn = PgConnection::connect(admin_url).await.ok()?;
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(&mut conn).await.ok()?;
        sqlx::query("SELECT pg_stat_statements_reset()").execute(&mut conn).await.ok()?;
        Some(Self { admin_url: admin_url.to_owned() })
    }

    /// The `n` statements with the most total execution time since `start`.
    pub async fn top(&self, n: i64) -> anyhow::Result<Vec<StatementTime>> {
        let mut conn = PgConnection::connect(&self.admin_url).await?;
        let rows: Vec<(String, i64, f64, String)> = sqlx::query_as(
            "SELECT d.datname::text, s.calls, s.total_exec_time, regexp_replace(s.query, '\\s+', ' ', 'g')
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname LIKE 'bench_%'
             ORDER BY s.total_exec_time DESC LIMIT $1",
        )
        .bind(n)
        .fetch_all(&mut conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(database, calls, total_ms, query)| StatementTime { database, calls, total_ms, query })
            .collect())
    }
}

/// Prints a profile under a heading, each query cut to a readable length.
pub fn print(heading: &str, statements: &[StatementTime]) {
    println!();
    println!("Profile — {heading}: the statements with the most database time");
    println!();
    println!("| database | calls | total ms | statement |");
    println!("|---|---:|---:|---|");
    for s in statements {
        let query: String = s.query.chars().take(140).collect();
        println!("| {} | {} | {:.0} | `{}` |", s.database, s.calls, s.total_ms, query.replace('|', "\\|"));
    }
}
