-- The inbox is a queue: a verified activity is stored as it came (the
-- sender is answered once it is committed) and handled afterwards by the
-- receiving service's processor, in order of arrival. A row being handled
-- is leased, so a processor that dies leaves it to another after the lease.
ALTER TABLE ap_inbox
    ADD COLUMN seq          bigint      GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN service      text        NOT NULL DEFAULT '',
    ADD COLUMN processed_at timestamptz,
    ADD COLUMN lease_until  timestamptz,
    ADD COLUMN attempts     integer     NOT NULL DEFAULT 0,
    -- Why the activity was dropped (malformed, its object unreachable...).
    ADD COLUMN error        text        NOT NULL DEFAULT '';
UPDATE ap_inbox SET processed_at = received_at;
CREATE INDEX ap_inbox_pending_idx ON ap_inbox (service, seq) WHERE processed_at IS NULL;
CREATE INDEX ap_inbox_processed_at_idx ON ap_inbox (processed_at);
DROP INDEX ap_inbox_received_at_idx;
-- Which users an incoming batch notified (to refresh their badges).
CREATE INDEX ap_notifications_activity_uri_idx ON ap_notifications (activity_uri);
