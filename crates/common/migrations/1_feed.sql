-- The transactional outbox (DESIGN.md, "Feeds"). A producer writes its change and its
-- events in one transaction. Readers serve rows in (xid, seq) order and only below the
-- oldest running transaction id, so a transaction that commits late can never hide
-- behind a cursor that already moved past it.
CREATE TABLE outbox (
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    xid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    type_url    text        NOT NULL,
    payload     bytea       NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (xid, seq)
);

-- Wakes streaming readers; NOTIFY is delivered when the writing transaction commits.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('xiaopu_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- A consumer's position in a producer's feed, written in the same transaction as the
-- effects of the events before it.
CREATE TABLE feed_cursor (
    feed       text        PRIMARY KEY,
    position   text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Event ids a consumer has applied, so a redelivered event changes nothing.
CREATE TABLE feed_inbox (
    event_id   uuid        PRIMARY KEY,
    feed       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
