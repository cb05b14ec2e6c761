-- A member's request to change their email address, confirmed from the new
-- address: the link mailed there carries a token stored only as its
-- SHA-256 (like magic_links). A request is single-use and expires; a newer
-- request of the same user revokes the older ones.
CREATE TABLE email_changes (
    token_hash  bytea       PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    old_email   text        NOT NULL,
    new_email   text        NOT NULL CHECK (new_email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' AND length(new_email) <= 254),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX email_changes_user_idx ON email_changes (user_id, created_at);
