-- Orders (issue 17): what a shopper bought, its payment attempts through
-- SumUp, every change of state, and refunds. The orders package owns these
-- tables; the stock an order holds is taken from product_variants by the
-- products package, in the order's transaction.

-- How a market hands over what it sells: a delivery fee (0: free) and the
-- places a shopper can collect from (none: no pickup).
ALTER TABLE markets
    ADD COLUMN delivery_fee_minor bigint NOT NULL DEFAULT 0 CHECK (delivery_fee_minor >= 0),
    ADD COLUMN pickup_places text[] NOT NULL DEFAULT '{}';

CREATE SEQUENCE order_numbers START 1001;

CREATE TABLE orders (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- What the shopper and the admin call it ("Order 1001").
    number          bigint      NOT NULL UNIQUE DEFAULT nextval('order_numbers'),
    -- The shopper's account, if signed in; a guest's order has only the
    -- email (and a signed link).
    user_id         uuid        REFERENCES users (id) ON DELETE SET NULL,
    email           text        NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    -- The checkout form's one-time key: a double click, a second tab or
    -- the back button submit it again and get this order, not another.
    checkout_key    text        UNIQUE CHECK (length(checkout_key) <= 100),
    status          text        NOT NULL DEFAULT 'pending_payment' CHECK (status IN
                      ('pending_payment', 'paid', 'ready_for_pickup', 'dispatched', 'completed',
                       'cancelled', 'expired', 'refunded', 'partially_refunded')),
    fulfilment      text        NOT NULL CHECK (fulfilment IN ('delivery', 'pickup')),
    pickup_place    text        NOT NULL DEFAULT '' CHECK (length(pickup_place) <= 200),
    -- The delivery address (fulfilment = 'delivery').
    address_name    text        NOT NULL DEFAULT '' CHECK (length(address_name) <= 200),
    address_line1   text        NOT NULL DEFAULT '' CHECK (length(address_line1) <= 200),
    address_line2   text        NOT NULL DEFAULT '' CHECK (length(address_line2) <= 200),
    address_city    text        NOT NULL DEFAULT '' CHECK (length(address_city) <= 100),
    address_postcode text       NOT NULL DEFAULT '' CHECK (length(address_postcode) <= 20),
    address_country text        NOT NULL DEFAULT '' CHECK (length(address_country) <= 2),
    currency        char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal_minor  bigint      NOT NULL CHECK (subtotal_minor >= 0),
    delivery_minor  bigint      NOT NULL DEFAULT 0 CHECK (delivery_minor >= 0),
    total_minor     bigint      NOT NULL CHECK (total_minor = subtotal_minor + delivery_minor),
    -- The VAT included in the total.
    vat_minor       bigint      NOT NULL DEFAULT 0 CHECK (vat_minor >= 0),
    refunded_minor  bigint      NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= total_minor),
    -- Until then the order's stock is held for it; a periodic job expires
    -- an unpaid order after it and gives the stock back.
    hold_until      timestamptz NOT NULL,
    -- Set once the order's stock went back (expired or cancelled).
    released_at     timestamptz,
    paid_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_delivery_address_check CHECK (fulfilment <> 'delivery' OR
        (address_line1 <> '' AND address_city <> '' AND address_postcode <> '')),
    CONSTRAINT orders_paid_check CHECK (status IN ('pending_payment', 'cancelled', 'expired') OR paid_at IS NOT NULL)
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC);
CREATE INDEX orders_status_idx ON orders (status, created_at DESC);
CREATE INDEX orders_hold_idx ON orders (hold_until) WHERE status = 'pending_payment' AND released_at IS NULL;

-- One line per variant bought, with what it cost then; lines are grouped
-- by market on the order page.
CREATE TABLE order_lines (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id         uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    market_id        uuid        REFERENCES markets (id) ON DELETE SET NULL,
    market_name      text        NOT NULL,
    product_id       uuid        REFERENCES products (id) ON DELETE SET NULL,
    variant_id       uuid        REFERENCES product_variants (id) ON DELETE SET NULL,
    title            text        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    unit_price_minor bigint      NOT NULL CHECK (unit_price_minor >= 0),
    vat_rate_bp      integer     NOT NULL DEFAULT 0 CHECK (vat_rate_bp BETWEEN 0 AND 10000),
    quantity         integer     NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    -- How much of the quantity was taken from the variant's stock (all of
    -- it for tracked stock, what there was for a backorder, none when not
    -- tracked): given back when the order expires or is cancelled unpaid.
    held             integer     NOT NULL DEFAULT 0 CHECK (held BETWEEN 0 AND quantity),
    position         integer     NOT NULL DEFAULT 0
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id, position);

-- Each attempt to pay an order is one SumUp checkout, referenced
-- order-<order id>-<attempt>. At most one attempt of an order is pending at
-- a time; an order is paid once (a second paid checkout is refunded).
CREATE TABLE payment_attempts (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id      uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    attempt       integer     NOT NULL CHECK (attempt >= 1),
    reference     text        NOT NULL UNIQUE CHECK (length(reference) <= 64),
    checkout_id   text        UNIQUE,
    hosted_url    text        NOT NULL DEFAULT '',
    status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'failed', 'expired', 'cancelled', 'refunded')),
    amount_minor  bigint      NOT NULL CHECK (amount_minor >= 0),
    currency      char(3)     NOT NULL,
    transaction_id text       NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, attempt)
);
CREATE UNIQUE INDEX payment_attempts_one_pending ON payment_attempts (order_id) WHERE status = 'pending';
CREATE INDEX payment_attempts_pending_idx ON payment_attempts (updated_at) WHERE status = 'pending';

-- Every change of an order's state: who (a user, or none for the system
-- and SumUp), when, why.
CREATE TABLE order_events (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id    uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status text        NOT NULL DEFAULT '',
    to_status   text        NOT NULL,
    actor_id    uuid        REFERENCES users (id) ON DELETE SET NULL,
    actor       text        NOT NULL DEFAULT 'system' CHECK (length(actor) <= 100),
    reason      text        NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_idx ON order_events (order_id, at);

-- Refunds made through SumUp, full or partial.
CREATE TABLE order_refunds (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id      uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    attempt_id    uuid        NOT NULL REFERENCES payment_attempts (id) ON DELETE CASCADE,
    amount_minor  bigint      NOT NULL CHECK (amount_minor > 0),
    reason        text        NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    actor_id      uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_refunds_order_idx ON order_refunds (order_id);
