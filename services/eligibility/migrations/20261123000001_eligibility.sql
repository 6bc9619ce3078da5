-- Credit scores as reported by bureaus: history, never overwritten.
CREATE TABLE credit_score (
    score_id    uuid        PRIMARY KEY,
    person_id   text        NOT NULL,
    score       integer     NOT NULL CHECK (score BETWEEN 350 AND 950),
    source      text        NOT NULL,
    observed_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    recorded_by text        NOT NULL,
    -- Idempotency key, scoped to the caller that recorded it.
    request_id  text        NOT NULL,
    CONSTRAINT credit_score_request_unique UNIQUE (recorded_by, request_id)
);

CREATE INDEX credit_score_by_person ON credit_score (person_id, observed_at DESC, score_id DESC);

-- Every eligibility decision with the evidence and the rule it was taken on, so an
-- applicant or an auditor can ask "why".
CREATE TABLE decision (
    decision_id       uuid        PRIMARY KEY,
    person_id         text        NOT NULL,
    -- The recording that triggered this decision.
    trigger_score_id  uuid        NOT NULL UNIQUE REFERENCES credit_score,
    -- The evidence: the person's latest score at decision time.
    score_id          uuid        NOT NULL REFERENCES credit_score,
    score             integer     NOT NULL,
    score_source      text        NOT NULL,
    score_observed_at timestamptz NOT NULL,
    eligible          boolean     NOT NULL,
    reason            text        NOT NULL CHECK (reason IN ('score_above_threshold', 'score_not_above_threshold', 'score_stale')),
    explanation       text        NOT NULL,
    threshold         integer     NOT NULL,
    freshness_days    integer     NOT NULL,
    rule_version      text        NOT NULL,
    previous_status   text        NOT NULL CHECK (previous_status IN ('none', 'approved', 'refused', 'suspended')),
    status            text        NOT NULL CHECK (status IN ('approved', 'refused', 'suspended')),
    decided_at        timestamptz NOT NULL
);

CREATE INDEX decision_by_person ON decision (person_id, decided_at DESC, decision_id DESC);

-- The current status of everyone ever scored: CheckEligibility reads one row.
CREATE TABLE promoter (
    person_id          text        PRIMARY KEY,
    status             text        NOT NULL CHECK (status IN ('approved', 'refused', 'suspended')),
    status_since       timestamptz NOT NULL,
    latest_score_id    uuid        NOT NULL REFERENCES credit_score,
    latest_score       integer     NOT NULL,
    latest_source      text        NOT NULL,
    latest_observed_at timestamptz NOT NULL,
    latest_decision_id uuid        NOT NULL REFERENCES decision,
    updated_at         timestamptz NOT NULL
);
