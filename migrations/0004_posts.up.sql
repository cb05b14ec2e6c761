-- The blog's content: posts and pages, their tags and authors. Posts and
-- pages share one namespace of slugs because both live at /<slug>.

-- html is stored already sanitized by whoever writes it (the editor, the
-- Ghost sync); doc is the editor's own JSON document, kept for editing.
-- A published post whose published_at is still in the future is scheduled:
-- readers see it from that moment. Publishing therefore always sets
-- published_at.
CREATE TABLE posts (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    type           text        NOT NULL DEFAULT 'post' CHECK (type IN ('post', 'page')),
    slug           text        NOT NULL UNIQUE CHECK (length(slug) <= 120 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    title          text        NOT NULL CHECK (length(title) BETWEEN 1 AND 255),
    excerpt        text        NOT NULL DEFAULT '',
    html           text        NOT NULL DEFAULT '',
    doc            jsonb,
    feature_image  text        NOT NULL DEFAULT '',
    status         text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    published_at   timestamptz,
    author_id      uuid        REFERENCES users (id) ON DELETE SET NULL,
    version        integer     NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- Search weighs the title above the text; tags are stripped from the
    -- text so that markup never matches.
    search         tsvector    GENERATED ALWAYS AS (
                       setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
                       setweight(to_tsvector('english', regexp_replace(coalesce(html, ''), '<[^>]*>', ' ', 'g')), 'B')
                   ) STORED,
    CONSTRAINT posts_published_at_check CHECK (status = 'draft' OR published_at IS NOT NULL)
);
CREATE INDEX posts_search_idx ON posts USING gin (search);
CREATE INDEX posts_status_published_at_idx ON posts (status, published_at DESC);
CREATE INDEX posts_author_id_idx ON posts (author_id);

CREATE TABLE tags (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    slug         text        NOT NULL UNIQUE CHECK (length(slug) <= 120 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 191),
    description  text        NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A post's tags, in the order the author gave them; the first is its
-- primary tag.
CREATE TABLE post_tags (
    post_id   uuid    NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id    uuid    NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    position  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag_id_idx ON post_tags (tag_id);
