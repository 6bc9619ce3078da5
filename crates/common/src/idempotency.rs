//! Idempotent writes. A client may retry a write with the same `request_id` (or an
//! ingested event with the same event id): the retry gets the first answer and changes
//! nothing. The same key sent with a different request is a client bug that silence
//! would hide, so it is refused with `FAILED_PRECONDITION` / `IDEMPOTENCY_KEY_REUSED`.
//!
//! "The same request" is decided on the request as it was sent, not on the values
//! stored from it: a writer keeps the request's [`fingerprint`] beside the key, and a
//! retry's fingerprint must equal it. Comparing stored values instead breaks on every
//! value the database normalises (a timestamp kept to the microsecond, trimmed text) and
//! misses every field the row does not keep.
use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use tonic::{Code, Status};

use crate::error::{database_status, reason, status_with_reason};

/// SHA-256 of the message's protobuf encoding. prost encodes fields in tag order and
/// lists in their order, so equal messages give equal fingerprints (no request holds
/// a map, whose order would not be fixed).
pub fn fingerprint<M: prost::Message>(message: &M) -> Vec<u8> {
    Sha256::digest(message.encode_to_vec()).to_vec()
}

/// A key used before for a different request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} `{key}` was already used for a different request; a new request needs a new {field}")]
pub struct KeyReused {
    /// The request field that carries the key (`request_id`, `event_id`).
    pub field: &'static str,
    pub key: String,
}

impl KeyReused {
    pub fn request_id(key: impl Into<String>) -> Self {
        Self { field: "request_id", key: key.into() }
    }
}

impl From<KeyReused> for Status {
    fn from(err: KeyReused) -> Self {
        status_with_reason(Code::FailedPrecondition, reason::IDEMPOTENCY_KEY_REUSED, err.to_string())
    }
}

/// What a write should do with its request.
#[derive(Debug)]
pub enum Claim<R> {
    /// The key is new: perform the write in the transaction that claimed it, and
    /// [`Key::remember`] its answer there before committing.
    New(Key),
    /// The same request was answered before: this is that first answer.
    Replay(R),
}

/// A claimed key, waiting for the answer of its write.
#[derive(Debug)]
#[must_use = "remember the answer in the write's transaction"]
pub struct Key {
    scope: &'static str,
    caller: String,
    request_id: String,
}

impl Key {
    /// Stores the first answer beside the key, in the write's transaction: a retry
    /// then gets exactly this answer, whatever changed since.
    pub async fn remember<R: prost::Message>(self, tx: &mut PgConnection, answer: &R) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE idempotency_key SET response = $4 WHERE scope = $1 AND caller = $2 AND request_id = $3")
            .bind(self.scope)
            .bind(&self.caller)
            .bind(&self.request_id)
            .bind(answer.encode_to_vec())
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// Why a claim failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reused(#[from] KeyReused),
    #[error("idempotency key: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Reused(reused) => reused.into(),
            Error::Database(db) => database_status(&db),
        }
    }
}

/// Claims `caller`'s `request_id` for the request with `fingerprint`, inside the
/// transaction of the write it guards. `scope` names the operation (the RPC), so one
/// key may serve different RPCs. A concurrent first use of the same key waits on the
/// key's row until the other transaction ends, then answers as if it came second.
pub async fn claim<R: prost::Message + Default>(
    tx: &mut PgConnection,
    scope: &'static str,
    caller: &str,
    request_id: &str,
    fingerprint: &[u8],
) -> Result<Claim<R>, Error> {
    let inserted: Option<bool> = sqlx::query_scalar(
        "INSERT INTO idempotency_key (scope, caller, request_id, fingerprint) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING true",
    )
    .bind(scope)
    .bind(caller)
    .bind(request_id)
    .bind(fingerprint)
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_some() {
        return Ok(Claim::New(Key { scope, caller: caller.to_owned(), request_id: request_id.to_owned() }));
    }
    let (stored, answer): (Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT fingerprint, response FROM idempotency_key WHERE scope = $1 AND caller = $2 AND request_id = $3",
    )
    .bind(scope)
    .bind(caller)
    .bind(request_id)
    .fetch_one(&mut *tx)
    .await?;
    replay(|| KeyReused::request_id(request_id), Some(&stored), fingerprint, ())?;
    let answer =
        answer.ok_or_else(|| sqlx::Error::Protocol(format!("idempotency key {scope}/{request_id} has no answer")))?;
    let answer = R::decode(answer.as_slice()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Claim::Replay(answer))
}

/// One event's key in [`claim_many`]: new, or the same event seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    New,
    Again,
}

/// [`claim`] for many keys at once (the events of an ingest batch), one answer per
/// key in the order given. Keys are inserted in sorted order so two batches sharing
/// keys queue on them rather than deadlock.
pub async fn claim_many(
    tx: &mut PgConnection,
    scope: &str,
    caller: &str,
    keys: &[(&str, &[u8])],
) -> Result<Vec<Result<Seen, KeyReused>>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted: Vec<(&str, &[u8])> = keys.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0)); // stable: the first occurrence is the one stored
    let ids: Vec<&str> = sorted.iter().map(|(id, _)| *id).collect();
    let prints: Vec<&[u8]> = sorted.iter().map(|(_, print)| *print).collect();
    let new: HashSet<String> = sqlx::query_scalar(
        "INSERT INTO idempotency_key (scope, caller, request_id, fingerprint)
         SELECT $1, $2, k, f FROM UNNEST($3::text[], $4::bytea[]) AS i(k, f)
         ON CONFLICT DO NOTHING RETURNING request_id",
    )
    .bind(scope)
    .bind(caller)
    .bind(&ids)
    .bind(&prints)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let old: Vec<&str> = ids.iter().copied().filter(|id| !new.contains(*id)).collect();
    let stored: HashMap<String, Vec<u8>> = if old.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, (String, Vec<u8>)>(
            "SELECT request_id, fingerprint FROM idempotency_key
             WHERE scope = $1 AND caller = $2 AND request_id = ANY($3::text[])",
        )
        .bind(scope)
        .bind(caller)
        .bind(&old)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect()
    };
    // The first occurrence of a new key is New; any later one in the same call is
    // compared with it, like a retry.
    let mut first_new: HashMap<&str, &[u8]> = HashMap::new();
    Ok(keys
        .iter()
        .map(|(id, print)| {
            let reused = || KeyReused { field: "event_id", key: (*id).to_owned() };
            if new.contains(*id) {
                match first_new.get(id) {
                    None => {
                        first_new.insert(id, print);
                        Ok(Seen::New)
                    }
                    Some(first) => replay(reused, Some(first), print, Seen::Again),
                }
            } else {
                replay(reused, stored.get(*id).map(Vec::as_slice), print, Seen::Again)
            }
        })
        .collect())
}

/// What was stored under a key: the first request's fingerprint and its result.
/// Rows written before fingerprints were kept have none and are taken as the same
/// request (what the service answered before).
pub fn replay<T>(
    reused: impl FnOnce() -> KeyReused,
    stored: Option<&[u8]>,
    retry: &[u8],
    first: T,
) -> Result<T, KeyReused> {
    match stored {
        Some(stored) if stored != retry => Err(reused()),
        _ => Ok(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_replays_and_any_change_is_refused() {
        let first = prost_types::Timestamp { seconds: 1_800_000_000, nanos: 123_456_789 };
        let stored = fingerprint(&first);
        assert_eq!(replay(|| KeyReused::request_id("r1"), Some(&stored), &fingerprint(&first), 7), Ok(7));
        // A nanosecond the database would not keep still makes a different request.
        let changed = prost_types::Timestamp { nanos: 123_456_000, ..first };
        let err = replay(|| KeyReused::request_id("r1"), Some(&stored), &fingerprint(&changed), 7)
            .expect_err("a changed field");
        assert_eq!(err.key, "r1");
        let status = Status::from(err);
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert!(status.message().contains("request_id `r1`"), "{}", status.message());
        assert_eq!(replay(|| KeyReused::request_id("r1"), None, &fingerprint(&changed), 7), Ok(7));
    }
}
