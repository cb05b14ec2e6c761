-- A user may approve followers one by one (a "locked" account): Follows
-- of their actor wait as pending until they accept or reject them.
ALTER TABLE users ADD COLUMN fediverse_locked boolean NOT NULL DEFAULT false;
-- Their users are told of requests.
ALTER TABLE ap_notifications DROP CONSTRAINT ap_notifications_kind_check,
    ADD CONSTRAINT ap_notifications_kind_check
    CHECK (kind IN ('follow', 'follow_request', 'like', 'announce', 'reply', 'mention'));
