-- The data behind the blog home page's fragments: the site navigation the
-- blog owns, carts and what is in them, and calendars with their events.
-- Money is integer minor units plus an ISO 4217 code; times are timestamptz.

-- Site navigation: top-level items (parent_id NULL) and their children, each
-- level ordered by position. A link is a local path (/about) or an absolute
-- http(s) URL; protocol-relative (//host) and other schemes are refused.
CREATE TABLE nav_items (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    label       text        NOT NULL CHECK (length(label) BETWEEN 1 AND 60),
    url         text        NOT NULL CHECK (length(url) <= 2000
                                AND url ~ '^(/([^/\\].*)?|https?://[^/\\].*)$'
                                AND url !~ '[[:space:][:cntrl:]]'),
    position    integer     NOT NULL DEFAULT 0,
    parent_id   uuid        REFERENCES nav_items (id) ON DELETE CASCADE CHECK (parent_id <> id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The same link twice under one parent is a mistake; it is also the natural
-- key the demo seed relies on.
CREATE UNIQUE INDEX nav_items_parent_url_key ON nav_items (parent_id, url) NULLS NOT DISTINCT;

-- A cart belongs to a signed-in user or, later, to an anonymous browser
-- (session_key); each has at most one.
CREATE TABLE carts (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        REFERENCES users (id) ON DELETE CASCADE,
    session_key  text        CHECK (length(session_key) BETWEEN 1 AND 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT carts_owner_check CHECK (user_id IS NOT NULL OR session_key IS NOT NULL)
);
CREATE UNIQUE INDEX carts_user_key ON carts (user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX carts_session_key ON carts (session_key) WHERE session_key IS NOT NULL;

-- One line per product in a cart. product_ref will be the market's product
-- id; title and price are those of the latest add.
CREATE TABLE cart_items (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    cart_id           uuid        NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    product_ref       text        NOT NULL CHECK (length(product_ref) BETWEEN 1 AND 200),
    title             text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    unit_price_minor  bigint      NOT NULL CHECK (unit_price_minor >= 0),
    currency          char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    quantity          integer     NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    added_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cart_items_cart_product_key UNIQUE (cart_id, product_ref)
);

CREATE TABLE calendars (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    slug         text        NOT NULL UNIQUE CHECK (length(slug) <= 80 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    title        text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description  text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    calendar_id  uuid        NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
    slug         text        NOT NULL CHECK (length(slug) <= 80 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    title        text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    summary      text        NOT NULL DEFAULT '' CHECK (length(summary) <= 2000),
    location     text        NOT NULL DEFAULT '' CHECK (length(location) <= 200),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    status       text        NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_time_check CHECK (ends_at >= starts_at),
    CONSTRAINT events_calendar_slug_key UNIQUE (calendar_id, slug)
);
CREATE INDEX events_starts_at_idx ON events (starts_at);
