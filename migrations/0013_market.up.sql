-- The market: markets (the producers, stalls and suppliers the cooperative
-- sells for), a category tree, products with variants, stock and images,
-- and the supplier pages products are imported from with their review
-- queue. shared/services/products owns every table here.
-- Money is integer minor units plus an ISO 4217 code; VAT rates are basis
-- points (2000 = 20%).

-- unaccent lets a search for "creme" find "crème". It is a trusted
-- extension (a database owner may create it); where it is missing the
-- search works without it.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'unaccent is not available: product search will not fold accents';
END
$$;

-- market_fold is unaccent where available, otherwise the text itself.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent') THEN
        EXECUTE $f$CREATE FUNCTION market_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
                   AS 'SELECT public.unaccent(''public.unaccent''::regdictionary, $1)'$f$;
    ELSE
        EXECUTE $f$CREATE FUNCTION market_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
                   AS 'SELECT $1'$f$;
    END IF;
END
$$;

CREATE TABLE markets (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    slug         text        NOT NULL UNIQUE CHECK (length(slug) <= 80 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    summary      text        NOT NULL DEFAULT '' CHECK (length(summary) <= 300),
    description  text        NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    location     text        NOT NULL DEFAULT '' CHECK (length(location) <= 200),
    image        text        NOT NULL DEFAULT '' CHECK (length(image) <= 500),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer     NOT NULL DEFAULT 1
);

-- A two-or-more-level tree: top categories have no parent.
CREATE TABLE product_categories (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    parent_id    uuid        REFERENCES product_categories (id) ON DELETE RESTRICT CHECK (parent_id <> id),
    slug         text        NOT NULL UNIQUE CHECK (length(slug) <= 80 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    position     integer     NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    market_id      uuid        NOT NULL REFERENCES markets (id) ON DELETE RESTRICT,
    category_id    uuid        REFERENCES product_categories (id) ON DELETE SET NULL,
    slug           text        NOT NULL UNIQUE CHECK (length(slug) <= 100 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name           text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    summary        text        NOT NULL DEFAULT '' CHECK (length(summary) <= 500),
    -- Sanitized HTML.
    description    text        NOT NULL DEFAULT '' CHECK (length(description) <= 100000),
    currency       char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    vat_rate_bp    integer     NOT NULL DEFAULT 0 CHECK (vat_rate_bp BETWEEN 0 AND 10000),
    status         text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    featured       boolean     NOT NULL DEFAULT false,
    published_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        integer     NOT NULL DEFAULT 1,
    -- Derived from the variants by the store on every write, so listings
    -- filter and sort without a join: the lowest price, and whether any
    -- variant can be bought now.
    min_price_minor bigint     NOT NULL DEFAULT 0 CHECK (min_price_minor >= 0),
    in_stock       boolean     NOT NULL DEFAULT false,
    -- Name (A), market and category (B), summary and description (C),
    -- folded with market_fold; written by the store.
    search         tsvector    NOT NULL DEFAULT ''::tsvector,
    CONSTRAINT products_published_check CHECK (status <> 'published' OR published_at IS NOT NULL)
);
CREATE INDEX products_market_idx ON products (market_id, published_at DESC);
CREATE INDEX products_category_idx ON products (category_id);
CREATE INDEX products_listing_idx ON products (status, published_at DESC, id DESC);
CREATE INDEX products_search_idx ON products USING gin (search);

-- A product has one or more variants (size, weight, colour...), each with
-- its own price, SKU and stock. Stock is checked only when tracked;
-- backorders let a tracked variant be bought at zero.
CREATE TABLE product_variants (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id       uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    name             text        NOT NULL DEFAULT '' CHECK (length(name) <= 120),
    sku              text        CHECK (sku IS NULL OR length(sku) BETWEEN 1 AND 64),
    price_minor      bigint      NOT NULL CHECK (price_minor >= 0),
    track_stock      boolean     NOT NULL DEFAULT true,
    stock            integer     NOT NULL DEFAULT 0 CHECK (stock >= 0),
    allow_backorder  boolean     NOT NULL DEFAULT false,
    position         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_variants_product_idx ON product_variants (product_id, position);
CREATE UNIQUE INDEX product_variants_sku_key ON product_variants (sku) WHERE sku IS NOT NULL;

CREATE TABLE product_images (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id   uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- A media URL (/media/<name>): imported images are stored, not hot-linked.
    url          text        NOT NULL CHECK (length(url) BETWEEN 1 AND 500),
    alt          text        NOT NULL DEFAULT '' CHECK (length(alt) <= 300),
    position     integer     NOT NULL DEFAULT 0
);
CREATE INDEX product_images_product_idx ON product_images (product_id, position);

-- Supplier pages products are imported from: a product page or a listing
-- (a category page, a sitemap), refreshed every refresh_interval.
CREATE TABLE product_sources (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    url               text        NOT NULL UNIQUE CHECK (length(url) BETWEEN 1 AND 2000 AND url ~ '^https?://'),
    market_id         uuid        REFERENCES markets (id) ON DELETE SET NULL,
    category_id       uuid        REFERENCES product_categories (id) ON DELETE SET NULL,
    -- A trusted source's imports are applied without review.
    trusted           boolean     NOT NULL DEFAULT false,
    refresh_interval  interval    NOT NULL DEFAULT '1 day' CHECK (refresh_interval >= interval '1 hour'),
    -- Per-source CSS selectors for pages without structured data.
    selectors         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    etag              text        NOT NULL DEFAULT '',
    last_modified     text        NOT NULL DEFAULT '',
    last_run_at       timestamptz,
    last_found        integer     NOT NULL DEFAULT 0,
    last_error        text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- The review queue: what an import found on a page, against the product
-- it matches (if any). Published only when approved (or the source is
-- trusted). raw keeps the structured data each block of the page had, so
-- an admin sees where a price came from.
CREATE TABLE product_imports (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    source_id    uuid        REFERENCES product_sources (id) ON DELETE CASCADE,
    page_url     text        NOT NULL CHECK (length(page_url) BETWEEN 1 AND 2000),
    product_id   uuid        REFERENCES products (id) ON DELETE SET NULL,
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'applied')),
    found        jsonb       NOT NULL,
    raw          jsonb       NOT NULL DEFAULT '[]'::jsonb,
    conflicts    text[]      NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    decided_at   timestamptz,
    decided_by   uuid        REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX product_imports_pending_idx ON product_imports (created_at) WHERE status = 'pending';
CREATE INDEX product_imports_page_idx ON product_imports (page_url, created_at DESC);
