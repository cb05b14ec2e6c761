package orders

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/bookings"
)

// Paid tickets cancelled: cancelling an event cancels its bookings
// (bookings.CancelForEvent, reason bookings.EventCancelledReason), and a
// holder may cancel theirs until the event's cutoff (bookings.Cancel,
// reason bookings.HolderCancelledReason); the cart's sweep refunds each paid one (confirmed, of an order still
// paid) once, the ticket line's price times its places, through SumUp.
//
// A booking's refund is recorded (pending) and committed before SumUp is
// asked, then confirmed: a sweep that stops between the two leaves the
// pending row, which keeps the booking from being refunded again (at most
// once) and is reported (StuckBookingRefunds) for an admin to check in
// SumUp. SumUp refusing or away deletes the pending row: the next sweep
// tries again.

// BookingRefund is a paid booking cancelled with its event or by its
// holder, to refund.
type BookingRefund struct {
	BookingID, OrderID uuid.UUID
	// Title is the ticket line's; Quantity its places.
	Title    string
	Quantity int
	// Amount is the ticket line's unit price times the booking's places
	// (the price paid, not the ticket type's price now).
	Amount int64
	// ByHolder marks a booking its holder cancelled (before the cutoff);
	// else its event or date was cancelled.
	ByHolder bool
}

// refundableStates are the states of an order paid and not refunded in
// full.
var refundableStates = []string{models.OrderPaid, models.OrderReadyForPickup, models.OrderDispatched,
	models.OrderCompleted, models.OrderPartiallyRefunded}

const bookingRefundsDue = `
SELECT DISTINCT ON (b.cancelled_at, b.id) b.id, b.order_id, l.title, b.quantity, l.unit_price_minor * b.quantity,
       b.cancel_reason = $4
FROM bookings b
JOIN orders o ON o.id = b.order_id
JOIN order_lines l ON l.order_id = b.order_id AND l.kind = 'ticket'
                  AND l.occurrence_id = b.occurrence_id AND l.ticket_type_id = b.ticket_type_id
WHERE b.status = 'cancelled' AND b.cancel_reason IN ($1, $4) AND b.confirmed_at IS NOT NULL
  AND o.status = ANY($2)
  AND NOT EXISTS (SELECT 1 FROM order_refunds r WHERE r.booking_id = b.id)
ORDER BY b.cancelled_at, b.id, l.id
LIMIT $3`

// BookingRefundsDue returns up to limit paid bookings cancelled with
// their event or by their holder and not refunded yet (nor being refunded), oldest
// cancellation first. Errors: EInternal.
func (s *Store) BookingRefundsDue(ctx context.Context, limit int) ([]BookingRefund, error) {
	rows, err := s.db.Query(ctx, bookingRefundsDue, bookings.EventCancelledReason, refundableStates, limit,
		bookings.HolderCancelledReason)
	if err != nil {
		return nil, internal("booking refunds due", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[BookingRefund])
	if err != nil {
		return nil, internal("booking refunds due", err)
	}
	return out, nil
}

// pendingRefunds is the sum of the order's refunds recorded but not yet
// confirmed as given by SumUp: they count against what is left.
func pendingRefunds(ctx context.Context, tx pgx.Tx, orderID uuid.UUID) (int64, error) {
	var sum int64
	err := tx.QueryRow(ctx, `SELECT coalesce(sum(amount_minor), 0) FROM order_refunds WHERE order_id = $1 AND pending`, orderID).Scan(&sum)
	return sum, err
}

// RefundBooking refunds the cancelled booking d once: it records the
// refund as pending (the order locked; at most what is left of its
// payment), commits, calls give with the order, its paid attempt and the
// amount (the caller asks SumUp there), then confirms the refund and
// moves the order to refunded or partially refunded, logged as the
// system's with reason. give failing deletes the pending refund (the next
// sweep tries again) and its error is returned. It returns the order and
// the amount refunded. Errors: ENotFound, EConflict (refunded or being
// refunded already, the order no longer paid, nothing left of its
// payment), give's, EInternal (then a pending refund may be left, given
// or not: see StuckBookingRefunds).
func (s *Store) RefundBooking(ctx context.Context, d BookingRefund, reason string,
	give func(ctx context.Context, o models.Order, at models.PaymentAttempt, amount int64) error) (models.Order, int64, error) {
	var (
		o      models.Order
		at     models.PaymentAttempt
		amount int64
	)
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if o, err = lockOrder(ctx, tx, d.OrderID); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM order_refunds WHERE booking_id = $1)`, d.BookingID).Scan(&done); err != nil {
			return err
		}
		if done {
			return models.Errorf(models.EConflict, "This booking is refunded already.")
		}
		if !slices.Contains(refundableStates, o.Status) {
			return models.Errorf(models.EConflict, "%s is %s: nothing to refund.", o.Name(), models.OrderStatusText(o.Status))
		}
		at, err = scanAttempt(tx.QueryRow(ctx, attemptColumns+`
WHERE order_id = $1 AND status = 'paid' AND transaction_id <> '' ORDER BY updated_at, attempt LIMIT 1`, o.ID))
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.EConflict, "%s has no payment to refund.", o.Name())
		}
		if err != nil {
			return err
		}
		pending, err := pendingRefunds(ctx, tx, o.ID)
		if err != nil {
			return err
		}
		amount = min(d.Amount, o.Total-o.Refunded-pending)
		if amount <= 0 {
			return models.Errorf(models.EConflict, "%s is refunded in full already.", o.Name())
		}
		_, err = tx.Exec(ctx, `
INSERT INTO order_refunds (order_id, attempt_id, amount_minor, reason, booking_id, pending) VALUES ($1, $2, $3, $4, $5, true)`,
			o.ID, at.ID, amount, reason, d.BookingID)
		return err
	})
	if err != nil {
		return models.Order{}, 0, domainError("refund booking", err)
	}
	if err := give(ctx, o, at, amount); err != nil {
		// Nothing was given: the booking is due again.
		if _, derr := s.db.Exec(ctx, `DELETE FROM order_refunds WHERE booking_id = $1 AND pending`, d.BookingID); derr != nil {
			return models.Order{}, 0, internal("forget refund not given", errors.Join(err, derr))
		}
		return models.Order{}, 0, err
	}
	err = postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if o, err = lockOrder(ctx, tx, d.OrderID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE order_refunds SET pending = false, created_at = now() WHERE booking_id = $1 AND pending`, d.BookingID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errors.New("pending refund gone")
		}
		return s.countRefund(ctx, tx, &o, amount, Actor{Name: "system"}, reason)
	})
	if err != nil {
		return models.Order{}, amount, internal("confirm booking refund", err)
	}
	return o, amount, nil
}

// StuckBookingRefunds returns how many refunds of bookings were recorded
// before the given time and never confirmed: the refund stopped between
// its record and SumUp's answer. Each needs an admin to check in SumUp
// whether it was given (they are never asked again). Errors: EInternal.
func (s *Store) StuckBookingRefunds(ctx context.Context, before time.Time) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM order_refunds WHERE pending AND created_at < $1`, before).Scan(&n); err != nil {
		return 0, internal("stuck booking refunds", err)
	}
	return n, nil
}
