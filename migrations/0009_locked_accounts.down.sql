DELETE FROM ap_notifications WHERE kind = 'follow_request';
ALTER TABLE ap_notifications DROP CONSTRAINT ap_notifications_kind_check,
    ADD CONSTRAINT ap_notifications_kind_check CHECK (kind IN ('follow', 'like', 'announce', 'reply', 'mention'));
ALTER TABLE users DROP COLUMN fediverse_locked;
