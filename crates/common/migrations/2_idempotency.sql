-- Idempotency keys of client writes (see `idempotency.rs`): which request each
-- caller's `request_id` was first used for, as the SHA-256 of its protobuf encoding,
-- and the answer it got (the encoded response; NULL for keys that only deduplicate,
-- such as ingested event ids). Written in the same transaction as the write it
-- guards, so a key exists exactly when its write committed.
CREATE TABLE idempotency_key (
    scope       text        NOT NULL,
    caller      text        NOT NULL,
    request_id  text        NOT NULL,
    fingerprint bytea       NOT NULL,
    response    bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, caller, request_id)
);
