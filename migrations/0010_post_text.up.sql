-- A post's word count and the start of its text (markup stripped), kept
-- with the post rather than worked out with regular expressions for every
-- post on every listing (that made a signed-in blog home ten times dearer).
ALTER TABLE posts
    ADD COLUMN words integer GENERATED ALWAYS AS (
        CASE WHEN btrim(regexp_replace(coalesce(html, ''), '<[^>]*>|\s+', ' ', 'g')) = '' THEN 0
             ELSE array_length(regexp_split_to_array(btrim(regexp_replace(coalesce(html, ''), '<[^>]*>|\s+', ' ', 'g')), ' +'), 1)
        END
    ) STORED,
    ADD COLUMN text_start text GENERATED ALWAYS AS (
        left(regexp_replace(coalesce(html, ''), '<[^>]*>', ' ', 'g'), 1000)
    ) STORED;
