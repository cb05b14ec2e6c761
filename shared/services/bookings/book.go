package bookings

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
)

// Request is a booking asked for: Quantity seats of the ticket type
// TicketTypeID at the occurrence OccurrenceID, by a signed-in user
// (UserID, with their Email and Name) or by a guest whose email link was
// confirmed (UserID uuid.Nil, Email and Name required).
type Request struct {
	// ID, when set, is the booking's id chosen by the caller (a guest's
	// confirmation link carries it), so that a request made twice books
	// once: Book returns the booking already made with it.
	ID           uuid.UUID
	OccurrenceID uuid.UUID
	TicketTypeID uuid.UUID
	Quantity     int
	UserID       uuid.UUID
	Email        string
	Name         string
}

func (q Request) validate() error {
	if err := models.ValidateQuantity(q.Quantity); err != nil {
		return err
	}
	return models.ValidateBooker(q.Name, q.Email, q.UserID == uuid.Nil)
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("bookings: %s: %w", what, err))
}

// errPaid refuses a priced ticket type: those are sold through the cart's
// checkout (a held booking paid for there), not booked here.
var errPaid = models.Errorf(models.EConflict, "Paid tickets are sold through the cart.")

const ticketTypePrice = `SELECT price_minor FROM ticket_types WHERE id = $1`

// Book books q's seats of a free ticket type, as of now, in one
// transaction: the seats are taken from the occurrence
// (calendars.TakeSeats), the booking is confirmed and has one ticket per
// seat, each with a random 128-bit secret. It returns the booking with
// its tickets. Errors: EInvalid (quantity, name or email), ENotFound (no
// such occurrence or ticket type), EConflict ("Sold out.", "Only 2 places
// left.", "Paid tickets are sold through the cart.", cancelled, started,
// not on sale), EInternal.
func (s *Store) Book(ctx context.Context, q Request, now time.Time) (models.Booking, error) {
	if err := q.validate(); err != nil {
		return models.Booking{}, err
	}
	if q.ID != uuid.Nil {
		if b, err := s.Booking(ctx, q.ID); err == nil || models.Code(err) != models.ENotFound {
			return b, err
		}
	}
	var id uuid.UUID
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := refusePaid(ctx, tx, q.TicketTypeID); err != nil {
			return err
		}
		if err := calendars.TakeSeats(ctx, tx, q.OccurrenceID, q.TicketTypeID, q.Quantity, now); err != nil {
			return err
		}
		var err error
		id, err = insertBooking(ctx, tx, q, "", "", now)
		return err
	})
	if q.ID != uuid.Nil && isUniqueViolation(err, "bookings_pkey") {
		id, err = q.ID, nil // the same request, made twice at once
	}
	if err != nil {
		return models.Booking{}, err
	}
	return s.Booking(ctx, id)
}

func refusePaid(ctx context.Context, tx pgx.Tx, ticketTypeID uuid.UUID) error {
	var price int64
	err := tx.QueryRow(ctx, ticketTypePrice, ticketTypeID).Scan(&price)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Errorf(models.ENotFound, "There is no such ticket type.")
	}
	if err != nil {
		return internal("ticket type price", err)
	}
	if price > 0 {
		return errPaid
	}
	return nil
}

// One statement writes the booking and its tickets (a seat each, with
// its secret from $11, 16 bytes apiece), to keep the occurrence's row
// lock short.
const insertBookingSQL = `
WITH b AS (
    INSERT INTO bookings (id, occurrence_id, ticket_type_id, quantity, user_id, email, name,
                          remote_actor, join_activity, status, confirmed_at, created_at, updated_at)
    VALUES (coalesce($10, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $7, $8, 'confirmed', $9, $9, $9)
    RETURNING id
), t AS (
    INSERT INTO tickets (booking_id, secret, seat, created_at)
    SELECT b.id, s.secret, s.seat, $9 FROM b, unnest($11::bytea[]) WITH ORDINALITY AS s (secret, seat)
)
SELECT id FROM b`

// insertBooking records a confirmed booking whose seats tx has taken, and
// its tickets, each with a random 128-bit secret.
func insertBooking(ctx context.Context, tx pgx.Tx, q Request, remoteActor, joinActivity string, now time.Time) (uuid.UUID, error) {
	secrets, err := newSecrets(q.Quantity)
	if err != nil {
		return uuid.Nil, err
	}
	var id uuid.UUID
	err = tx.QueryRow(ctx, insertBookingSQL, q.OccurrenceID, q.TicketTypeID, q.Quantity, nullUUID(q.UserID),
		strings.TrimSpace(q.Email), strings.TrimSpace(q.Name), nullText(remoteActor), nullText(joinActivity), now,
		nullUUID(q.ID), secrets).Scan(&id)
	if err != nil {
		return uuid.Nil, internal("insert booking", err)
	}
	return id, nil
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return internal("begin", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return internal("commit", err)
	}
	return nil
}

func isUniqueViolation(err error, constraint string) bool {
	pe := pgError(err)
	return pe != nil && pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}

func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

const firstFreeTicketType = `
SELECT t.id FROM ticket_types t
JOIN event_occurrences o ON o.event_id = t.event_id
WHERE o.id = $1 AND t.price_minor = 0
  AND (t.sales_start IS NULL OR t.sales_start <= $2)
  AND (t.sales_end IS NULL OR t.sales_end > $2)
ORDER BY t.position, t.created_at, t.id
LIMIT 1`

const bookingByJoin = `SELECT id, status FROM bookings WHERE join_activity = $1`

// BookRemote books one seat at the occurrence occurrenceID for the remote
// fediverse actor actorID, whose Join activity joinActivityID asked for
// it, in the caller's transaction tx (federation's, which answers the
// Join). The seat is of the event's first free ticket type on sale, as of
// now. A Join booked before is not booked again (nil). It satisfies
// agenda.Attendance. Errors: EInvalid (actorID or joinActivityID empty or
// too long), ENotFound (no such occurrence), EConflict ("Sold out.", no
// free tickets on sale, cancelled, started): the Join is then rejected;
// EInternal (the Join is tried again; among them the same Join booked at
// the same moment by another delivery, which the next try finds booked).
func (s *Store) BookRemote(ctx context.Context, tx pgx.Tx, occurrenceID uuid.UUID, actorID, joinActivityID string) error {
	_, err := s.bookRemote(ctx, tx, occurrenceID, actorID, joinActivityID, time.Now())
	return err
}

func (s *Store) bookRemote(ctx context.Context, tx pgx.Tx, occurrenceID uuid.UUID, actorID, joinActivityID string, now time.Time) (uuid.UUID, error) {
	if actorID == "" || joinActivityID == "" || len(actorID) > 2000 || len(joinActivityID) > 2000 {
		return uuid.Nil, models.Errorf(models.EInvalid, "A Join names its actor and its own id.")
	}
	var (
		id     uuid.UUID
		status string
	)
	err := tx.QueryRow(ctx, bookingByJoin, joinActivityID).Scan(&id, &status)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, internal("booking by join", err)
	}
	var typeID uuid.UUID
	err = tx.QueryRow(ctx, firstFreeTicketType, occurrenceID, now).Scan(&typeID)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, models.Errorf(models.EConflict, "This event has no free places to join.")
	}
	if err != nil {
		return uuid.Nil, internal("free ticket type", err)
	}
	if err := calendars.TakeSeats(ctx, tx, occurrenceID, typeID, 1, now); err != nil {
		return uuid.Nil, err
	}
	return insertBooking(ctx, tx, Request{OccurrenceID: occurrenceID, TicketTypeID: typeID, Quantity: 1}, actorID, joinActivityID, now)
}

const nextOccurrence = `
SELECT id FROM event_occurrences
WHERE event_id = $1 AND status = 'scheduled' AND starts_at > $2
ORDER BY starts_at LIMIT 1`

// NextOccurrence returns the id of the event eventID's next scheduled
// occurrence starting after now: what a remote Join of the event (which
// names the event, not a date) books. Errors: ENotFound (none), EInternal.
func (s *Store) NextOccurrence(ctx context.Context, eventID uuid.UUID, now time.Time) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.db.QueryRow(ctx, nextOccurrence, eventID, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, models.Errorf(models.ENotFound, "This event has no date to come.")
	}
	if err != nil {
		return uuid.Nil, internal("next occurrence", err)
	}
	return id, nil
}

// CancelRemote cancels, in the caller's transaction tx, the booking made
// by the Join joinActivityID (a remote actor's Leave or Undo), whatever
// the cutoff, and offers its seat to the waitlist. The Offered hook is
// called with the offers before tx commits (read in tx). It satisfies
// agenda.Attendance. Errors: ENotFound (no booking made by this Join),
// EConflict (cancelled already): both change nothing; EInternal.
func (s *Store) CancelRemote(ctx context.Context, tx pgx.Tx, joinActivityID string) error {
	var (
		id     uuid.UUID
		status string
	)
	err := tx.QueryRow(ctx, bookingByJoin, joinActivityID).Scan(&id, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Errorf(models.ENotFound, "No booking was made by this Join.")
	}
	if err != nil {
		return internal("booking by join", err)
	}
	offered, err := s.cancelIn(ctx, tx, id, "Left through the fediverse.", time.Now(), false)
	if err != nil {
		return err
	}
	s.notify(ctx, tx, offered)
	return nil
}

// HolderCancelledReason is the cancel_reason of a booking its holder
// cancelled (Cancel); a paid one is refunded by the cart's sweep.
const HolderCancelledReason = "Cancelled by its holder."

// Cancel cancels the booking id at its holder's request, until the
// event's cutoff before the occurrence starts: the booking and its
// tickets are cancelled, its seats given back once, and then offered to
// the occurrence's waitlist in order. It returns the offers made (the
// Offered hook, when set, emails each a link to claim it). Who may cancel
// is the caller's check. Errors: ENotFound (no such booking), EConflict
// (cancelled already, or past the cutoff), EInternal.
func (s *Store) Cancel(ctx context.Context, id uuid.UUID, now time.Time) ([]models.WaitlistEntry, error) {
	var offered []uuid.UUID
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		offered, err = s.cancelIn(ctx, tx, id, HolderCancelledReason, now, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.notify(ctx, s.db, offered), nil
}

const lockBooking = `
SELECT b.status, b.occurrence_id, b.quantity, b.seats_released_at IS NOT NULL,
       o.starts_at, e.cancel_cutoff_minutes
FROM bookings b
JOIN event_occurrences o ON o.id = b.occurrence_id
JOIN events e ON e.id = o.event_id
WHERE b.id = $1
FOR UPDATE OF b`

const cancelBooking = `
UPDATE bookings SET status = 'cancelled', cancelled_at = $2, updated_at = $2, cancel_reason = $3,
       seats_released_at = coalesce(seats_released_at, $2)
WHERE id = $1`

const cancelTickets = `UPDATE tickets SET status = 'cancelled' WHERE booking_id = $1`

// cancelIn cancels the booking id in tx (checking the cutoff when
// cutoff is set), gives its seats back once and offers them to the
// waitlist; it returns the entries offered.
func (s *Store) cancelIn(ctx context.Context, tx pgx.Tx, id uuid.UUID, reason string, now time.Time, cutoff bool) ([]uuid.UUID, error) {
	var (
		status    string
		occ       uuid.UUID
		quantity  int
		released  bool
		startsAt  time.Time
		cutoffMin int
	)
	err := tx.QueryRow(ctx, lockBooking, id).Scan(&status, &occ, &quantity, &released, &startsAt, &cutoffMin)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, models.Errorf(models.ENotFound, "There is no such booking.")
	}
	if err != nil {
		return nil, internal("lock booking", err)
	}
	if status == models.BookingCancelled || status == models.BookingExpired {
		return nil, models.Errorf(models.EConflict, "This booking is cancelled already.")
	}
	if cutoff && !now.Before(startsAt.Add(-time.Duration(cutoffMin)*time.Minute)) {
		return nil, models.Errorf(models.EConflict, "It is too late to cancel this booking online: please contact the organiser.")
	}
	if _, err := tx.Exec(ctx, cancelBooking, id, now, reason); err != nil {
		return nil, internal("cancel booking", err)
	}
	if _, err := tx.Exec(ctx, cancelTickets, id); err != nil {
		return nil, internal("cancel tickets", err)
	}
	if !released {
		if err := calendars.ReleaseSeats(ctx, tx, occ, quantity); err != nil {
			return nil, err
		}
	}
	return s.offerFreedSeats(ctx, tx, occ, now)
}

const insertTickets = `
INSERT INTO tickets (booking_id, secret, seat, created_at)
SELECT $1, s.secret, s.seat, $3 FROM unnest($2::bytea[]) WITH ORDINALITY AS s (secret, seat)`

// issueTickets issues the n tickets of the booking bookingID (a held one
// now paid), each with a random 128-bit secret.
func issueTickets(ctx context.Context, tx pgx.Tx, bookingID uuid.UUID, n int, now time.Time) error {
	secrets, err := newSecrets(n)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, insertTickets, bookingID, secrets, now); err != nil {
		return internal("insert tickets", err)
	}
	return nil
}

func newSecrets(n int) ([][]byte, error) {
	secrets := make([][]byte, n)
	for i := range secrets {
		secrets[i] = make([]byte, 16)
		if _, err := rand.Read(secrets[i]); err != nil {
			return nil, internal("ticket secret", err)
		}
	}
	return secrets, nil
}
