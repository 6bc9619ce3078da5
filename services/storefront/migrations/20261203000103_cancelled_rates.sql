-- Scheduled rates a supplier cancelled before they came into force. They leave
-- commission_rate (so every "rate in force" lookup stays as it is, and the same
-- effective time may be scheduled again) and are kept here as history.
CREATE TABLE cancelled_rate (
    rate_id        uuid        PRIMARY KEY,
    product_id     uuid        NOT NULL REFERENCES product,
    rate_bps       integer     NOT NULL,
    effective_from timestamptz NOT NULL,
    set_by         text        NOT NULL,
    set_at         timestamptz NOT NULL,
    request_id     text        NOT NULL,
    cancelled_by   text        NOT NULL,
    cancelled_at   timestamptz NOT NULL
);
CREATE INDEX cancelled_rate_by_product ON cancelled_rate (product_id, effective_from DESC);
