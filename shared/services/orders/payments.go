package orders

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

const attemptColumns = `
SELECT id, order_id, attempt, reference, coalesce(checkout_id, ''), hosted_url, status, amount_minor, currency::text,
       transaction_id, created_at, updated_at
FROM payment_attempts`

func scanAttempt(row pgx.Row) (models.PaymentAttempt, error) {
	var a models.PaymentAttempt
	err := row.Scan(&a.ID, &a.OrderID, &a.Attempt, &a.Reference, &a.CheckoutID, &a.HostedURL, &a.Status, &a.Amount.Minor,
		&a.Amount.Currency, &a.TransactionID, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// Attempt returns a payment attempt by its id. Errors: ENotFound,
// EInternal.
func (s *Store) Attempt(ctx context.Context, id uuid.UUID) (models.PaymentAttempt, error) {
	return s.attemptWhere(ctx, `id = $1`, id)
}

// AttemptByCheckout returns the payment attempt of a SumUp checkout id.
// Errors: ENotFound (not one of ours), EInternal.
func (s *Store) AttemptByCheckout(ctx context.Context, checkoutID string) (models.PaymentAttempt, error) {
	return s.attemptWhere(ctx, `checkout_id = $1`, checkoutID)
}

func (s *Store) attemptWhere(ctx context.Context, where string, key any) (models.PaymentAttempt, error) {
	a, err := scanAttempt(s.db.QueryRow(ctx, attemptColumns+` WHERE `+where, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, models.Errorf(models.ENotFound, "There is no such payment.")
	}
	if err != nil {
		return a, internal("payment attempt", err)
	}
	return a, nil
}

// AttachCheckout records the SumUp checkout made for a pending attempt.
// Errors: EConflict (the attempt is no longer pending, or has another
// checkout), EInternal.
func (s *Store) AttachCheckout(ctx context.Context, attemptID uuid.UUID, checkoutID, hostedURL string) error {
	tag, err := s.db.Exec(ctx, `
UPDATE payment_attempts SET checkout_id = $2, hosted_url = $3, updated_at = now()
WHERE id = $1 AND status = 'pending' AND (checkout_id IS NULL OR checkout_id = $2)`, attemptID, checkoutID, hostedURL)
	if err != nil {
		return internal("attach checkout", err)
	}
	if tag.RowsAffected() != 1 {
		return models.Errorf(models.EConflict, "This payment was already settled: see the order.")
	}
	return nil
}

// Checked is what a server-side GET of a SumUp checkout said.
type Checked struct {
	CheckoutID string
	// Status is SumUp's: PENDING, PAID, FAILED or EXPIRED.
	Status        string
	Amount        models.Money
	MerchantCode  string
	TransactionID string
}

// Outcome is what Settle did.
type Outcome int

// Settle's outcomes.
const (
	// Unchanged: nothing to do (still pending, or already settled so).
	Unchanged Outcome = iota
	// NowPaid: the order became paid by this call (send the email once).
	NowPaid
	// NowFailed: the attempt failed or expired; the shopper may retry.
	NowFailed
	// RefundDue: the checkout was paid for an order that was cancelled or
	// expired meanwhile: the caller refunds it (RecordRefund).
	RefundDue
	// Mismatch: SumUp says PAID for another amount, currency or merchant:
	// not paid, an alert for the admins.
	Mismatch
)

// Settle applies what a GET of the attempt's checkout said, idempotently:
// however many webhooks, browser returns and reconciler runs call it, an
// order becomes paid once (a conditional update in one transaction, on
// the attempt's row locked), and a paid checkout for an order no longer
// payable is reported RefundDue once. merchant is ours. Errors:
// ENotFound (not one of our checkouts), EInternal.
func (s *Store) Settle(ctx context.Context, c Checked, merchant string) (Outcome, models.Order, error) {
	var out Outcome
	var o models.Order
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		out = Unchanged
		a, err := scanAttempt(tx.QueryRow(ctx, attemptColumns+` WHERE checkout_id = $1 FOR UPDATE`, c.CheckoutID))
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "There is no such payment.")
		}
		if err != nil {
			return err
		}
		if o, err = lockOrder(ctx, tx, a.OrderID); err != nil {
			return err
		}
		if a.Status == models.AttemptPaid || a.Status == models.AttemptRefunded {
			return nil // settled before: a duplicate webhook, a second return (a declined checkout may still be paid)
		}
		switch c.Status {
		case "PAID":
		case "FAILED", "EXPIRED":
			if a.Status == models.AttemptPending {
				status := models.AttemptFailed
				if c.Status == "EXPIRED" {
					status = models.AttemptExpired
				}
				if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET status = $2, updated_at = now() WHERE id = $1`, a.ID, status); err != nil {
					return err
				}
				out = NowFailed
			}
			return nil
		default:
			return nil // PENDING: nothing yet
		}
		if c.Amount != a.Amount || (merchant != "" && c.MerchantCode != merchant) {
			// Alerted once per checkout, however often it is asked about.
			reason := "ALERT: SumUp reports checkout " + c.CheckoutID + " paid, but not as this order asks (" +
				a.Amount.String() + " to our merchant): not marked paid; an admin must check it in SumUp"
			var alerted bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM order_events WHERE order_id = $1 AND reason = $2)`,
				o.ID, reason).Scan(&alerted); err != nil || alerted {
				return err
			}
			out = Mismatch
			return logEvent(ctx, tx, o.ID, o.Status, o.Status, uuid.NullUUID{}, "sumup", reason)
		}
		if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET status = 'paid', transaction_id = $2, updated_at = now() WHERE id = $1`,
			a.ID, c.TransactionID); err != nil {
			return err
		}
		if o.Status != models.OrderPendingPayment {
			out = RefundDue
			return logEvent(ctx, tx, o.ID, o.Status, o.Status, uuid.NullUUID{}, "sumup",
				"Paid after the order was "+models.OrderStatusText(o.Status)+": refund due")
		}
		now := s.now()
		if ok, err := s.confirmTickets(ctx, tx, o.ID, now); err != nil || !ok {
			if err != nil {
				return err
			}
			// The places held for it ran out and were taken: the order
			// cannot be had, and its payment goes back as a late one does.
			if err := s.release(ctx, tx, o.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET status = 'cancelled', updated_at = now()
WHERE order_id = $1 AND status = 'pending'`, o.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE orders SET status = 'cancelled', updated_at = $2 WHERE id = $1`, o.ID, now); err != nil {
				return err
			}
			out = RefundDue
			from := o.Status
			o.Status = models.OrderCancelled
			return logEvent(ctx, tx, o.ID, from, models.OrderCancelled, uuid.NullUUID{}, "sumup",
				"Paid after the places held for it had been released and taken: cancelled, refund due")
		}
		if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET status = 'cancelled', updated_at = now()
WHERE order_id = $1 AND status = 'pending' AND id <> $2`, o.ID, a.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET status = 'paid', paid_at = $2, updated_at = $2 WHERE id = $1 AND status = 'pending_payment'`,
			o.ID, now); err != nil {
			return err
		}
		if err := logEvent(ctx, tx, o.ID, o.Status, models.OrderPaid, uuid.NullUUID{}, "sumup", "Payment confirmed by SumUp"); err != nil {
			return err
		}
		o.Status, o.PaidAt = models.OrderPaid, &now
		out = NowPaid
		if s.Paid != nil {
			return s.Paid(ctx, tx, o)
		}
		return nil
	})
	if err != nil {
		return Unchanged, models.Order{}, domainError("settle payment", err)
	}
	return out, o, nil
}

// Retry starts a new payment attempt of an unpaid order whose hold still
// runs, cancelling a pending one (whose checkout the caller deactivates:
// it is returned). A pending attempt with no checkout yet is reused.
// Errors: ENotFound, EConflict (paid, expired or cancelled), EInternal.
func (s *Store) Retry(ctx context.Context, orderID uuid.UUID) (next models.PaymentAttempt, cancelled *models.PaymentAttempt, err error) {
	err = postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if o.Status != models.OrderPendingPayment || !s.now().Before(o.HoldUntil) {
			return models.Errorf(models.EConflict, "%s can no longer be paid: it is %s.", o.Name(), models.OrderStatusText(o.Status))
		}
		rows, err := tx.Query(ctx, attemptColumns+` WHERE order_id = $1 ORDER BY attempt DESC`, orderID)
		if err != nil {
			return err
		}
		attempts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.PaymentAttempt, error) { return scanAttempt(r) })
		if err != nil {
			return err
		}
		last := attempts[0]
		if last.Status == models.AttemptPending && last.CheckoutID == "" {
			next = last
			return nil
		}
		if last.Status == models.AttemptPending {
			if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET status = 'cancelled', updated_at = now() WHERE id = $1`, last.ID); err != nil {
				return err
			}
			cancelled = &last
		}
		next, err = newAttempt(ctx, tx, o, last.Attempt+1)
		return err
	})
	if err != nil {
		return models.PaymentAttempt{}, nil, domainError("retry payment", err)
	}
	return next, cancelled, nil
}

// StalePending returns the attempts the reconciler asks SumUp about: with a
// checkout, last changed before the given time, and pending or cancelled
// (for two days), or declined within the hour (a declined hosted checkout
// can still be paid while its session lasts). Errors: EInternal.
func (s *Store) StalePending(ctx context.Context, before time.Time, limit int) ([]models.PaymentAttempt, error) {
	rows, err := s.db.Query(ctx, attemptColumns+`
WHERE checkout_id IS NOT NULL AND updated_at < $1
  AND (status IN ('pending', 'cancelled') AND created_at > $1 - interval '2 days'
       -- a declined hosted checkout can still be paid while its session lasts (30 minutes)
       OR status = 'failed' AND created_at > $1 - interval '1 hour')
ORDER BY updated_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, internal("stale attempts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.PaymentAttempt, error) { return scanAttempt(r) })
	if err != nil {
		return nil, internal("stale attempts", err)
	}
	return out, nil
}

// Touch marks an attempt as just checked, so the reconciler asks about it
// again only later. Errors: EInternal.
func (s *Store) Touch(ctx context.Context, attemptID uuid.UUID) error {
	if _, err := s.db.Exec(ctx, `UPDATE payment_attempts SET updated_at = now() WHERE id = $1`, attemptID); err != nil {
		return internal("touch attempt", err)
	}
	return nil
}

// ReturnsDue returns paid attempts that did not pay their order and are
// not given back yet, last changed before the given time: paid after the
// order expired or was cancelled, or a second paid checkout of a paid
// order (the first paid one stands). The sweep refunds them, in case the
// refund made when they were settled failed. Errors: EInternal.
func (s *Store) ReturnsDue(ctx context.Context, before time.Time, limit int) ([]models.PaymentAttempt, error) {
	rows, err := s.db.Query(ctx, `
SELECT a.id, a.order_id, a.attempt, a.reference, coalesce(a.checkout_id, ''), a.hosted_url, a.status, a.amount_minor,
       a.currency::text, a.transaction_id, a.created_at, a.updated_at
FROM payment_attempts a JOIN orders o ON o.id = a.order_id
WHERE a.status = 'paid' AND a.transaction_id <> '' AND a.updated_at < $1
  AND (o.status IN ('expired', 'cancelled')
       OR EXISTS (SELECT 1 FROM payment_attempts b WHERE b.order_id = a.order_id AND b.id <> a.id
                  AND b.status = 'paid' AND (b.updated_at, b.id) < (a.updated_at, a.id)))
ORDER BY a.updated_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, internal("returns due", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.PaymentAttempt, error) { return scanAttempt(r) })
	if err != nil {
		return nil, internal("returns due", err)
	}
	return out, nil
}
