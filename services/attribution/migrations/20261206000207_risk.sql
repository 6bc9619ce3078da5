-- Risk rules that hold a line's commission until finance decides, and promoters
-- flagged by one (their new lines are held).
ALTER TABLE order_line
    ADD COLUMN risk_rule  text,
    ADD COLUMN risk_state text CHECK (risk_state IN ('held', 'released', 'voided')),
    ADD CHECK ((risk_rule IS NULL) = (risk_state IS NULL));
CREATE INDEX order_line_risk ON order_line (risk_state, decided_at, line_id) WHERE risk_state IS NOT NULL;

CREATE TABLE risk_flag (
    promoter_id text        NOT NULL,
    rule        text        NOT NULL,
    note        text        NOT NULL,
    raised_at   timestamptz NOT NULL,
    cleared_at  timestamptz,
    PRIMARY KEY (promoter_id, rule, raised_at)
);
CREATE UNIQUE INDEX risk_flag_open ON risk_flag (promoter_id, rule) WHERE cleared_at IS NULL;

-- Every risk decision, by a rule or by finance: never changed.
CREATE TABLE risk_decision (
    decision_id uuid        PRIMARY KEY,
    line_id     text,
    promoter_id text        NOT NULL,
    action      text        NOT NULL CHECK (action IN ('held', 'released', 'voided', 'flagged', 'cleared')),
    rule        text        NOT NULL,
    actor       text        NOT NULL,
    note        text        NOT NULL,
    decided_at  timestamptz NOT NULL
);
CREATE INDEX risk_decision_by_line ON risk_decision (line_id, decided_at) WHERE line_id IS NOT NULL;
