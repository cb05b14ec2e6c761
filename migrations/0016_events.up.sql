-- Events (issue 18): event entries with their time zone, recurrence and
-- place; their occurrences (each bookable on its own, each with its seats);
-- ticket types; bookings and their tickets; waitlists; check-in lists and
-- scans.
--
-- Owners: shared/services/calendars writes calendars, events,
-- event_occurrences and ticket_types; shared/services/bookings writes
-- bookings, tickets, waitlist_entries, checkin_lists and checkins.
-- Money is integer minor units plus an ISO 4217 code; instants are
-- timestamptz (UTC), shown in the event's own time zone.

-- A calendar may belong to a blog page (its container), which then shows
-- its events.
ALTER TABLE calendars
    ADD COLUMN container_post_id uuid        REFERENCES posts (id) ON DELETE SET NULL,
    ADD COLUMN updated_at        timestamptz NOT NULL DEFAULT now(),
    -- Optimistic locking, as products and posts have it.
    ADD COLUMN version           integer     NOT NULL DEFAULT 1 CHECK (version >= 1);

-- Event slugs are unique site-wide: [[widget:event:<slug>]] and the event's
-- address (/events/<slug>) name an event by its slug alone.
ALTER TABLE events DROP CONSTRAINT events_calendar_slug_key;
CREATE UNIQUE INDEX events_slug_key ON events (slug);

ALTER TABLE events DROP CONSTRAINT events_status_check;
ALTER TABLE events
    ADD CONSTRAINT events_status_check CHECK (status IN ('draft', 'scheduled', 'cancelled')),
    -- Sanitized HTML (the blog's policy), shown on the event's page.
    ADD COLUMN description_html text      NOT NULL DEFAULT '' CHECK (length(description_html) <= 100000),
    -- A media path (/media/x.jpg) or an absolute http(s) URL; '' for none.
    ADD COLUMN image          text        NOT NULL DEFAULT '' CHECK (length(image) <= 2000),
    ADD COLUMN image_alt      text        NOT NULL DEFAULT '' CHECK (length(image_alt) <= 300),
    -- The organiser's IANA time zone (Europe/London): times are shown in it
    -- and a recurrence keeps its local time across DST changes.
    ADD COLUMN time_zone      text        NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    -- location stays the place's name ("Village Hall"); address is its
    -- postal address, for the map link and the Place sent to the fediverse.
    ADD COLUMN address        text        NOT NULL DEFAULT '' CHECK (length(address) <= 500),
    ADD COLUMN organiser_name text        NOT NULL DEFAULT '' CHECK (length(organiser_name) <= 200),
    ADD COLUMN organiser_id   uuid        REFERENCES users (id) ON DELETE SET NULL,
    -- Seats per occurrence; NULL for no limit.
    ADD COLUMN capacity       integer     CHECK (capacity IS NULL OR capacity >= 0),
    -- An RFC 5545 RRULE without DTSTART ('' for a one-off event), expanded
    -- from starts_at in time_zone; exdates are occurrences taken out,
    -- rdates occurrences added (their starts, UTC).
    ADD COLUMN rrule          text        NOT NULL DEFAULT '' CHECK (length(rrule) <= 500),
    ADD COLUMN rdates         timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN exdates        timestamptz[] NOT NULL DEFAULT '{}',
    -- Bookings may be cancelled by their holder until this long before the
    -- occurrence starts.
    ADD COLUMN cancel_cutoff_minutes integer NOT NULL DEFAULT 1440 CHECK (cancel_cutoff_minutes BETWEEN 0 AND 525600),
    ADD COLUMN published_at   timestamptz,
    ADD COLUMN cancelled_at   timestamptz,
    ADD COLUMN cancel_reason  text        NOT NULL DEFAULT '' CHECK (length(cancel_reason) <= 1000),
    ADD COLUMN version        integer     NOT NULL DEFAULT 1 CHECK (version >= 1);
UPDATE events SET published_at = created_at WHERE status = 'scheduled';

-- One row per occurrence of an event (a one-off event has one), written
-- when the event is saved and for a horizon ahead for a recurring one.
-- taken counts the seats of held and confirmed bookings and of waitlist
-- offers; a booking takes seats with a conditional update in its
-- transaction, and the CHECK backs it: never more than capacity.
CREATE TABLE event_occurrences (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id    uuid        NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    -- The event's capacity when written; NULL for no limit.
    capacity    integer     CHECK (capacity IS NULL OR capacity >= 0),
    taken       integer     NOT NULL DEFAULT 0 CHECK (taken >= 0),
    status      text        NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_occurrences_seats_check CHECK (capacity IS NULL OR taken <= capacity),
    CONSTRAINT event_occurrences_time_check CHECK (ends_at >= starts_at),
    CONSTRAINT event_occurrences_event_start_key UNIQUE (event_id, starts_at)
);
CREATE INDEX event_occurrences_starts_at_idx ON event_occurrences (starts_at);

-- What a booking buys: a free or priced place, with its own seats per
-- occurrence (counted under the occurrence's row lock) and sale window.
CREATE TABLE ticket_types (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id     uuid        NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  text        NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    price_minor  bigint      NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    currency     char(3)     NOT NULL DEFAULT 'GBP' CHECK (currency ~ '^[A-Z]{3}$'),
    capacity     integer     CHECK (capacity IS NULL OR capacity >= 0),
    sales_start  timestamptz,
    sales_end    timestamptz,
    position     integer     NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ticket_types_sales_check CHECK (sales_start IS NULL OR sales_end IS NULL OR sales_end > sales_start),
    CONSTRAINT ticket_types_event_name_key UNIQUE (event_id, name)
);

-- A booking of seats of one ticket type at one occurrence, by a member, a
-- guest (who confirmed by email) or a remote fediverse actor (a Join).
-- held: a paid booking waiting for its order's payment until
-- hold_expires_at; confirmed: its tickets are valid; cancelled and
-- expired gave their seats back (seats_released_at, once).
CREATE TABLE bookings (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    occurrence_id      uuid        NOT NULL REFERENCES event_occurrences (id) ON DELETE CASCADE,
    ticket_type_id     uuid        NOT NULL REFERENCES ticket_types (id) ON DELETE RESTRICT,
    quantity           integer     NOT NULL CHECK (quantity BETWEEN 1 AND 20),
    user_id            uuid        REFERENCES users (id) ON DELETE SET NULL,
    email              text        NOT NULL DEFAULT '' CHECK (length(email) <= 320),
    name               text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    -- A remote actor's booking: their actor id and their Join's id (to
    -- answer it, and to find it when they Leave).
    remote_actor       text        CHECK (length(remote_actor) <= 2000),
    join_activity      text        UNIQUE CHECK (length(join_activity) <= 2000),
    status             text        NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled', 'expired')),
    order_id           uuid        REFERENCES orders (id) ON DELETE SET NULL,
    hold_expires_at    timestamptz,
    seats_released_at  timestamptz,
    cancel_reason      text        NOT NULL DEFAULT '' CHECK (length(cancel_reason) <= 1000),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    confirmed_at       timestamptz,
    cancelled_at       timestamptz,
    CONSTRAINT bookings_who_check CHECK (user_id IS NOT NULL OR email <> '' OR remote_actor IS NOT NULL)
);
CREATE INDEX bookings_occurrence_idx ON bookings (occurrence_id, status);
CREATE INDEX bookings_user_idx ON bookings (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX bookings_order_idx ON bookings (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX bookings_held_idx ON bookings (hold_expires_at) WHERE status = 'held';

-- One ticket per booked seat: a random 128-bit secret, shown as a QR code
-- and looked up when scanned.
CREATE TABLE tickets (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    booking_id  uuid        NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    secret      bytea       NOT NULL UNIQUE CHECK (length(secret) = 16),
    seat        integer     NOT NULL CHECK (seat >= 1),
    status      text        NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tickets_booking_seat_key UNIQUE (booking_id, seat)
);

-- Who waits for a seat at a full occurrence, in order. A freed seat is
-- offered to the first waiting (status offered, its seats taken) until
-- offer_expires_at; claimed made a booking; expired and left did not.
CREATE TABLE waitlist_entries (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    occurrence_id     uuid        NOT NULL REFERENCES event_occurrences (id) ON DELETE CASCADE,
    ticket_type_id    uuid        NOT NULL REFERENCES ticket_types (id) ON DELETE CASCADE,
    quantity          integer     NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 20),
    user_id           uuid        REFERENCES users (id) ON DELETE CASCADE,
    email             text        NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    name              text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    status            text        NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'offered', 'claimed', 'expired', 'left')),
    offered_at        timestamptz,
    offer_expires_at  timestamptz,
    booking_id        uuid        REFERENCES bookings (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX waitlist_entries_queue_idx ON waitlist_entries (occurrence_id, created_at) WHERE status = 'waiting';
CREATE UNIQUE INDEX waitlist_entries_once_key ON waitlist_entries (occurrence_id, lower(email)) WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_entries_offers_idx ON waitlist_entries (offer_expires_at) WHERE status = 'offered';

-- Check-in lists, as pretix has them: per entrance, per day of a series
-- (occurrence_id), for some ticket types (empty: all). A ticket enters once
-- per list; exits are recorded too.
CREATE TABLE checkin_lists (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id         uuid        NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    occurrence_id    uuid        REFERENCES event_occurrences (id) ON DELETE CASCADE,
    name             text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    ticket_type_ids  uuid[]      NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT checkin_lists_event_name_key UNIQUE (event_id, name)
);

CREATE TABLE checkins (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    list_id         uuid        NOT NULL REFERENCES checkin_lists (id) ON DELETE CASCADE,
    ticket_id       uuid        NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind            text        NOT NULL DEFAULT 'entry' CHECK (kind IN ('entry', 'exit')),
    at              timestamptz NOT NULL DEFAULT now(),
    by_user_id      uuid        REFERENCES users (id) ON DELETE SET NULL,
    by_name         text        NOT NULL DEFAULT '' CHECK (length(by_name) <= 200),
    -- A scan queued in the browser while offline carries its own id, so
    -- that uploading it twice records it once.
    client_scan_id  text        CHECK (length(client_scan_id) BETWEEN 1 AND 100)
);
CREATE UNIQUE INDEX checkins_entry_once_key ON checkins (list_id, ticket_id) WHERE kind = 'entry';
CREATE UNIQUE INDEX checkins_scan_key ON checkins (list_id, client_scan_id) WHERE client_scan_id IS NOT NULL;
CREATE INDEX checkins_ticket_idx ON checkins (ticket_id);
