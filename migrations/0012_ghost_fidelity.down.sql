DROP TABLE ghost_conflicts;
ALTER TABLE posts
    DROP COLUMN ghost_hash,
    DROP COLUMN feature_image_caption,
    DROP COLUMN feature_image_alt,
    DROP COLUMN visibility;
