-- Ghost sync fidelity (issue 14, items 7-11).
--
-- visibility: 'members' posts are read in full by signed-in members only;
-- everyone else, and every feed, search result, Article and cached page,
-- gets the title, the excerpt and a notice. Only Ghost's members-only and
-- paid posts are 'members' (see ghost.members_posts).
-- feature_image_alt and feature_image_caption: Ghost's alt text and
-- caption of the feature image (the caption is sanitized HTML, as Ghost
-- allows links in it).
-- ghost_hash: a hash of every field the blog keeps of a Ghost post; a sync
-- writes a post only when it differs. Ghost's updated_at is stored to the
-- second, so two edits within one second look the same by their date.
ALTER TABLE posts
    ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'members')),
    ADD COLUMN feature_image_alt text NOT NULL DEFAULT '' CHECK (length(feature_image_alt) <= 191),
    ADD COLUMN feature_image_caption text NOT NULL DEFAULT '',
    ADD COLUMN ghost_hash text;

-- Ghost posts the sync cannot store because their slug belongs to another
-- post (Ghost's default pages often clash with the blog's own): reported
-- once as conflicts, not as skipped on every run, and listed on the
-- admin's Ghost page until resolved.
CREATE TABLE ghost_conflicts (
    ghost_id          text        PRIMARY KEY,
    slug              text        NOT NULL,
    reason            text        NOT NULL,
    ghost_updated_at  timestamptz NOT NULL,
    seen_at           timestamptz NOT NULL DEFAULT now()
);
