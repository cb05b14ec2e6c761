ALTER TABLE oauth_tokens DROP COLUMN successor;
