-- The JetStream transport (docs/scaling.md). A producer's relay publishes its outbox
-- to JetStream in (xid, seq) order and keeps here the position after the last event
-- the stream acknowledged, so a relay that restarts resends at most what was not
-- yet acknowledged (and JetStream drops those by their Nats-Msg-Id).
CREATE TABLE feed_relay (
    stream     text        PRIMARY KEY,
    position   text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A consumer on JetStream also keeps the stream sequence of the last message it
-- applied, in the same transaction as its effects: a message that arrives out of
-- order (after a redelivery) is refused rather than applied, and one at or below it
-- is a redelivery.
ALTER TABLE feed_cursor ADD COLUMN stream_seq bigint;
