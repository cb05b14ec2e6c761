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

// next lists the states an admin may move an order to from each state.
var next = map[string][]string{
	models.OrderPendingPayment:    {models.OrderCancelled},
	models.OrderPaid:              {models.OrderReadyForPickup, models.OrderDispatched, models.OrderCompleted},
	models.OrderReadyForPickup:    {models.OrderCompleted},
	models.OrderDispatched:        {models.OrderCompleted},
	models.OrderPartiallyRefunded: {models.OrderReadyForPickup, models.OrderDispatched, models.OrderCompleted},
}

// NextStates returns the states an admin may move an order in status to.
func NextStates(status string) []string { return next[status] }

// Actor is who changes an order: a user (an admin, the shopper) or, with
// a nil ID, the system under Name.
type Actor struct {
	ID   uuid.UUID
	Name string
}

func (a Actor) id() uuid.NullUUID { return uuid.NullUUID{UUID: a.ID, Valid: a.ID != uuid.Nil} }

// Move changes an order's state as an admin asks (made ready, dispatched,
// completed; an unpaid order cancelled, its stock given back), logging who
// and why. Errors: ENotFound, EConflict (not a move from its state: the
// message names the state), EInternal.
func (s *Store) Move(ctx context.Context, orderID uuid.UUID, to string, by Actor, reason string) (models.Order, error) {
	var o models.Order
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if o, err = lockOrder(ctx, tx, orderID); err != nil {
			return err
		}
		if !slices.Contains(next[o.Status], to) {
			return models.Errorf(models.EConflict, "%s is %s: it cannot be made %s.", o.Name(),
				models.OrderStatusText(o.Status), models.OrderStatusText(to))
		}
		if to == models.OrderCancelled {
			if err := s.release(ctx, tx, o.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET status = 'cancelled', updated_at = now() WHERE order_id = $1 AND status = 'pending'`, o.ID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, updated_at = now() WHERE id = $1`, o.ID, to); err != nil {
			return err
		}
		from := o.Status
		o.Status = to
		return logEvent(ctx, tx, o.ID, from, to, by.id(), by.Name, reason)
	})
	if err != nil {
		return models.Order{}, domainError("move order", err)
	}
	return o, nil
}

// release gives back the stock and the event seats an unpaid order's
// lines hold.
func (s *Store) release(ctx context.Context, tx pgx.Tx, orderID uuid.UUID) error {
	tag, err := tx.Exec(ctx, `UPDATE orders SET released_at = now() WHERE id = $1 AND released_at IS NULL`, orderID)
	if err != nil || tag.RowsAffected() == 0 {
		return err // released before: nothing to give back twice
	}
	rows, err := tx.Query(ctx, `SELECT variant_id, held FROM order_lines WHERE order_id = $1 AND held > 0 AND variant_id IS NOT NULL`, orderID)
	if err != nil {
		return err
	}
	type held struct {
		Variant uuid.UUID
		N       int
	}
	lines, err := pgx.CollectRows(rows, pgx.RowToStructByPos[held])
	if err != nil {
		return err
	}
	for _, l := range lines {
		if err := s.catalog.ReleaseStock(ctx, tx, l.Variant, l.N); err != nil {
			return err
		}
	}
	return s.releaseSeats(ctx, tx, orderID, s.now())
}

// ExpireHolds expires the unpaid orders whose hold ran out before now,
// giving their stock back, and returns their pending attempts (whose
// checkouts the caller deactivates). Errors: EInternal.
func (s *Store) ExpireHolds(ctx context.Context, now time.Time, limit int) ([]models.PaymentAttempt, error) {
	var stale []models.PaymentAttempt
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
SELECT id FROM orders WHERE status = 'pending_payment' AND released_at IS NULL AND hold_until < $1
ORDER BY hold_until LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.release(ctx, tx, id); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `UPDATE payment_attempts SET status = 'cancelled', updated_at = now()
WHERE order_id = $1 AND status = 'pending' RETURNING id, order_id, attempt, reference, coalesce(checkout_id, ''), hosted_url,
  status, amount_minor, currency::text, transaction_id, created_at, updated_at`, id)
			if err != nil {
				return err
			}
			as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.PaymentAttempt, error) { return scanAttempt(r) })
			if err != nil {
				return err
			}
			stale = append(stale, as...)
			if _, err := tx.Exec(ctx, `UPDATE orders SET status = 'expired', updated_at = now() WHERE id = $1`, id); err != nil {
				return err
			}
			if err := logEvent(ctx, tx, id, models.OrderPendingPayment, models.OrderExpired, uuid.NullUUID{}, "system",
				"Not paid in time: the stock held for it was given back"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal("expire holds", err)
	}
	return stale, nil
}

// RecordReturnedPayment records that a payment which did not pay the order
// (it came after the order expired or was cancelled, or a second checkout
// was paid too) was given back in full through SumUp: the attempt is
// marked refunded and the refund is in the order's refunds and history,
// but the order's own totals and state are left as they are. Errors:
// ENotFound, EInternal.
func (s *Store) RecordReturnedPayment(ctx context.Context, orderID, attemptID uuid.UUID, reason string) error {
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, orderID)
		if err != nil {
			return err
		}
		var amount int64
		err = tx.QueryRow(ctx, `UPDATE payment_attempts SET status = 'refunded', updated_at = now()
WHERE id = $1 AND order_id = $2 AND status = 'paid' RETURNING amount_minor`, attemptID, orderID).Scan(&amount)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // returned before
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO order_refunds (order_id, attempt_id, amount_minor, reason) VALUES ($1, $2, $3, $4)`,
			orderID, attemptID, amount, reason); err != nil {
			return err
		}
		return logEvent(ctx, tx, orderID, o.Status, o.Status, uuid.NullUUID{}, "system",
			"A payment of "+o.Money(amount).String()+" was given back: "+reason)
	})
	return domainError("record returned payment", err)
}

// applyRefund records a refund of amount of the locked order o's attempt
// and counts it (countRefund).
func (s *Store) applyRefund(ctx context.Context, tx pgx.Tx, o *models.Order, attemptID uuid.UUID, amount int64, by Actor, reason string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO order_refunds (order_id, attempt_id, amount_minor, reason, actor_id) VALUES ($1, $2, $3, $4, $5)`,
		o.ID, attemptID, amount, reason, by.id()); err != nil {
		return err
	}
	return s.countRefund(ctx, tx, o, amount, by, reason)
}

// countRefund adds a refund of amount, recorded already, to the locked
// order o's refunded total and moves o to refunded or partially refunded
// (an order cancelled or expired before its payment came stays so),
// logging who and why. Refunded in full, the order's tickets are no
// longer valid: its bookings are cancelled, their places given back and
// offered to the waitlist (bookings.CancelForOrder).
func (s *Store) countRefund(ctx context.Context, tx pgx.Tx, o *models.Order, amount int64, by Actor, reason string) error {
	o.Refunded += amount
	to := models.OrderPartiallyRefunded
	if o.Refunded == o.Total {
		to = models.OrderRefunded
	}
	if o.Status == models.OrderCancelled || o.Status == models.OrderExpired {
		to = o.Status
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET refunded_minor = $2, status = $3, updated_at = now() WHERE id = $1`, o.ID, o.Refunded, to); err != nil {
		return err
	}
	from := o.Status
	o.Status = to
	why := "Refunded " + o.Money(amount).String()
	if reason != "" {
		why += ": " + reason
	}
	if err := logEvent(ctx, tx, o.ID, from, to, by.id(), by.Name, why); err != nil {
		return err
	}
	if o.Refunded < o.Total || s.Bookings == nil {
		return nil
	}
	n, err := s.Bookings.CancelForOrder(ctx, tx, o.ID, bookings.OrderRefundedReason, s.now())
	if err != nil || n == 0 {
		return err
	}
	return logEvent(ctx, tx, o.ID, to, to, by.id(), by.Name, "Refunded in full: its tickets are cancelled and their places given back")
}
