-- The ledger: balanced journals of postings in integer minor units. Debits are
-- positive, credits negative; every journal sums to zero, so the ledger does.
-- Postings are never edited: corrections are new journals.
CREATE TABLE journal (
    journal_id      uuid        PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('commission', 'sweep', 'close', 'payout', 'adjustment')),
    line_id         text,
    promoter_id     text,
    supplier_id     text,
    batch_line_id   uuid,
    source_event_id text,
    occurred_at     timestamptz NOT NULL,
    posted_at       timestamptz NOT NULL,
    created_by      text        NOT NULL,
    memo            text        NOT NULL
);
CREATE INDEX journal_by_line ON journal (line_id) WHERE line_id IS NOT NULL;

CREATE TABLE posting (
    posting_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    journal_id  uuid        NOT NULL REFERENCES journal,
    account     text        NOT NULL CHECK (account IN (
                    'supplier_charges',      -- what a supplier owes for commission (debit)
                    'promoter_estimated',    -- promoters' share, not yet settleable (credit)
                    'promoter_settleable',   -- confirmed and past the hold (credit)
                    'promoter_payable',      -- in a payout batch, not yet paid (credit)
                    'promoter_netting',      -- clawbacks owed (debit) or credits due (credit), netted at payout
                    'fee_estimated',         -- the platform's service fee by stage (credit)
                    'fee_settleable',
                    'fee_revenue',
                    'payouts',               -- money paid out to promoters (credit)
                    'adjustments'            -- the platform's side of manual adjustments
                )),
    party       text        NOT NULL,
    currency    text        NOT NULL,
    amount      bigint      NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX posting_by_journal ON posting (journal_id);
CREATE INDEX posting_by_party ON posting (account, party, occurred_at);

CREATE FUNCTION posting_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'postings are never changed; post a correcting journal instead';
END
$$;
CREATE TRIGGER posting_immutable BEFORE UPDATE OR DELETE ON posting
    FOR EACH ROW EXECUTE FUNCTION posting_is_immutable();

-- Periods closed into payout batches.
CREATE TABLE period (
    period_id  uuid        PRIMARY KEY,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    closed_by  text        NOT NULL,
    closed_at  timestamptz NOT NULL,
    CONSTRAINT period_unique UNIQUE (starts_at, ends_at),
    CHECK (starts_at < ends_at)
);

CREATE TABLE batch (
    batch_id       uuid        PRIMARY KEY,
    period_id      uuid        NOT NULL UNIQUE REFERENCES period,
    status         text        NOT NULL CHECK (status IN ('draft', 'approved', 'exported')),
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL,
    approved_by    text,
    approved_at    timestamptz,
    exported_at    timestamptz,
    held_promoters text[]      NOT NULL,
    CHECK (approved_by IS NULL OR approved_by <> created_by)
);

CREATE TABLE batch_line (
    batch_line_id     uuid        PRIMARY KEY,
    batch_id          uuid        NOT NULL REFERENCES batch,
    promoter_id       text        NOT NULL,
    currency          text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'carried_forward')),
    settled_share     bigint      NOT NULL,
    service_fee       bigint      NOT NULL,
    reissued          bigint      NOT NULL,
    clawback_netted   bigint      NOT NULL,
    amount            bigint      NOT NULL,
    order_lines       integer     NOT NULL,
    payment_reference text,
    failure_reason    text,
    recorded_by       text,
    recorded_at       timestamptz,
    -- A failed line's amount is paid again by the line that re-issues it.
    reissued_in       uuid        REFERENCES batch_line,
    CHECK (status = 'carried_forward' OR amount = settled_share + reissued - clawback_netted),
    UNIQUE (batch_id, promoter_id, currency)
);
CREATE INDEX batch_line_by_promoter ON batch_line (promoter_id);
CREATE INDEX batch_line_to_reissue ON batch_line (promoter_id) WHERE status = 'failed' AND reissued_in IS NULL;

-- Each attributed line's commission for each promoter, and where it is in the life
-- cycle: estimated → settleable (confirmed, hold passed) → settled (in a batch).
CREATE TABLE position (
    line_id       text        NOT NULL,
    promoter_id   text        NOT NULL,
    order_id      text        NOT NULL,
    supplier_id   text        NOT NULL,
    shop_id       text        NOT NULL,
    product_id    text        NOT NULL,
    currency      text        NOT NULL,
    paid_at       timestamptz NOT NULL,
    confirmed_at  timestamptz,
    line_state    text        NOT NULL,
    commission    bigint      NOT NULL CHECK (commission >= 0),
    fee_bps       integer     NOT NULL,
    fee           bigint      NOT NULL,
    share         bigint      NOT NULL,
    stage         text        NOT NULL CHECK (stage IN ('estimated', 'settleable', 'settled')),
    settleable_at timestamptz,
    batch_line_id uuid        REFERENCES batch_line,
    -- The share and fee when settled: what its payout line paid. Later refunds
    -- change share and fee; the difference went to netting (a clawback).
    settled_share bigint,
    settled_fee   bigint,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (line_id, promoter_id),
    CHECK (commission = fee + share),
    CHECK ((stage = 'settled') = (batch_line_id IS NOT NULL)),
    CHECK ((stage = 'settled') = (settled_share IS NOT NULL AND settled_fee IS NOT NULL))
);
CREATE INDEX position_awaiting_hold ON position (confirmed_at) WHERE stage = 'estimated' AND confirmed_at IS NOT NULL;
CREATE INDEX position_settleable ON position (promoter_id, settleable_at) WHERE stage = 'settleable';
CREATE INDEX position_by_paid_at ON position (paid_at, line_id);
CREATE INDEX position_by_batch_line ON position (batch_line_id) WHERE batch_line_id IS NOT NULL;
CREATE INDEX position_by_supplier ON position (supplier_id, paid_at);

-- Fraud-review holds: a held promoter stays out of batches until released.
CREATE TABLE hold (
    hold_id        uuid        PRIMARY KEY,
    promoter_id    text        NOT NULL,
    reason         text        NOT NULL,
    placed_by      text        NOT NULL,
    placed_at      timestamptz NOT NULL,
    released_by    text,
    released_at    timestamptz,
    release_reason text
);
CREATE UNIQUE INDEX hold_active ON hold (promoter_id) WHERE released_at IS NULL;

-- Manual adjustments: who, when, why.
CREATE TABLE adjustment (
    adjustment_id uuid        PRIMARY KEY,
    promoter_id   text        NOT NULL,
    currency      text        NOT NULL,
    amount        bigint      NOT NULL CHECK (amount <> 0),
    reason        text        NOT NULL,
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    request_id    text        NOT NULL,
    journal_id    uuid        NOT NULL REFERENCES journal,
    CONSTRAINT adjustment_request_unique UNIQUE (created_by, request_id)
);
