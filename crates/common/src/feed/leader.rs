//! One active worker among replicas: a PostgreSQL session advisory lock, held on a
//! connection of its own for as long as the worker runs. The relay and the consumer
//! of a feed use it, so replicas stand by instead of doing the same work twice.
use sqlx::{Connection, PgConnection, PgPool};

/// A held lock; released when [`SessionLock::release`]d or its connection drops.
pub struct SessionLock {
    conn: PgConnection,
}

impl SessionLock {
    /// Takes the lock named `name` if no other session holds it.
    pub async fn try_take(pool: &PgPool, name: &str) -> Result<Option<Self>, sqlx::Error> {
        // Detached: a pooled connection returned to the pool would keep the lock.
        let mut conn = pool.acquire().await?.detach();
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
        if taken {
            Ok(Some(Self { conn }))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }

    /// Fails once the lock's connection is gone: another replica may hold it now.
    pub async fn check(&mut self) -> Result<(), sqlx::Error> {
        self.conn.ping().await
    }

    pub async fn release(self) {
        let _ = self.conn.close().await;
    }
}
