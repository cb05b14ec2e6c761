ALTER TABLE posts DROP COLUMN words, DROP COLUMN text_start;
