-- Payout profiles: who and where to pay. The legal name and account are sealed
-- (XChaCha20-Poly1305, the promoter id as associated data) under the key named by
-- key_id; only their masked forms are stored in the clear.
CREATE TABLE payout_profile (
    promoter_id    text        PRIMARY KEY,
    method         text        NOT NULL CHECK (method IN ('alipay', 'wechat_pay', 'bank_card')),
    masked_name    text        NOT NULL,
    masked_account text        NOT NULL,
    bank_name      text        NOT NULL,
    key_id         text        NOT NULL,
    sealed         bytea       NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- A line can be held for a reason of its own (no payout profile): nothing moves,
-- like a carried-forward line. Tax withheld at the close is deducted from the amount.
ALTER TABLE batch_line ADD COLUMN withheld bigint NOT NULL DEFAULT 0 CHECK (withheld >= 0);
ALTER TABLE batch_line ADD COLUMN hold_reason text;
ALTER TABLE batch_line DROP CONSTRAINT batch_line_status_check;
ALTER TABLE batch_line ADD CONSTRAINT batch_line_status_check
    CHECK (status IN ('pending', 'paid', 'failed', 'carried_forward', 'held'));
ALTER TABLE batch_line DROP CONSTRAINT batch_line_check;
ALTER TABLE batch_line ADD CONSTRAINT batch_line_amount_check
    CHECK (status IN ('carried_forward', 'held') OR amount = settled_share + reissued - clawback_netted - withheld);
ALTER TABLE batch_line ADD CONSTRAINT batch_line_hold_reason_check CHECK ((status = 'held') = (hold_reason IS NOT NULL));

-- Withholding: the tax withheld is owed to the tax authority on the promoter's behalf.
ALTER TABLE journal DROP CONSTRAINT journal_kind_check;
ALTER TABLE journal ADD CONSTRAINT journal_kind_check
    CHECK (kind IN ('commission', 'sweep', 'close', 'payout', 'adjustment', 'withholding'));
ALTER TABLE posting DROP CONSTRAINT posting_account_check;
ALTER TABLE posting ADD CONSTRAINT posting_account_check CHECK (account IN (
    'supplier_charges', 'promoter_estimated', 'promoter_settleable', 'promoter_payable', 'promoter_netting',
    'fee_estimated', 'fee_settleable', 'fee_revenue', 'payouts', 'adjustments',
    'tax_withheld'           -- income tax withheld from promoters, owed to the tax authority (credit)
));
-- A line's money history reads its journals by batch line too.
CREATE INDEX journal_by_batch_line ON journal (batch_line_id) WHERE batch_line_id IS NOT NULL;
-- A promoter's page lists their lines newest first, and a hold checks the promoter
-- is known.
CREATE INDEX position_by_promoter ON position (promoter_id, paid_at DESC);
CREATE INDEX adjustment_by_promoter ON adjustment (promoter_id);
