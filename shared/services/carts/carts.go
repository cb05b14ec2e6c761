// Package carts is the PostgreSQL implementation of the users' shopping
// carts (contracts.Carts). It owns the tables carts and cart_items: no
// other package writes them.
package carts

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// Store reads and writes carts. It implements contracts.Carts.
type Store struct {
	db *pgxpool.Pool
}

var _ contracts.Carts = (*Store)(nil)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

const cartTotals = `
SELECT ci.currency::text, sum(ci.quantity)::int, sum(ci.unit_price_minor * ci.quantity)::bigint
FROM carts c
JOIN cart_items ci ON ci.cart_id = c.id
WHERE c.user_id = $1
GROUP BY ci.currency
ORDER BY ci.currency`

type currencyTotal struct {
	Currency string
	Count    int
	Minor    int64
}

// CartSummary returns the item count and per-currency totals of the user's
// cart; the zero summary when they have none. Errors: EInternal.
func (s *Store) CartSummary(ctx context.Context, userID uuid.UUID) (models.CartSummary, error) {
	rows, err := s.db.Query(ctx, cartTotals, userID)
	if err != nil {
		return models.CartSummary{}, internal("cart summary", err)
	}
	totals, err := pgx.CollectRows(rows, pgx.RowToStructByPos[currencyTotal])
	if err != nil {
		return models.CartSummary{}, internal("cart summary", err)
	}
	var sum models.CartSummary
	for _, t := range totals {
		sum.ItemCount += t.Count
		sum.Totals = append(sum.Totals, models.Money{Minor: t.Minor, Currency: t.Currency})
	}
	return sum, nil
}

const cartLines = `
SELECT ci.product_ref, ci.title, ci.unit_price_minor, ci.currency::text, ci.quantity
FROM carts c
JOIN cart_items ci ON ci.cart_id = c.id
WHERE c.user_id = $1
ORDER BY ci.added_at, ci.id`

// CartLines returns the lines of the user's cart, oldest first; none when
// they have no cart. Errors: EInternal.
func (s *Store) CartLines(ctx context.Context, userID uuid.UUID) ([]models.CartLine, error) {
	rows, err := s.db.Query(ctx, cartLines, userID)
	if err != nil {
		return nil, internal("cart lines", err)
	}
	lines, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (models.CartLine, error) {
		var l models.CartLine
		err := row.Scan(&l.ProductRef, &l.Title, &l.UnitPrice.Minor, &l.UnitPrice.Currency, &l.Quantity)
		return l, err
	})
	if err != nil {
		return nil, internal("cart lines", err)
	}
	return lines, nil
}

// ON CONFLICT ... DO UPDATE (rather than DO NOTHING) so that RETURNING gives
// the id of a cart that already exists, and concurrent first adds agree.
const upsertUserCart = `
INSERT INTO carts (user_id) VALUES ($1)
ON CONFLICT (user_id) WHERE user_id IS NOT NULL DO UPDATE SET updated_at = now()
RETURNING id`

// The WHERE leaves a line that would pass the maximum untouched, and
// RETURNING then gives no row.
const upsertCartItem = `
INSERT INTO cart_items (cart_id, product_ref, title, unit_price_minor, currency, quantity)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (cart_id, product_ref) DO UPDATE SET
    quantity = cart_items.quantity + excluded.quantity,
    title = excluded.title,
    unit_price_minor = excluded.unit_price_minor,
    currency = excluded.currency
WHERE cart_items.quantity + excluded.quantity <= $7
RETURNING quantity`

// errTooMany is returned when a line would hold more than the maximum.
var errTooMany = models.Errorf(models.EInvalid,
	"You can have at most %d of one item in your cart.", models.MaxCartQuantity)

// AddItem puts item into the user's cart, creating the cart on first use
// and adding to the quantity of a product already in it, in one
// transaction. Errors: EInvalid (bad input, or more than
// models.MaxCartQuantity of one product; nothing is written), ENotFound (no
// such user), EInternal.
func (s *Store) AddItem(ctx context.Context, userID uuid.UUID, item models.CartItemInput) error {
	if err := models.ValidateCartItem(item); err != nil {
		return err
	}
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var cartID uuid.UUID
		if err := tx.QueryRow(ctx, upsertUserCart, userID).Scan(&cartID); err != nil {
			return err
		}
		var quantity int
		err := tx.QueryRow(ctx, upsertCartItem, cartID, item.ProductRef, item.Title,
			item.UnitPrice.Minor, item.UnitPrice.Currency, item.Quantity, models.MaxCartQuantity).Scan(&quantity)
		if errors.Is(err, pgx.ErrNoRows) {
			return errTooMany
		}
		return err
	})
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errTooMany):
		return errTooMany
	case errors.As(err, &pgErr) && pgErr.Code == "23503" && pgErr.ConstraintName == "carts_user_id_fkey":
		return models.Errorf(models.ENotFound, "No such user.")
	}
	return internal("add item", err)
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("carts: %s: %w", what, err))
}
