-- Suppliers' products. Promoters never write here.
CREATE TABLE product (
    product_id        uuid        PRIMARY KEY,
    supplier_id       text        NOT NULL,
    title             text        NOT NULL,
    description       text        NOT NULL,
    price_minor       bigint      NOT NULL CHECK (price_minor > 0),
    currency          text        NOT NULL,
    image_urls        text[]      NOT NULL,
    category          text        NOT NULL,
    stock_status      text        NOT NULL CHECK (stock_status IN ('in_stock', 'low_stock', 'out_of_stock')),
    status            text        NOT NULL CHECK (status IN ('active', 'withdrawn')),
    published_at      timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    withdrawn_at      timestamptz,
    withdrawal_reason text,
    request_id        text        NOT NULL,
    CONSTRAINT product_request_unique UNIQUE (supplier_id, request_id),
    CHECK ((status = 'withdrawn') = (withdrawn_at IS NOT NULL))
);

CREATE INDEX product_by_supplier ON product (supplier_id, published_at DESC, product_id DESC);
CREATE INDEX product_active_by_newest ON product (published_at DESC, product_id DESC) WHERE status = 'active';

-- Commission rates are history, never overwritten: an order earns the rate in force
-- when it was paid.
CREATE TABLE commission_rate (
    rate_id        uuid        PRIMARY KEY,
    product_id     uuid        NOT NULL REFERENCES product,
    rate_bps       integer     NOT NULL CHECK (rate_bps BETWEEN 1 AND 10000),
    effective_from timestamptz NOT NULL,
    set_by         text        NOT NULL,
    set_at         timestamptz NOT NULL,
    request_id     text        NOT NULL,
    CONSTRAINT commission_rate_effective_unique UNIQUE (product_id, effective_from),
    CONSTRAINT commission_rate_request_unique UNIQUE (set_by, request_id)
);

-- One shop per promoter.
CREATE TABLE shop (
    shop_id       uuid        PRIMARY KEY,
    promoter_id   text        NOT NULL CONSTRAINT shop_one_per_promoter UNIQUE,
    name          text        NOT NULL,
    description   text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('active', 'suspended')),
    -- Active listings; the row is locked while it changes, so the cap holds under
    -- any concurrency (and the CHECK is the last line of defence).
    listing_count integer     NOT NULL DEFAULT 0 CHECK (listing_count BETWEEN 0 AND 1000),
    opened_at     timestamptz NOT NULL,
    status_since  timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- The latest promoter status eligibility's feed told us, so a shop opened while a
-- suspension is in flight still ends up suspended.
CREATE TABLE promoter_standing (
    promoter_id text        PRIMARY KEY,
    suspended   boolean     NOT NULL,
    changed_at  timestamptz NOT NULL
);

-- Listings with their history: a removed listing keeps its row (listed_at..removed_at)
-- so "was P listed in S at T" can be answered for any T.
CREATE TABLE listing (
    listing_id            uuid        PRIMARY KEY,
    shop_id               uuid        NOT NULL REFERENCES shop,
    product_id            uuid        NOT NULL REFERENCES product,
    recommendation_reason text        NOT NULL,
    position              integer     NOT NULL CHECK (position > 0),
    listed_at             timestamptz NOT NULL,
    removed_at            timestamptz,
    removal_reason        text CHECK (removal_reason IN ('removed_by_promoter', 'product_withdrawn')),
    CHECK ((removed_at IS NULL) = (removal_reason IS NULL))
);

CREATE UNIQUE INDEX listing_active_unique ON listing (shop_id, product_id) WHERE removed_at IS NULL;
CREATE INDEX listing_page ON listing (shop_id, position, listing_id) WHERE removed_at IS NULL;
CREATE INDEX listing_history ON listing (shop_id, product_id, listed_at DESC);
CREATE INDEX listing_active_by_product ON listing (product_id) WHERE removed_at IS NULL;

CREATE TABLE share_link (
    code        text        PRIMARY KEY,
    shop_id     uuid        NOT NULL REFERENCES shop,
    promoter_id text        NOT NULL,
    listing_id  uuid        REFERENCES listing,
    product_id  uuid        REFERENCES product,
    channel     text        NOT NULL CHECK (channel IN ('wechat', 'moments', 'douyin', 'weibo', 'xiaohongshu', 'live', 'other')),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    request_id  text        NOT NULL,
    CONSTRAINT share_link_request_unique UNIQUE (promoter_id, request_id)
);

CREATE INDEX share_link_by_shop ON share_link (shop_id, created_at DESC, code DESC);
