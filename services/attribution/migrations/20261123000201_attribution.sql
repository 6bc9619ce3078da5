-- The storefront as attribution needs it, kept from the storefront's feed so ingest
-- makes no call per order and keeps working while the storefront is down.
CREATE TABLE rm_product (
    product_id   uuid        PRIMARY KEY,
    supplier_id  text        NOT NULL,
    published_at timestamptz NOT NULL,
    withdrawn_at timestamptz
);

CREATE TABLE rm_share_link (
    code        text        PRIMARY KEY,
    shop_id     uuid        NOT NULL,
    promoter_id text        NOT NULL,
    listing_id  uuid,
    product_id  uuid,
    channel     text        NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

-- Listing history: was product P listed in shop S at time T?
CREATE TABLE rm_listing (
    listing_id  uuid        PRIMARY KEY,
    shop_id     uuid        NOT NULL,
    promoter_id text        NOT NULL,
    product_id  uuid        NOT NULL,
    listed_at   timestamptz NOT NULL,
    removed_at  timestamptz
);
CREATE INDEX rm_listing_lookup ON rm_listing (shop_id, product_id, listed_at DESC);

-- Rate history: the rate in force at time T.
CREATE TABLE rm_rate (
    rate_id        uuid        PRIMARY KEY,
    product_id     uuid        NOT NULL,
    rate_bps       integer     NOT NULL,
    effective_from timestamptz NOT NULL
);
CREATE INDEX rm_rate_lookup ON rm_rate (product_id, effective_from DESC);

-- Shop status history: was the shop active at time T?
CREATE TABLE rm_shop_status (
    shop_id     uuid        NOT NULL,
    changed_at  timestamptz NOT NULL,
    promoter_id text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('active', 'suspended')),
    PRIMARY KEY (shop_id, changed_at)
);

-- Clicks on share links, from the link redirector and the web front.
CREATE TABLE click (
    event_id    text        PRIMARY KEY,
    share_code  text        NOT NULL,
    visitor_id  text        NOT NULL,
    clicked_at  timestamptz NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX click_by_visitor ON click (visitor_id, clicked_at DESC);

-- Paid orders from the order system; an order is paid once.
CREATE TABLE paid_order (
    order_id    text        PRIMARY KEY,
    event_id    text        NOT NULL UNIQUE,
    buyer_id    text        NOT NULL,
    paid_at     timestamptz NOT NULL,
    share_code  text,
    received_at timestamptz NOT NULL
);

-- Order lines with their attribution decision, rate snapshot and commission.
CREATE TABLE order_line (
    line_id          text        PRIMARY KEY,
    order_id         text        NOT NULL REFERENCES paid_order,
    buyer_id         text        NOT NULL,
    paid_at          timestamptz NOT NULL,
    order_code       text,
    product_id       uuid        NOT NULL,
    supplier_id      text        NOT NULL,
    quantity         integer     NOT NULL CHECK (quantity > 0),
    currency         text        NOT NULL,
    paid_minor       bigint      NOT NULL CHECK (paid_minor > 0),
    refunded_minor   bigint      NOT NULL CHECK (refunded_minor BETWEEN 0 AND paid_minor),
    confirmed_at     timestamptz,
    state            text        NOT NULL CHECK (state IN ('paid', 'received', 'void')),
    -- The decision. shop/promoter/code are the candidate even when not attributed.
    attributed       boolean     NOT NULL,
    reason           text        NOT NULL,
    summary          text        NOT NULL,
    promoter_id      text,
    shop_id          uuid,
    share_code       text,
    click_event_id   text,
    clicked_at       timestamptz,
    rate_id          uuid,
    rate_bps         integer,
    commission_minor bigint      NOT NULL CHECK (commission_minor >= 0),
    decided_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK (attributed = (promoter_id IS NOT NULL AND rate_bps IS NOT NULL) OR NOT attributed),
    CHECK (attributed OR commission_minor = 0)
);
CREATE INDEX order_line_by_order ON order_line (order_id);
CREATE INDEX order_line_by_promoter ON order_line (promoter_id, paid_at DESC, line_id DESC) WHERE attributed;
CREATE INDEX order_line_by_paid_at ON order_line (paid_at, line_id);
CREATE INDEX order_line_by_buyer ON order_line (buyer_id, paid_at);
CREATE INDEX order_line_by_shop_product ON order_line (shop_id, product_id);
CREATE INDEX order_line_by_code ON order_line (share_code);
CREATE INDEX order_line_by_product ON order_line (product_id, paid_at);

-- Confirmations of receipt; kept even before their order arrives.
CREATE TABLE order_confirmation (
    order_id     text        PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,
    confirmed_at timestamptz NOT NULL,
    received_at  timestamptz NOT NULL
);

-- Refunds; a refund before its payment waits as 'pending'.
CREATE TABLE refund (
    event_id     text        PRIMARY KEY,
    order_id     text        NOT NULL,
    line_id      text        NOT NULL,
    currency     text        NOT NULL,
    amount_minor bigint      NOT NULL CHECK (amount_minor > 0),
    refunded_at  timestamptz NOT NULL,
    status       text        NOT NULL CHECK (status IN ('pending', 'applied', 'rejected')),
    rejection    text,
    received_at  timestamptz NOT NULL
);
CREATE INDEX refund_by_line ON refund (line_id, refunded_at);
