-- A used refresh token keeps the pair it was exchanged for, encrypted with a
-- key derived from the refresh token itself (so only its holder can read it),
-- for the grace window in which a concurrent refresh with the same token gets
-- the same new pair instead of revoking the chain.
ALTER TABLE oauth_tokens ADD COLUMN successor bytea;
