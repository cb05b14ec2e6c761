DROP INDEX IF EXISTS users_deletion_due_idx;
ALTER TABLE users
    DROP CONSTRAINT IF EXISTS users_deletion_check,
    DROP COLUMN IF EXISTS deleted_at,
    DROP COLUMN IF EXISTS deletion_due_at,
    DROP COLUMN IF EXISTS deletion_requested_at;
ALTER TABLE sso_sessions
    DROP COLUMN IF EXISTS last_seen_at,
    DROP COLUMN IF EXISTS user_agent;
