-- Suppliers' commission budgets: a cap on what the lines of their catalogue (or of
-- one product) paid in one calendar month may earn. Removing a budget keeps its row
-- (and its months' spend) for the record.
CREATE TABLE budget (
    budget_id   uuid        PRIMARY KEY,
    supplier_id text        NOT NULL,
    -- NULL: every product of the supplier's.
    product_id  uuid,
    currency    text        NOT NULL,
    cap_minor   bigint      NOT NULL CHECK (cap_minor > 0),
    -- The first month it covers, `YYYY-MM` in the business zone: the one it was set in.
    first_month text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    removed_at  timestamptz
);
-- One live budget per scope; setting the scope again changes its cap.
CREATE UNIQUE INDEX budget_live_scope ON budget (supplier_id, coalesce(product_id, '00000000-0000-0000-0000-000000000000'), currency)
    WHERE removed_at IS NULL;

-- What a budget's month has spent: the commission its covered lines paid in that
-- month earn now. Ingest moves it under the row's lock, in the transaction that moves
-- the lines, so it never passes the cap.
CREATE TABLE budget_spend (
    budget_id     uuid        NOT NULL REFERENCES budget,
    month         text        NOT NULL,
    spent_minor   bigint      NOT NULL CHECK (spent_minor >= 0),
    refused_lines bigint      NOT NULL DEFAULT 0,
    -- When the 80 % warning and the exhaustion were announced (once each).
    warned_at     timestamptz,
    exhausted_at  timestamptz,
    PRIMARY KEY (budget_id, month)
);
