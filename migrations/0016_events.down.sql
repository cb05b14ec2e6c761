DROP TABLE checkins;
DROP TABLE checkin_lists;
DROP TABLE waitlist_entries;
DROP TABLE tickets;
DROP TABLE bookings;
DROP TABLE ticket_types;
DROP TABLE event_occurrences;
ALTER TABLE events
    DROP COLUMN version, DROP COLUMN cancel_reason, DROP COLUMN cancelled_at, DROP COLUMN published_at,
    DROP COLUMN cancel_cutoff_minutes, DROP COLUMN exdates, DROP COLUMN rdates, DROP COLUMN rrule,
    DROP COLUMN capacity, DROP COLUMN organiser_id, DROP COLUMN organiser_name, DROP COLUMN address,
    DROP COLUMN time_zone, DROP COLUMN image_alt, DROP COLUMN image, DROP COLUMN description_html;
DELETE FROM events WHERE status = 'draft';
ALTER TABLE events DROP CONSTRAINT events_status_check;
ALTER TABLE events ADD CONSTRAINT events_status_check CHECK (status IN ('scheduled', 'cancelled'));
DROP INDEX events_slug_key;
ALTER TABLE events ADD CONSTRAINT events_calendar_slug_key UNIQUE (calendar_id, slug);
ALTER TABLE calendars DROP COLUMN version, DROP COLUMN updated_at, DROP COLUMN container_post_id;
