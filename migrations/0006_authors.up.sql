-- Authors: a short biography shown on /author/<username>, an avatar, and the
-- link between a platform user and a Ghost author, so that posts synced from
-- Ghost are credited to a person. Users the sync creates for Ghost authors
-- have an undeliverable placeholder address (ghost-<id>@ghost-author.invalid)
-- because email is required and unique; nobody can sign in as them.
-- ghost_author_synced is what Ghost said about the author at the last sync
-- (name, slug, bio, profile image): only fields that change in Ghost are
-- copied again, so edits made in the blog's admin are kept until then.
ALTER TABLE users ADD COLUMN bio text NOT NULL DEFAULT '' CHECK (length(bio) <= 500);
ALTER TABLE users ADD COLUMN avatar_url text NOT NULL DEFAULT '' CHECK (length(avatar_url) <= 2000);
ALTER TABLE users ADD COLUMN ghost_author_id text UNIQUE;
ALTER TABLE users ADD COLUMN ghost_author_synced jsonb;

-- Posts synced before authors were mapped have none: the next sync reads
-- every Ghost post again (skipping unchanged ones) and credits them.
UPDATE ghost_sync_state SET cursor = NULL;
