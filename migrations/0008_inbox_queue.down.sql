DROP INDEX ap_notifications_activity_uri_idx;
CREATE INDEX ap_inbox_received_at_idx ON ap_inbox (received_at);
DROP INDEX ap_inbox_processed_at_idx;
DROP INDEX ap_inbox_pending_idx;
ALTER TABLE ap_inbox
    DROP COLUMN seq,
    DROP COLUMN service,
    DROP COLUMN processed_at,
    DROP COLUMN lease_until,
    DROP COLUMN attempts,
    DROP COLUMN error;
