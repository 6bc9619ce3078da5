-- Webhooks (issue 18): promoters' and suppliers' subscriptions to their events, and
-- every delivery, written in the transaction of the change it reports (an outbox):
-- nothing committed goes unsent, nothing rolled back is sent. A delivery's id is
-- derived from the webhook and the change, so applying a change twice adds nothing.
CREATE TABLE webhook (
    webhook_id    uuid        PRIMARY KEY,
    owner_id      text        NOT NULL,
    url           text        NOT NULL,
    events        text[]      NOT NULL CHECK (cardinality(events) > 0),
    -- The signing secret, sealed with the payee key (`key_id` names which).
    key_id        text        NOT NULL,
    sealed_secret bytea       NOT NULL,
    request_id    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    deleted_at    timestamptz,
    UNIQUE (owner_id, request_id)
);

CREATE INDEX webhook_live_by_owner ON webhook (owner_id) WHERE deleted_at IS NULL;

CREATE TABLE webhook_delivery (
    delivery_id      uuid        PRIMARY KEY,
    webhook_id       uuid        NOT NULL REFERENCES webhook,
    event            text        NOT NULL,
    body             text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    delivered_at     timestamptz,
    last_status_code integer     NOT NULL DEFAULT 0,
    last_error       text        NOT NULL DEFAULT ''
);

-- The sender's queue: only what is still to send.
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status = 'pending';
-- An owner's delivery log.
CREATE INDEX webhook_delivery_by_webhook ON webhook_delivery (webhook_id, created_at DESC);
