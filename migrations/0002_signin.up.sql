-- Sign-in: usernames, magic links, federation's single sign-on sessions and
-- the OAuth2 grants, codes and tokens it issues to the other services.
-- Every secret is stored as its SHA-256, never in clear.

ALTER TABLE users ADD COLUMN username text CHECK (username ~ '^[a-z0-9_]{3,30}$');
CREATE UNIQUE INDEX users_username_key ON users (username);

CREATE TABLE magic_links (
    token_hash  bytea       PRIMARY KEY,
    email       text        NOT NULL,
    next        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX magic_links_email_idx ON magic_links (lower(email), created_at);

-- One signed-in browser at federation. Signing out anywhere revokes it and,
-- with it, every grant issued under it.
CREATE TABLE sso_sessions (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sso_sessions_user_idx ON sso_sessions (user_id);

CREATE TABLE oauth_grants (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    sso_session_id  uuid        NOT NULL REFERENCES sso_sessions (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id       text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX oauth_grants_sso_idx ON oauth_grants (sso_session_id);

CREATE TABLE oauth_codes (
    code_hash       bytea       PRIMARY KEY,
    grant_id        uuid        NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    redirect_uri    text        NOT NULL,
    code_challenge  text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX oauth_codes_grant_idx ON oauth_codes (grant_id);

CREATE TABLE oauth_tokens (
    token_hash  bytea       PRIMARY KEY,
    grant_id    uuid        NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    kind        text        NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX oauth_tokens_grant_idx ON oauth_tokens (grant_id);
