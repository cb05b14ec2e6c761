package orders

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// AdminQuery filters the admins' list of orders and its CSV export.
type AdminQuery struct {
	// Status is one state, or "" for all.
	Status string
	// Market is the slug of a market the order bought from, or "" for
	// all.
	Market string
	// From and To bound the day (UTC) the order was placed, both
	// included; a zero time leaves that end open.
	From, To time.Time
	// Search matches the email (a part of it) or the order number.
	Search string
	// Page counts from 1; PerPage is at most 200 (50 when not set).
	Page, PerPage int
}

// AdminPage is one page of the admins' list of orders.
type AdminPage struct {
	Orders []models.Order
	// Total is how many orders match, on every page.
	Total         int
	Page, PerPage int
}

// Pages is how many pages the matching orders fill (at least 1).
func (p AdminPage) Pages() int {
	if p.PerPage <= 0 || p.Total <= p.PerPage {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

// adminWhere is the filter of AdminQuery; its arguments are $1..$6.
const adminWhere = `
WHERE ($1 = '' OR o.status = $1)
  AND ($2 = '' OR EXISTS (SELECT 1 FROM order_lines l JOIN markets m ON m.id = l.market_id
                          WHERE l.order_id = o.id AND m.slug = $2))
  AND ($3::timestamptz IS NULL OR o.created_at >= $3)
  AND ($4::timestamptz IS NULL OR o.created_at < $4)
  AND ($5 = '' OR o.email ILIKE '%' || $5 || '%' OR o.number::text = $6)`

func (q AdminQuery) args() []any {
	var from, to *time.Time
	if !q.From.IsZero() {
		d := q.From.UTC().Truncate(24 * time.Hour)
		from = &d
	}
	if !q.To.IsZero() {
		d := q.To.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour) // the whole of that day
		to = &d
	}
	search := strings.TrimSpace(q.Search)
	return []any{q.Status, q.Market, from, to, likeEscape(search), search}
}

// AdminOrders returns a page of the orders matching q, newest first
// (without their details), and how many match. Errors: EInternal.
func (s *Store) AdminOrders(ctx context.Context, q AdminQuery) (AdminPage, error) {
	if q.PerPage <= 0 || q.PerPage > 200 {
		q.PerPage = 50
	}
	if q.Page < 1 {
		q.Page = 1
	}
	page := AdminPage{Page: q.Page, PerPage: q.PerPage}
	args := q.args()
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM orders o`+adminWhere, args...).Scan(&page.Total); err != nil {
		return AdminPage{}, internal("count admin orders", err)
	}
	rows, err := s.db.Query(ctx, orderColumns+adminWhere+`
ORDER BY o.created_at DESC, o.number DESC LIMIT $7 OFFSET $8`, append(args, q.PerPage, (q.Page-1)*q.PerPage)...)
	if err != nil {
		return AdminPage{}, internal("admin orders", err)
	}
	page.Orders, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Order, error) { return scanOrder(r) })
	if err != nil {
		return AdminPage{}, internal("admin orders", err)
	}
	return page, nil
}

// EachOrder calls each with every order matching q (its page ignored),
// newest first, without their details, reading them as it goes (for an
// export of any size). It stops at each's first error and returns it.
// Errors: each's, EInternal.
func (s *Store) EachOrder(ctx context.Context, q AdminQuery, each func(models.Order) error) error {
	rows, err := s.db.Query(ctx, orderColumns+adminWhere+` ORDER BY o.created_at DESC, o.number DESC`, q.args()...)
	if err != nil {
		return internal("export orders", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return internal("export orders", err)
		}
		if err := each(o); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return internal("export orders", err)
	}
	return nil
}

// OrderMarket is a market orders bought from, for the admins' filter.
type OrderMarket struct {
	Slug, Name string
}

// OrderMarkets returns the markets that some order bought from, by name.
// Errors: EInternal.
func (s *Store) OrderMarkets(ctx context.Context) ([]OrderMarket, error) {
	rows, err := s.db.Query(ctx, `
SELECT m.slug, m.name FROM markets m
WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.market_id = m.id)
ORDER BY m.name, m.slug`)
	if err != nil {
		return nil, internal("order markets", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[OrderMarket])
	if err != nil {
		return nil, internal("order markets", err)
	}
	return out, nil
}

// PaidAttempt returns the attempt whose payment an admin refunds: the
// first of the order's attempts paid with a SumUp transaction. ok is
// false when none was.
func PaidAttempt(o models.Order) (at models.PaymentAttempt, ok bool) {
	for _, a := range o.Attempts {
		if a.Status == models.AttemptPaid && a.TransactionID != "" && (!ok || a.UpdatedAt.Before(at.UpdatedAt)) {
			at, ok = a, true
		}
	}
	return at, ok
}

// Refund gives back amount (minor units) of the order's payment as an
// admin asks, and records it: in one transaction with the order's row
// locked (so two refunds at once cannot give back more than was paid),
// it checks the amount against what is left, calls give with the paid
// attempt (the caller asks SumUp for the refund there), then records the
// refund and moves the order to refunded or partially refunded (an order
// cancelled or expired before its payment came stays so), logging who
// and why. When give fails nothing is recorded and its error is returned.
// Errors: ENotFound, EConflict (no payment to refund, or nothing left),
// EInvalid (not positive, or more than is left), give's, EInternal.
func (s *Store) Refund(ctx context.Context, orderID uuid.UUID, amount int64, by Actor, reason string,
	give func(ctx context.Context, o models.Order, at models.PaymentAttempt) error) (models.Order, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) > 500 {
		return models.Order{}, models.Errorf(models.EInvalid, "Keep the reason under 500 characters.")
	}
	var o models.Order
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if o, err = lockOrder(ctx, tx, orderID); err != nil {
			return err
		}
		at, err := scanAttempt(tx.QueryRow(ctx, attemptColumns+`
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
		left := o.Total - o.Refunded - pending
		if left <= 0 {
			return models.Errorf(models.EConflict, "%s is refunded in full already.", o.Name())
		}
		if amount <= 0 || amount > left {
			return models.Errorf(models.EInvalid, "Refund between %s and %s: %s is left to refund.", o.Money(1), o.Money(left), o.Money(left))
		}
		if err := give(ctx, o, at); err != nil {
			return err
		}
		return s.applyRefund(ctx, tx, &o, at.ID, amount, by, reason)
	})
	if err != nil {
		return models.Order{}, domainError(fmt.Sprintf("refund %s", orderID), err)
	}
	return o, nil
}

// DeleteOrdersOf deletes every order of the given users, with their lines,
// payments, history and refunds, and returns how many: for the benchmark's
// shoppers, between its runs. Stock an unpaid order held is not given
// back (the caller resets it). Errors: EInternal.
func (s *Store) DeleteOrdersOf(ctx context.Context, userIDs []uuid.UUID) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM orders WHERE user_id = ANY($1)`, userIDs)
	if err != nil {
		return 0, internal("delete orders", err)
	}
	return tag.RowsAffected(), nil
}
