package calendars

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rose-ash.com/platform/shared/models"
)

// entryColumns are an event's columns, in scanEntry's order.
const entryColumns = `
SELECT e.id, e.calendar_id, c.slug, c.title, e.slug, e.title, e.summary, e.description_html, e.image,
       e.image_alt, e.location, e.address, e.time_zone, e.organiser_name, e.organiser_id, e.starts_at,
       e.ends_at, e.capacity, e.rrule, e.rdates, e.exdates, e.cancel_cutoff_minutes, e.status,
       e.published_at, e.cancelled_at, e.cancel_reason, e.version
FROM events e JOIN calendars c ON c.id = e.calendar_id`

func scanEntry(row pgx.Row) (models.EventEntry, error) {
	var e models.EventEntry
	err := row.Scan(&e.ID, &e.CalendarID, &e.CalendarSlug, &e.CalendarTitle, &e.Slug, &e.Title, &e.Summary,
		&e.DescriptionHTML, &e.Image, &e.ImageAlt, &e.Location, &e.Address, &e.TimeZone, &e.OrganiserName,
		&e.OrganiserID, &e.StartsAt, &e.EndsAt, &e.Capacity, &e.RRule, &e.RDates, &e.ExDates,
		&e.CancelCutoffMinutes, &e.Status, &e.PublishedAt, &e.CancelledAt, &e.CancelReason, &e.Version)
	e.StartsAt, e.EndsAt = e.StartsAt.UTC(), e.EndsAt.UTC()
	for i := range e.RDates {
		e.RDates[i] = e.RDates[i].UTC()
	}
	for i := range e.ExDates {
		e.ExDates[i] = e.ExDates[i].UTC()
	}
	return e, err
}

const ticketTypesOf = `
SELECT id, name, description, price_minor, currency, capacity, sales_start, sales_end, position
FROM ticket_types WHERE event_id = $1 ORDER BY position, name`

func ticketTypes(ctx context.Context, q Querier, eventID uuid.UUID) ([]models.TicketType, error) {
	rows, err := q.Query(ctx, ticketTypesOf, eventID)
	if err != nil {
		return nil, internal("ticket types", err)
	}
	types, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.TicketType, error) {
		var t models.TicketType
		err := r.Scan(&t.ID, &t.Name, &t.Description, &t.PriceMinor, &t.Currency, &t.Capacity, &t.SalesStart,
			&t.SalesEnd, &t.Position)
		return t, err
	})
	if err != nil {
		return nil, internal("ticket types", err)
	}
	return types, nil
}

func eventByID(ctx context.Context, q Querier, id uuid.UUID, lock bool) (models.EventEntry, error) {
	sql := entryColumns + ` WHERE e.id = $1`
	if lock {
		sql += ` FOR UPDATE OF e`
	}
	e, err := scanEntry(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, models.Errorf(models.ENotFound, "There is no such event: it may have been removed.")
	}
	if err != nil {
		return e, internal("event", err)
	}
	if e.TicketTypes, err = ticketTypes(ctx, q, id); err != nil {
		return e, err
	}
	return e, nil
}

// EventByID returns the event with that id, whatever its status, with its
// ticket types, read through q (a transaction: OnChange's functions read
// the event they announce this way). Errors: ENotFound, EInternal.
func EventByID(ctx context.Context, q Querier, id uuid.UUID) (models.EventEntry, error) {
	return eventByID(ctx, q, id, false)
}

// Event returns the event with that slug, drafts included (for its
// organisers), with its ticket types. Errors: ENotFound, EInternal.
func (s *Store) Event(ctx context.Context, slug string) (models.EventEntry, error) {
	notFound := models.Errorf(models.ENotFound, "There is no event at /events/%s.", slug)
	if models.ValidateEventSlug(slug) != nil {
		return models.EventEntry{}, notFound
	}
	e, err := scanEntry(s.db.QueryRow(ctx, entryColumns+` WHERE e.slug = $1`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, notFound
	}
	if err != nil {
		return e, internal("event by slug", err)
	}
	if e.TicketTypes, err = ticketTypes(ctx, s.db, e.ID); err != nil {
		return e, err
	}
	return e, nil
}

// prepare normalises e for a save (the description sanitized, currencies
// defaulted to GBP, the time zone trimmed) and validates it, the
// recurrence rule included.
func prepare(e *models.EventEntry) error {
	e.DescriptionHTML = SanitizeHTML(e.DescriptionHTML)
	e.TimeZone = strings.TrimSpace(e.TimeZone)
	e.Slug = strings.TrimSpace(e.Slug)
	e.StartsAt, e.EndsAt = e.StartsAt.UTC(), e.EndsAt.UTC()
	if e.RDates == nil {
		e.RDates = []time.Time{}
	}
	if e.ExDates == nil {
		e.ExDates = []time.Time{}
	}
	for i := range e.TicketTypes {
		if e.TicketTypes[i].Currency == "" {
			e.TicketTypes[i].Currency = "GBP"
		}
	}
	if err := models.ValidateEventEntry(*e); err != nil {
		return err
	}
	_, err := parseRule(*e)
	return err
}

const calendarID = `SELECT id FROM calendars WHERE slug = $1`

func resolveCalendar(ctx context.Context, tx pgx.Tx, e *models.EventEntry) error {
	if e.CalendarID != uuid.Nil {
		return nil
	}
	err := tx.QueryRow(ctx, calendarID, e.CalendarSlug).Scan(&e.CalendarID)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Errorf(models.EInvalid, "Choose one of the calendars for the event.")
	}
	if err != nil {
		return internal("calendar of event", err)
	}
	return nil
}

const insertEvent = `
INSERT INTO events (calendar_id, slug, title, summary, description_html, image, image_alt, location, address,
                    time_zone, organiser_name, organiser_id, starts_at, ends_at, capacity, rrule, rdates, exdates,
                    cancel_cutoff_minutes, status, published_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
        CASE WHEN $20 = 'scheduled' THEN now() END)
RETURNING id`

// CreateEvent adds the event e (its calendar by CalendarID or
// CalendarSlug; Status draft or scheduled) with its ticket types, and
// writes its occurrences: one for a one-off event, those within the
// horizon for a recurring one. It returns the event as saved. Errors:
// EInvalid (a sentence naming what to fix: end before start, unknown time
// zone, a repeat rule it cannot read, negative capacity or price, a sale
// that ends before it starts...), EConflict (another event has the slug),
// EInternal.
func (s *Store) CreateEvent(ctx context.Context, e models.EventEntry) (models.EventEntry, error) {
	if e.Status == "" {
		e.Status = models.EventDraft
	}
	if e.Status == models.EventCancelled {
		return e, models.Errorf(models.EInvalid, "A new event is a draft or scheduled.")
	}
	if err := prepare(&e); err != nil {
		return e, err
	}
	var id uuid.UUID
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		id, err = s.createEvent(ctx, tx, e)
		return err
	})
	if err != nil {
		return e, err
	}
	return EventByID(ctx, s.db, id)
}

func (s *Store) createEvent(ctx context.Context, tx pgx.Tx, e models.EventEntry) (uuid.UUID, error) {
	if err := resolveCalendar(ctx, tx, &e); err != nil {
		return uuid.Nil, err
	}
	err := tx.QueryRow(ctx, insertEvent, e.CalendarID, e.Slug, e.Title, e.Summary, e.DescriptionHTML, e.Image,
		e.ImageAlt, e.Location, e.Address, e.TimeZone, e.OrganiserName, e.OrganiserID, e.StartsAt, e.EndsAt,
		e.Capacity, e.RRule, e.RDates, e.ExDates, e.CancelCutoffMinutes, e.Status).Scan(&e.ID)
	if err != nil {
		return uuid.Nil, writeError("add event", err, e)
	}
	if err := saveTicketTypes(ctx, tx, e); err != nil {
		return uuid.Nil, err
	}
	if _, err := syncOccurrences(ctx, tx, e, s.now()); err != nil {
		return uuid.Nil, err
	}
	return e.ID, s.announce(ctx, tx, e.ID)
}

// writeError turns constraint violations into the organiser's sentences.
func writeError(what string, err error, e models.EventEntry) error {
	switch constraintOf(err) {
	case "events_slug_key":
		return models.Errorf(models.EConflict, "Another event already has the address /events/%s: choose another slug.", e.Slug)
	case "ticket_types_event_name_key":
		return models.Errorf(models.EInvalid, "Two ticket types of the event have the same name: give each its own.")
	case "events_calendar_id_fkey":
		return models.Errorf(models.EInvalid, "Choose one of the calendars for the event.")
	}
	return internal(what, err)
}

func constraintOf(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

const updateEvent = `
UPDATE events SET calendar_id = $2, slug = $3, title = $4, summary = $5, description_html = $6, image = $7,
       image_alt = $8, location = $9, address = $10, time_zone = $11, organiser_name = $12, organiser_id = $13,
       starts_at = $14, ends_at = $15, capacity = $16, rrule = $17, rdates = $18, exdates = $19,
       cancel_cutoff_minutes = $20, status = $21,
       published_at = CASE WHEN $21 = 'scheduled' THEN coalesce(published_at, now()) ELSE published_at END,
       version = version + 1, updated_at = now()
WHERE id = $1`

// The scheduled occurrence with the most seats taken above a capacity.
const overCapacity = `
SELECT starts_at, taken FROM event_occurrences
WHERE event_id = $1 AND status = 'scheduled' AND taken > $2
ORDER BY taken DESC, starts_at LIMIT 1`

// UpdateEvent saves e over the event with e.ID, which must still be at
// e.Version (the version its editor read), with its ticket types (those
// with an ID are updated, those without added, those missing removed), and
// rewrites its occurrences: the ones still in its schedule keep their
// seats taken, new dates are added, dates no longer in it are removed or,
// when seats were taken, cancelled. It returns the event as saved.
// Errors: ENotFound, EConflict (someone saved it since e.Version, or
// another event has the slug), EInvalid (as CreateEvent's, and a capacity
// below the seats already taken at an occurrence, a ticket type removed or
// limited below its bookings, a cancelled event edited), EInternal.
func (s *Store) UpdateEvent(ctx context.Context, e models.EventEntry) (models.EventEntry, error) {
	if e.Status == "" {
		e.Status = models.EventDraft
	}
	if e.Status == models.EventCancelled {
		return e, models.Errorf(models.EInvalid, "Use Cancel to cancel an event.")
	}
	if err := prepare(&e); err != nil {
		return e, err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		old, err := eventByID(ctx, tx, e.ID, true)
		if err != nil {
			return err
		}
		if old.Version != e.Version {
			return models.Errorf(models.EConflict, "Someone else saved this event while you were editing it: reload it to see their changes, then make yours again.")
		}
		if old.Status == models.EventCancelled {
			return models.Errorf(models.EInvalid, "This event was cancelled: it can no longer be changed.")
		}
		if err := resolveCalendar(ctx, tx, &e); err != nil {
			return err
		}
		if e.Capacity != nil {
			var at time.Time
			var taken int
			err := tx.QueryRow(ctx, overCapacity, e.ID, *e.Capacity).Scan(&at, &taken)
			if err == nil {
				loc, _ := time.LoadLocation(e.TimeZone)
				return models.Errorf(models.EInvalid, "The capacity cannot be %d: %d seats are already taken on %s.",
					*e.Capacity, taken, at.In(loc).Format("Mon 2 Jan 2006 at 15:04"))
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return internal("seats taken", err)
			}
		}
		if _, err := tx.Exec(ctx, updateEvent, e.ID, e.CalendarID, e.Slug, e.Title, e.Summary, e.DescriptionHTML,
			e.Image, e.ImageAlt, e.Location, e.Address, e.TimeZone, e.OrganiserName, e.OrganiserID, e.StartsAt,
			e.EndsAt, e.Capacity, e.RRule, e.RDates, e.ExDates, e.CancelCutoffMinutes, e.Status); err != nil {
			return writeError("update event", err, e)
		}
		if err := saveTicketTypes(ctx, tx, e); err != nil {
			return err
		}
		if _, err := syncOccurrences(ctx, tx, e, s.now()); err != nil {
			return err
		}
		return s.announce(ctx, tx, e.ID)
	})
	if err != nil {
		return e, err
	}
	return EventByID(ctx, s.db, e.ID)
}

const (
	ticketTypeIDs    = `SELECT id, name FROM ticket_types WHERE event_id = $1`
	ticketTypeBooked = `SELECT EXISTS (SELECT 1 FROM bookings WHERE ticket_type_id = $1)`
	deleteTicketType = `DELETE FROM ticket_types WHERE id = $1`
	// The most seats of a ticket type held or confirmed at one occurrence.
	ticketTypeMaxSeats = `
SELECT coalesce(max(n), 0) FROM (
  SELECT sum(quantity) AS n FROM bookings
  WHERE ticket_type_id = $1 AND status IN ('held', 'confirmed') GROUP BY occurrence_id) x`
	updateTicketType = `
UPDATE ticket_types SET name = $3, description = $4, price_minor = $5, currency = $6, capacity = $7,
       sales_start = $8, sales_end = $9, position = $10, updated_at = now()
WHERE id = $1 AND event_id = $2`
	insertTicketType = `
INSERT INTO ticket_types (event_id, name, description, price_minor, currency, capacity, sales_start, sales_end, position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
)

// saveTicketTypes makes e's ticket types in tx what e lists.
func saveTicketTypes(ctx context.Context, tx pgx.Tx, e models.EventEntry) error {
	rows, err := tx.Query(ctx, ticketTypeIDs, e.ID)
	if err != nil {
		return internal("ticket types", err)
	}
	names := map[uuid.UUID]string{}
	var id uuid.UUID
	var name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil })
	if err != nil {
		return internal("ticket types", err)
	}
	kept := map[uuid.UUID]bool{}
	for _, t := range e.TicketTypes {
		if _, ok := names[t.ID]; ok {
			kept[t.ID] = true
		}
	}
	for id, name := range names {
		if kept[id] {
			continue
		}
		var booked bool
		if err := tx.QueryRow(ctx, ticketTypeBooked, id).Scan(&booked); err != nil {
			return internal("ticket type bookings", err)
		}
		if booked {
			return models.Errorf(models.EInvalid, "The ticket type %q has bookings, so it cannot be removed: stop its sale instead.", name)
		}
		if _, err := tx.Exec(ctx, deleteTicketType, id); err != nil {
			return internal("delete ticket type", err)
		}
	}
	for i, t := range e.TicketTypes {
		pos := t.Position
		if pos == 0 {
			pos = i + 1
		}
		if kept[t.ID] {
			if t.Capacity != nil {
				var most int
				if err := tx.QueryRow(ctx, ticketTypeMaxSeats, t.ID).Scan(&most); err != nil {
					return internal("ticket type seats", err)
				}
				if most > *t.Capacity {
					return models.Errorf(models.EInvalid, "The capacity of %q cannot be %d: %d of its seats are already booked at one date.",
						t.Name, *t.Capacity, most)
				}
			}
			if _, err := tx.Exec(ctx, updateTicketType, t.ID, e.ID, t.Name, t.Description, t.PriceMinor, t.Currency,
				t.Capacity, t.SalesStart, t.SalesEnd, pos); err != nil {
				return writeError("update ticket type", err, e)
			}
			continue
		}
		if _, err := tx.Exec(ctx, insertTicketType, e.ID, t.Name, t.Description, t.PriceMinor, t.Currency,
			t.Capacity, t.SalesStart, t.SalesEnd, pos); err != nil {
			return writeError("add ticket type", err, e)
		}
	}
	return nil
}

const cancelEvent = `
UPDATE events SET status = 'cancelled', cancelled_at = now(), cancel_reason = $2, version = version + 1,
       updated_at = now()
WHERE id = $1 AND status <> 'cancelled'`

const cancelOccurrences = `
UPDATE event_occurrences SET status = 'cancelled', updated_at = now() WHERE event_id = $1 AND status = 'scheduled'`

// CancelEvent cancels the event with that id and all its occurrences,
// giving reason (shown on its page); cancelling it again changes nothing.
// Its bookings are the bookings package's to cancel and refund. Errors:
// ENotFound, EInvalid (a reason over 1000 characters), EInternal.
func (s *Store) CancelEvent(ctx context.Context, id uuid.UUID, reason string) error {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 1000 {
		return models.Errorf(models.EInvalid, "Say why the event is cancelled in at most 1000 characters.")
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := eventByID(ctx, tx, id, true); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, cancelEvent, id, reason)
		if err != nil {
			return internal("cancel event", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // cancelled already
		}
		if _, err := tx.Exec(ctx, cancelOccurrences, id); err != nil {
			return internal("cancel occurrences", err)
		}
		return s.announce(ctx, tx, id)
	})
}

const publishEvent = `
UPDATE events SET status = 'scheduled', published_at = coalesce(published_at, now()), version = version + 1,
       updated_at = now()
WHERE id = $1 AND status = 'draft'`

// PublishEvent makes the draft event with that id public (scheduled);
// publishing it again changes nothing. Errors: ENotFound, EInvalid (a
// cancelled event), EInternal.
func (s *Store) PublishEvent(ctx context.Context, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		e, err := eventByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if e.Status == models.EventCancelled {
			return models.Errorf(models.EInvalid, "This event was cancelled: it cannot be published.")
		}
		tag, err := tx.Exec(ctx, publishEvent, id)
		if err != nil {
			return internal("publish event", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return s.announce(ctx, tx, id)
	})
}

// EventWithID returns the event with that id, whatever its status, with
// its ticket types (for its organisers). Errors: ENotFound, EInternal.
func (s *Store) EventWithID(ctx context.Context, id uuid.UUID) (models.EventEntry, error) {
	return eventByID(ctx, s.db, id, false)
}

// maxAdminEvents bounds the events AllEvents lists.
const maxAdminEvents = 500

// AllEvents returns every event, drafts and cancelled ones included, the
// latest first start first, without their ticket types (the admin's
// list). Errors: EInternal.
func (s *Store) AllEvents(ctx context.Context) ([]models.EventEntry, error) {
	rows, err := s.db.Query(ctx, entryColumns+` ORDER BY e.starts_at DESC, e.id LIMIT $1`, maxAdminEvents)
	if err != nil {
		return nil, internal("all events", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.EventEntry, error) { return scanEntry(r) })
	if err != nil {
		return nil, internal("all events", err)
	}
	return out, nil
}
