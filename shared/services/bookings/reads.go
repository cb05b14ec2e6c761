package bookings

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

const bookingColumns = `
SELECT b.id, b.occurrence_id, b.ticket_type_id, b.quantity, b.user_id, b.email, b.name,
       coalesce(b.remote_actor, ''), b.status, b.cancel_reason, b.created_at, b.cancelled_at,
       e.id, e.slug, e.title, e.location, e.address, e.time_zone, o.starts_at, o.ends_at,
       e.cancel_cutoff_minutes, t.name, t.price_minor, t.currency
FROM bookings b
JOIN event_occurrences o ON o.id = b.occurrence_id
JOIN events e ON e.id = o.event_id
JOIN ticket_types t ON t.id = b.ticket_type_id`

func scanBooking(row pgx.CollectableRow) (models.Booking, error) {
	var (
		b         models.Booking
		userID    *uuid.UUID
		cancelled *time.Time
	)
	err := row.Scan(&b.ID, &b.OccurrenceID, &b.TicketTypeID, &b.Quantity, &userID, &b.Email, &b.Name,
		&b.RemoteActor, &b.Status, &b.CancelReason, &b.CreatedAt, &cancelled,
		&b.EventID, &b.EventSlug, &b.EventTitle, &b.Location, &b.Address, &b.TimeZone, &b.StartsAt, &b.EndsAt,
		&b.CancelCutoffMinutes, &b.TicketTypeName, &b.PriceMinor, &b.Currency)
	if userID != nil {
		b.UserID = *userID
	}
	if cancelled != nil {
		b.CancelledAt = cancelled.UTC()
	}
	b.CreatedAt, b.StartsAt, b.EndsAt = b.CreatedAt.UTC(), b.StartsAt.UTC(), b.EndsAt.UTC()
	return b, err
}

const ticketsOf = `SELECT id, seat, secret, status FROM tickets WHERE booking_id = $1 ORDER BY seat`

// Booking returns the booking id with its tickets, seat by seat, and what
// its ticket page shows of the event. Who may see it is the caller's
// check. Errors: ENotFound, EInternal.
func (s *Store) Booking(ctx context.Context, id uuid.UUID) (models.Booking, error) {
	// One round trip for both queries.
	batch := &pgx.Batch{}
	batch.Queue(bookingColumns+` WHERE b.id = $1`, id)
	batch.Queue(ticketsOf, id)
	br := s.db.SendBatch(ctx, batch)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return models.Booking{}, internal("booking", err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, scanBooking)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Booking{}, models.Errorf(models.ENotFound, "There is no such booking.")
	}
	if err != nil {
		return models.Booking{}, internal("booking", err)
	}
	rows, err = br.Query()
	if err != nil {
		return models.Booking{}, internal("tickets", err)
	}
	b.Tickets, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (models.Ticket, error) {
		var t models.Ticket
		err := row.Scan(&t.ID, &t.Seat, &t.Secret, &t.Status)
		return t, err
	})
	if err != nil {
		return models.Booking{}, internal("tickets", err)
	}
	return b, nil
}

// MaxListedBookings is the most bookings BookingsOfUser and
// BookingsOfOccurrence return.
const MaxListedBookings = 1000

// BookingsOfUser returns the user's bookings (without their tickets),
// those of occurrences still to end first, soonest first, then past ones,
// latest first; at most MaxListedBookings. Errors: EInternal.
func (s *Store) BookingsOfUser(ctx context.Context, userID uuid.UUID, now time.Time) ([]models.Booking, error) {
	return s.list(ctx, bookingColumns+`
WHERE b.user_id = $1
ORDER BY o.ends_at <= $2, CASE WHEN o.ends_at > $2 THEN o.starts_at END, o.starts_at DESC, b.created_at
LIMIT 1000`, userID, now)
}

// BookingsOfOccurrence returns the occurrence's bookings (without their
// tickets), of every status, in the order they were made; at most
// MaxListedBookings. For admins and organisers: the caller checks.
// Errors: EInternal.
func (s *Store) BookingsOfOccurrence(ctx context.Context, occurrenceID uuid.UUID) ([]models.Booking, error) {
	return s.list(ctx, bookingColumns+` WHERE b.occurrence_id = $1 ORDER BY b.created_at, b.id LIMIT 1000`, occurrenceID)
}

func (s *Store) list(ctx context.Context, sql string, args ...any) ([]models.Booking, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, internal("bookings", err)
	}
	list, err := pgx.CollectRows(rows, scanBooking)
	if err != nil {
		return nil, internal("bookings", err)
	}
	return list, nil
}

const waitlistEntryByID = `
SELECT w.id, w.occurrence_id, w.ticket_type_id, w.quantity, w.user_id, w.email, w.name, w.status,
       w.offer_expires_at, w.booking_id, e.slug, e.title, e.time_zone, o.starts_at
FROM waitlist_entries w
JOIN event_occurrences o ON o.id = w.occurrence_id
JOIN events e ON e.id = o.event_id
WHERE w.id = $1`

// WaitlistEntry returns the waitlist entry id with its event's slug,
// title, zone and the occurrence's start. Errors: ENotFound, EInternal.
func (s *Store) WaitlistEntry(ctx context.Context, id uuid.UUID) (models.WaitlistEntry, error) {
	return waitlistEntry(ctx, s.db, id)
}

// querier is the pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func waitlistEntry(ctx context.Context, q querier, id uuid.UUID) (models.WaitlistEntry, error) {
	var (
		w                 models.WaitlistEntry
		userID, bookingID *uuid.UUID
		expires           *time.Time
	)
	err := q.QueryRow(ctx, waitlistEntryByID, id).Scan(&w.ID, &w.OccurrenceID, &w.TicketTypeID, &w.Quantity,
		&userID, &w.Email, &w.Name, &w.Status, &expires, &bookingID, &w.EventSlug, &w.EventTitle, &w.TimeZone, &w.StartsAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.WaitlistEntry{}, models.Errorf(models.ENotFound, "There is no such place on the waitlist.")
	}
	if err != nil {
		return models.WaitlistEntry{}, internal("waitlist entry", err)
	}
	if userID != nil {
		w.UserID = *userID
	}
	if bookingID != nil {
		w.BookingID = *bookingID
	}
	if expires != nil {
		w.OfferExpiresAt = expires.UTC()
	}
	w.StartsAt = w.StartsAt.UTC()
	return w, nil
}

// Offer is what a booking form offers: an occurrence of a published,
// scheduled event and one of its ticket types, with the seats left.
type Offer struct {
	EventID        uuid.UUID
	EventSlug      string
	EventTitle     string
	OrganiserID    uuid.UUID // uuid.Nil for none
	Location       string
	TimeZone       string
	OccurrenceID   uuid.UUID
	StartsAt       time.Time
	EndsAt         time.Time
	TicketTypeID   uuid.UUID
	TicketTypeName string
	PriceMinor     int64
	Currency       string
	// SeatsLeft is the occurrence's seats left, -1 for no limit.
	SeatsLeft int
}

const offerSQL = `
SELECT e.id, e.slug, e.title, e.organiser_id, e.location, e.time_zone, o.id, o.starts_at, o.ends_at,
       t.id, t.name, t.price_minor, t.currency, coalesce(o.capacity - o.taken, -1)
FROM event_occurrences o
JOIN events e ON e.id = o.event_id
JOIN ticket_types t ON t.event_id = e.id
WHERE e.slug = $1 AND o.id = $2 AND t.id = $3 AND e.status <> 'draft' AND e.published_at IS NOT NULL`

// OfferOf returns the occurrence occurrenceID of the event with slug
// eventSlug and its ticket type ticketTypeID, as a booking form offers
// them. Errors: ENotFound (no such published event, occurrence of it or
// ticket type of it), EInternal.
func (s *Store) OfferOf(ctx context.Context, eventSlug string, occurrenceID, ticketTypeID uuid.UUID) (Offer, error) {
	var (
		o         Offer
		organiser *uuid.UUID
	)
	err := s.db.QueryRow(ctx, offerSQL, eventSlug, occurrenceID, ticketTypeID).Scan(&o.EventID, &o.EventSlug, &o.EventTitle,
		&organiser, &o.Location, &o.TimeZone, &o.OccurrenceID, &o.StartsAt, &o.EndsAt,
		&o.TicketTypeID, &o.TicketTypeName, &o.PriceMinor, &o.Currency, &o.SeatsLeft)
	if errors.Is(err, pgx.ErrNoRows) {
		return Offer{}, models.Errorf(models.ENotFound, "There is no such date or ticket for this event.")
	}
	if err != nil {
		return Offer{}, internal("offer", err)
	}
	if organiser != nil {
		o.OrganiserID = *organiser
	}
	o.StartsAt, o.EndsAt = o.StartsAt.UTC(), o.EndsAt.UTC()
	return o, nil
}

// BookingsOfEvent returns the bookings (without their tickets) of every
// occurrence of the event eventID, by occurrence then in the order they
// were made, at most MaxListedBookings; search, when not blank, keeps
// those whose name, email or remote actor contains it (any case). For
// admins and organisers: the caller checks. Errors: EInternal.
func (s *Store) BookingsOfEvent(ctx context.Context, eventID uuid.UUID, search string) ([]models.Booking, error) {
	search = strings.TrimSpace(search)
	if search == "" {
		return s.list(ctx, bookingColumns+` WHERE o.event_id = $1 ORDER BY o.starts_at, b.created_at, b.id LIMIT 1000`, eventID)
	}
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(search) + "%"
	return s.list(ctx, bookingColumns+`
WHERE o.event_id = $1 AND (b.name ILIKE $2 OR b.email ILIKE $2 OR coalesce(b.remote_actor, '') ILIKE $2)
ORDER BY o.starts_at, b.created_at, b.id LIMIT 1000`, eventID, like)
}

// UpcomingTicketCount returns how many valid tickets of the user's
// confirmed bookings are for occurrences that have not ended by now: the
// count on the header's account badge.
func (s *Store) UpcomingTicketCount(ctx context.Context, userID uuid.UUID, now time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `
SELECT count(*) FROM tickets t
JOIN bookings b ON b.id = t.booking_id
JOIN event_occurrences o ON o.id = b.occurrence_id
WHERE b.user_id = $1 AND b.status = 'confirmed' AND t.status = 'valid' AND o.ends_at > $2`, userID, now).Scan(&n)
	if err != nil {
		return 0, models.Wrap(models.EInternal, "", err)
	}
	return n, nil
}
