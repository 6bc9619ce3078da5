-- One row per order and buyer ingest has locked (by the key's 64-bit hash), so
-- concurrent batches wait only for batches touching the same order or buyer. Rows
-- are only ever locked, never read for their content: unlogged (no WAL; empty after
-- a crash, which loses nothing since locks end with their transaction). Replaces
-- the 1024 advisory-lock buckets, which made any two large batches share a bucket.
CREATE UNLOGGED TABLE ingest_lock (
    key bigint PRIMARY KEY
);
