package bookings

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
)

// Paid tickets: the cart's checkout holds the seats while the shopper
// pays (a held booking, no tickets yet), confirms them when the order is
// paid (tickets issued) and gives them back when the order is cancelled;
// a hold not paid for in time expires (ExpireHolds) and its seats go back
// and to the waitlist. Each runs in the cart's transaction, next to the
// order's own change.

const insertHold = `
INSERT INTO bookings (occurrence_id, ticket_type_id, quantity, user_id, email, name, status, order_id,
                      hold_expires_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, 'held', $7, $8, $9, $9)
RETURNING id`

// Hold takes q's seats (of any ticket type, paid ones too) in tx as of
// now and records a held booking for the order orderID (uuid.Nil: none
// yet) until until; it has no tickets until ConfirmHeld. It returns the
// booking's id. Errors: those of calendars.TakeSeats and of q's
// validation; EInvalid (until not after now); EInternal.
func (s *Store) Hold(ctx context.Context, tx pgx.Tx, q Request, orderID uuid.UUID, until, now time.Time) (uuid.UUID, error) {
	if err := q.validate(); err != nil {
		return uuid.Nil, err
	}
	if !until.After(now) {
		return uuid.Nil, models.Errorf(models.EInvalid, "A hold ends after it starts.")
	}
	if err := calendars.TakeSeats(ctx, tx, q.OccurrenceID, q.TicketTypeID, q.Quantity, now); err != nil {
		return uuid.Nil, err
	}
	var id uuid.UUID
	if err := tx.QueryRow(ctx, insertHold, q.OccurrenceID, q.TicketTypeID, q.Quantity, nullUUID(q.UserID), q.Email, q.Name,
		nullUUID(orderID), until, now).Scan(&id); err != nil {
		return uuid.Nil, internal("insert hold", err)
	}
	return id, nil
}

const heldOfOrder = `
SELECT id, occurrence_id, ticket_type_id, quantity, status, seats_released_at IS NOT NULL
FROM bookings WHERE order_id = $1 AND status IN ('held', 'expired')
ORDER BY created_at, id
FOR UPDATE`

type heldBooking struct {
	id, occurrence, ticketType uuid.UUID
	quantity                   int
	status                     string
	released                   bool
}

func lockHeld(ctx context.Context, tx pgx.Tx, orderID uuid.UUID) ([]heldBooking, error) {
	rows, err := tx.Query(ctx, heldOfOrder, orderID)
	if err != nil {
		return nil, internal("held bookings", err)
	}
	held, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (heldBooking, error) {
		var h heldBooking
		err := row.Scan(&h.id, &h.occurrence, &h.ticketType, &h.quantity, &h.status, &h.released)
		return h, err
	})
	if err != nil {
		return nil, internal("held bookings", err)
	}
	return held, nil
}

const confirmHeld = `
UPDATE bookings SET status = 'confirmed', confirmed_at = $2, updated_at = $2, hold_expires_at = NULL,
       seats_released_at = NULL
WHERE id = $1`

// heldCancelledWithEvent finds a booking of the order cancelled while
// held because its date was cancelled (CancelForEvent).
const heldCancelledWithEvent = `
SELECT EXISTS (SELECT 1 FROM bookings
               WHERE order_id = $1 AND status = 'cancelled' AND confirmed_at IS NULL AND cancel_reason = $2)`

// ConfirmHeld confirms, in tx as of now, the order orderID's held
// bookings (the order is paid) and issues their tickets. A hold that
// expired meanwhile takes its seats again when they are still free.
// Errors: EConflict (an expired hold's seats are gone, or the event was
// cancelled while they were held: nothing is confirmed, and the caller
// refunds), EInternal.
func (s *Store) ConfirmHeld(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, now time.Time) error {
	held, err := lockHeld(ctx, tx, orderID)
	if err != nil {
		return err
	}
	var dateCancelled bool
	if err := tx.QueryRow(ctx, heldCancelledWithEvent, orderID, EventCancelledReason).Scan(&dateCancelled); err != nil {
		return internal("held bookings cancelled with their event", err)
	}
	if dateCancelled {
		return models.Errorf(models.EConflict, "The event the places of this order were held for was cancelled: they can no longer be paid for.")
	}
	for _, h := range held {
		if h.released {
			if err := calendars.TakeSeats(ctx, tx, h.occurrence, h.ticketType, h.quantity, now); err != nil {
				if models.Code(err) == models.EInternal {
					return err
				}
				return models.Errorf(models.EConflict, "The places held for this order were released before it was paid, and are gone: %s", models.Message(err))
			}
		}
		if _, err := tx.Exec(ctx, confirmHeld, h.id, now); err != nil {
			return internal("confirm held", err)
		}
		if err := issueTickets(ctx, tx, h.id, h.quantity, now); err != nil {
			return err
		}
	}
	return nil
}

const releaseHeld = `
UPDATE bookings SET status = $3, updated_at = $2, seats_released_at = coalesce(seats_released_at, $2),
       cancelled_at = CASE WHEN $3 = 'cancelled' THEN $2 END
WHERE id = $1`

// ReleaseHeld gives back, in tx as of now, the seats of the order
// orderID's held bookings (the order is cancelled), once, and offers them
// to the waitlist (the Offered hook is called before tx commits).
// Errors: EInternal.
func (s *Store) ReleaseHeld(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, now time.Time) error {
	held, err := lockHeld(ctx, tx, orderID)
	if err != nil {
		return err
	}
	offered, err := s.release(ctx, tx, held, models.BookingCancelled, now)
	if err != nil {
		return err
	}
	s.notify(ctx, tx, offered)
	return nil
}

func (s *Store) release(ctx context.Context, tx pgx.Tx, held []heldBooking, status string, now time.Time) ([]uuid.UUID, error) {
	var offered []uuid.UUID
	for _, h := range held {
		if _, err := tx.Exec(ctx, releaseHeld, h.id, now, status); err != nil {
			return nil, internal("release held", err)
		}
		if h.released {
			continue
		}
		if err := calendars.ReleaseSeats(ctx, tx, h.occurrence, h.quantity); err != nil {
			return nil, err
		}
		ids, err := s.offerFreedSeats(ctx, tx, h.occurrence, now)
		if err != nil {
			return nil, err
		}
		offered = append(offered, ids...)
	}
	return offered, nil
}

const holdsDue = `
SELECT id, occurrence_id, ticket_type_id, quantity, status, false FROM bookings
WHERE status = 'held' AND hold_expires_at <= $1
ORDER BY hold_expires_at LIMIT 500
FOR UPDATE SKIP LOCKED`

// ExpireHolds ends the holds not paid for by now: each becomes expired,
// gives its seats back once and offers them to the waitlist (the Offered
// hook is called after commit). It returns how many expired; up to 500
// a call (the events service or the cart runs it periodically). Errors:
// EInternal.
func (s *Store) ExpireHolds(ctx context.Context, now time.Time) (int, error) {
	var (
		n       int
		offered []uuid.UUID
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, holdsDue, now)
		if err != nil {
			return internal("holds due", err)
		}
		held, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (heldBooking, error) {
			var h heldBooking
			err := row.Scan(&h.id, &h.occurrence, &h.ticketType, &h.quantity, &h.status, &h.released)
			return h, err
		})
		if err != nil {
			return internal("holds due", err)
		}
		n = len(held)
		offered, err = s.release(ctx, tx, held, models.BookingExpired, now)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.notify(ctx, s.db, offered)
	return n, nil
}

// OrderRefundedReason is the cancel reason of the bookings cancelled
// because an admin refunded their order in full.
const OrderRefundedReason = "The order was refunded."

const activeOfOrder = `SELECT id FROM bookings WHERE order_id = $1 AND status IN ('held', 'confirmed') ORDER BY created_at, id`

// CancelForOrder cancels, in tx as of now, the order orderID's held and
// confirmed bookings (its payment was given back in full): each booking
// and its tickets are cancelled with reason, its seats given back once and
// offered to the waitlist (the Offered hook is called before tx commits),
// whatever the event's cutoff. It returns how many bookings it cancelled;
// calling it again cancels nothing. Errors: EInternal.
func (s *Store) CancelForOrder(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, reason string, now time.Time) (int, error) {
	rows, err := tx.Query(ctx, activeOfOrder, orderID)
	if err != nil {
		return 0, internal("bookings of order", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, internal("bookings of order", err)
	}
	var offered []uuid.UUID
	for _, id := range ids {
		o, err := s.cancelIn(ctx, tx, id, reason, now, false)
		if err != nil {
			return 0, err
		}
		offered = append(offered, o...)
	}
	s.notify(ctx, tx, offered)
	return len(ids), nil
}
