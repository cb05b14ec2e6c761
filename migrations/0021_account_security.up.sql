-- Account security and deletion (issue 19).
--
-- sso_sessions: what a member sees in "Active sign-ins": the browser's
-- User-Agent at sign-in (shortened to 500 characters) and when the
-- session was last used (an SSO to a service or a token refresh, bumped at
-- most once a minute).
ALTER TABLE sso_sessions
    ADD COLUMN user_agent   text        NOT NULL DEFAULT '' CHECK (length(user_agent) <= 500),
    ADD COLUMN last_seen_at timestamptz;

-- users: a deletion the member asked for (deletion_requested_at) is
-- carried out by the account deletion job once deletion_due_at has passed;
-- undoing it clears both. deleted_at marks a row scrubbed of personal data:
-- the row stays (its id is referenced by bookings, and its username is the
-- fediverse actor's id, which must never name another person), its email
-- becomes a placeholder nobody can sign in with.
ALTER TABLE users
    ADD COLUMN deletion_requested_at timestamptz,
    ADD COLUMN deletion_due_at       timestamptz,
    ADD COLUMN deleted_at            timestamptz,
    ADD CONSTRAINT users_deletion_check CHECK ((deletion_requested_at IS NULL) = (deletion_due_at IS NULL));

CREATE INDEX users_deletion_due_idx ON users (deletion_due_at) WHERE deletion_due_at IS NOT NULL;
