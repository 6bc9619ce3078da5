-- Product categories as history, from the storefront's feed: group rules may apply
-- per category, as it was when the order was paid.
CREATE TABLE rm_product_category (
    product_id uuid        NOT NULL,
    since      timestamptz NOT NULL,
    category   text        NOT NULL,
    PRIMARY KEY (product_id, since)
);

-- Promoter groups (等级) of a supplier's.
CREATE TABLE promoter_group (
    group_id         uuid        PRIMARY KEY,
    supplier_id      text        NOT NULL,
    name             text        NOT NULL,
    -- Promoters whose lines of this supplier paid last month earn at least this join
    -- for the month; NULL: members by hand only.
    promote_at_minor bigint      CHECK (promote_at_minor > 0),
    currency         text        NOT NULL,
    created_at       timestamptz NOT NULL,
    UNIQUE (supplier_id, name)
);

-- A group's rules, as history: never edited; the latest of a scope that has begun
-- is in force.
CREATE TABLE group_rule (
    rule_id        uuid        PRIMARY KEY,
    group_id       uuid        NOT NULL REFERENCES promoter_group,
    product_id     uuid,
    category       text,
    kind           text        NOT NULL CHECK (kind IN ('uplift', 'absolute')),
    bps            integer     NOT NULL CHECK (bps BETWEEN 0 AND 10000),
    effective_from timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    CHECK (product_id IS NULL OR category IS NULL)
);
CREATE INDEX group_rule_by_group ON group_rule (group_id, effective_from DESC);

-- Memberships over time: by hand (open until removed) or for one month by last
-- month's commission.
CREATE TABLE group_member (
    group_id    uuid        NOT NULL REFERENCES promoter_group,
    promoter_id text        NOT NULL,
    joined_at   timestamptz NOT NULL,
    left_at     timestamptz,
    source      text        NOT NULL CHECK (source IN ('manual', 'last_month')),
    PRIMARY KEY (group_id, promoter_id, joined_at),
    CHECK (left_at IS NULL OR left_at > joined_at)
);
CREATE INDEX group_member_by_promoter ON group_member (promoter_id);
-- One open manual membership per group and promoter.
CREATE UNIQUE INDEX group_member_open ON group_member (group_id, promoter_id) WHERE left_at IS NULL;

-- The months whose automatic memberships were worked out, per group.
CREATE TABLE group_month (
    group_id uuid        NOT NULL REFERENCES promoter_group,
    month    text        NOT NULL,
    members  integer     NOT NULL,
    done_at  timestamptz NOT NULL,
    PRIMARY KEY (group_id, month)
);

-- The rate snapshot records which group rule set a line's rate, and the product's own.
ALTER TABLE order_line
    ADD COLUMN base_rate_bps integer,
    ADD COLUMN group_id      uuid,
    ADD COLUMN group_rule_id uuid;
