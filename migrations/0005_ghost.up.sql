-- One-way Ghost -> blog sync. A post or tag that came from Ghost carries
-- Ghost's id; posts also carry Ghost's updated_at so that a sync skips
-- posts it already has at that revision.
ALTER TABLE posts ADD COLUMN ghost_id text UNIQUE;
ALTER TABLE posts ADD COLUMN ghost_updated_at timestamptz;
ALTER TABLE tags ADD COLUMN ghost_id text UNIQUE;

-- The sync's single row of state: the newest Ghost updated_at it has
-- imported (the next run asks for what changed since, minus an overlap),
-- when it last ran, its last error and the counts of that run.
CREATE TABLE ghost_sync_state (
    id           boolean     PRIMARY KEY DEFAULT true CHECK (id),
    cursor       timestamptz,
    last_run_at  timestamptz,
    last_error   text        NOT NULL DEFAULT '',
    counts       jsonb       NOT NULL DEFAULT '{}'
);
