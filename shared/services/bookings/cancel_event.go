package bookings

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
)

// EventCancelledReason is the cancel reason of the bookings cancelled
// because their date was (the event cancelled, or the date dropped from
// it): the cart finds the paid ones by it (with their order_id) to refund.
const EventCancelledReason = "The event was cancelled."

// Cancellation is what cancelling an event's dates did to its bookings
// and waitlists.
type Cancellation struct {
	// EventID is the event; Reason the reason its organiser gave when it
	// was cancelled ("" when none was given, or only dates were dropped).
	EventID uuid.UUID
	Reason  string
	// Bookings are the bookings cancelled, each with its event, date and
	// booker (Status is now cancelled).
	Bookings []CancelledBooking
	// Waitlist are the waitlist entries ended: waiting, or offered places
	// not claimed yet (their Status is now expired).
	Waitlist []models.WaitlistEntry
}

// CancelledBooking is a booking cancelled with its date.
type CancelledBooking struct {
	models.Booking
	// Was is the booking's status before: confirmed (it had tickets) or
	// held (its seats were held for an order being paid).
	Was string
	// OrderID is the cart's order that paid for it (or was paying for
	// it), uuid.Nil for a free booking. A confirmed booking with an order
	// was paid for, and its order line is to be refunded by the cart.
	OrderID uuid.UUID
}

// Paid reports whether the booking was paid for through the cart's order
// (a confirmed booking with an order): its amount is to be refunded.
func (c CancelledBooking) Paid() bool {
	return c.Was == models.BookingConfirmed && c.OrderID != uuid.Nil
}

const lockBookingsOfCancelledDates = `
SELECT b.id, b.status, b.occurrence_id, b.quantity, b.seats_released_at IS NOT NULL, b.order_id
FROM bookings b
JOIN event_occurrences o ON o.id = b.occurrence_id
WHERE o.event_id = $1 AND o.status = 'cancelled' AND o.starts_at > $2 AND b.status IN ('held', 'confirmed')
ORDER BY o.starts_at, b.created_at, b.id
FOR UPDATE OF b`

const lockWaitlistOfCancelledDates = `
SELECT w.id, w.status, w.occurrence_id, w.quantity
FROM waitlist_entries w
JOIN event_occurrences o ON o.id = w.occurrence_id
WHERE o.event_id = $1 AND o.status = 'cancelled' AND o.starts_at > $2 AND w.status IN ('waiting', 'offered')
ORDER BY o.starts_at, w.created_at, w.id
FOR UPDATE OF w`

const cancelledEventReason = `SELECT CASE WHEN status = 'cancelled' THEN cancel_reason ELSE '' END FROM events WHERE id = $1`

// CancelForEvent cancels, in tx as of now, every held or confirmed
// booking of the event eventID's cancelled dates still to start (the
// event cancelled, or dates dropped from it): the booking and its
// tickets are cancelled with EventCancelledReason and its seats given
// back once; the dates' waitlist entries (waiting, or offered places
// not claimed) end as expired, an offer's seats given back. Nothing is
// offered to anyone: the dates are cancelled. Bookings of dates already
// started stay. Calling it again changes nothing. It returns what it
// did, for the caller to tell the bookers after tx commits (and the cart
// to refund the paid ones). Errors: EInternal.
func (s *Store) CancelForEvent(ctx context.Context, tx pgx.Tx, eventID uuid.UUID, now time.Time) (Cancellation, error) {
	c := Cancellation{EventID: eventID}
	if err := tx.QueryRow(ctx, cancelledEventReason, eventID).Scan(&c.Reason); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Cancellation{}, internal("event's reason", err)
	}
	type held struct {
		id, occurrence uuid.UUID
		status         string
		quantity       int
		released       bool
		order          *uuid.UUID
	}
	rows, err := tx.Query(ctx, lockBookingsOfCancelledDates, eventID, now)
	if err != nil {
		return Cancellation{}, internal("bookings of cancelled dates", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (held, error) {
		var h held
		err := row.Scan(&h.id, &h.status, &h.occurrence, &h.quantity, &h.released, &h.order)
		return h, err
	})
	if err != nil {
		return Cancellation{}, internal("bookings of cancelled dates", err)
	}
	for _, h := range list {
		if _, err := tx.Exec(ctx, cancelBooking, h.id, now, EventCancelledReason); err != nil {
			return Cancellation{}, internal("cancel booking", err)
		}
		if _, err := tx.Exec(ctx, cancelTickets, h.id); err != nil {
			return Cancellation{}, internal("cancel tickets", err)
		}
		if !h.released {
			if err := calendars.ReleaseSeats(ctx, tx, h.occurrence, h.quantity); err != nil {
				return Cancellation{}, err
			}
		}
		b, err := bookingIn(ctx, tx, h.id)
		if err != nil {
			return Cancellation{}, err
		}
		cb := CancelledBooking{Booking: b, Was: h.status}
		if h.order != nil {
			cb.OrderID = *h.order
		}
		c.Bookings = append(c.Bookings, cb)
	}

	type entry struct {
		id, occurrence uuid.UUID
		status         string
		quantity       int
	}
	rows, err = tx.Query(ctx, lockWaitlistOfCancelledDates, eventID, now)
	if err != nil {
		return Cancellation{}, internal("waitlist of cancelled dates", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (entry, error) {
		var e entry
		err := row.Scan(&e.id, &e.status, &e.occurrence, &e.quantity)
		return e, err
	})
	if err != nil {
		return Cancellation{}, internal("waitlist of cancelled dates", err)
	}
	for _, e := range entries {
		if _, err := tx.Exec(ctx, expireEntry, e.id, now); err != nil {
			return Cancellation{}, internal("end waitlist entry", err)
		}
		if e.status == models.WaitlistOffered {
			if err := calendars.ReleaseSeats(ctx, tx, e.occurrence, e.quantity); err != nil {
				return Cancellation{}, err
			}
		}
		w, err := waitlistEntry(ctx, tx, e.id)
		if err != nil {
			return Cancellation{}, err
		}
		c.Waitlist = append(c.Waitlist, w)
	}
	return c, nil
}

// bookingIn reads the booking id (without its tickets) through tx.
func bookingIn(ctx context.Context, tx pgx.Tx, id uuid.UUID) (models.Booking, error) {
	rows, err := tx.Query(ctx, bookingColumns+` WHERE b.id = $1`, id)
	if err != nil {
		return models.Booking{}, internal("booking", err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, scanBooking)
	if err != nil {
		return models.Booking{}, internal("booking", err)
	}
	return b, nil
}

// CancelWithEvent is the calendars store's OnChange hook (the events
// service registers it): after every change of the event eventID, in
// the change's transaction tx, it cancels the bookings and waitlist
// entries of the event's cancelled dates still to start
// (CancelForEvent), so that an event is never cancelled with bookings
// left standing. What it cancelled is added to the collector of ctx
// (CollectCancellations), if any, for the caller to tell the bookers once
// the change commits. Errors: EInternal (the change is rolled back).
func (s *Store) CancelWithEvent(ctx context.Context, tx pgx.Tx, eventID uuid.UUID) error {
	c, err := s.CancelForEvent(ctx, tx, eventID, time.Now())
	if err != nil {
		return err
	}
	if col, ok := ctx.Value(collectorKey{}).(*collector); ok && (len(c.Bookings) > 0 || len(c.Waitlist) > 0) {
		col.mu.Lock()
		col.list = append(col.list, c)
		col.mu.Unlock()
	}
	return nil
}

type collectorKey struct{}

type collector struct {
	mu   sync.Mutex
	list []Cancellation
}

// CollectCancellations returns a context under which CancelWithEvent
// records what it cancels, and a function that returns those records:
// a caller changing an event (cancelling it, dropping dates) reads them
// once the change has committed, to email the bookers.
func CollectCancellations(ctx context.Context) (context.Context, func() []Cancellation) {
	col := &collector{}
	return context.WithValue(ctx, collectorKey{}, col), func() []Cancellation {
		col.mu.Lock()
		defer col.mu.Unlock()
		return append([]Cancellation(nil), col.list...)
	}
}
