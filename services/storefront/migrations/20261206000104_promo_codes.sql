-- Promo codes (口令): share codes the promoter chose rather than drew. Kept upper-case;
-- unique with every other share code through the primary key.
ALTER TABLE share_link ADD COLUMN promo_code boolean NOT NULL DEFAULT false;
CREATE INDEX share_link_live_promo_codes ON share_link (shop_id) WHERE promo_code AND revoked_at IS NULL;

-- Misses per visitor key in the current window, against guessing codes. Unlogged: a
-- crash forgets recent misses, which costs a guesser's wait, nothing more.
CREATE UNLOGGED TABLE code_guess (
    visitor_key  text        PRIMARY KEY,
    window_start timestamptz NOT NULL,
    misses       integer     NOT NULL
);
