// Package carts is the PostgreSQL implementation of the shopping carts
// (contracts.Carts): signed-in users' and guest browsers'. It owns the
// tables carts and cart_items: no other package writes them.
package carts

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	return collectLines(rows, "cart lines")
}

// ownerCart selects the id of an owner's cart ($1 a user's id, $2 a
// guest's key hash: one of them is NULL), each half by its unique index.
const ownerCart = `SELECT id FROM carts WHERE user_id = $1 UNION ALL SELECT id FROM carts WHERE session_key = $2`

// ownerArgs are the $1 and $2 of ownerCart for o: both NULL for the zero
// owner, who has no cart.
func ownerArgs(o models.CartOwner) (user, guest any) {
	switch {
	case o.UserID != uuid.Nil:
		return o.UserID, nil
	case o.GuestKey != "":
		return nil, o.GuestKey
	}
	return nil, nil
}

const basketLines = `
SELECT ci.product_ref, ci.title, ci.unit_price_minor, ci.currency::text, ci.quantity
FROM cart_items ci
WHERE ci.cart_id IN (` + ownerCart + `)
ORDER BY ci.added_at, ci.id`

// BasketLines returns the lines of the owner's cart (a user's or a
// guest's), oldest first; none when there is no cart. Errors: EInternal.
func (s *Store) BasketLines(ctx context.Context, owner models.CartOwner) ([]models.CartLine, error) {
	user, guest := ownerArgs(owner)
	rows, err := s.db.Query(ctx, basketLines, user, guest)
	if err != nil {
		return nil, internal("basket lines", err)
	}
	return collectLines(rows, "basket lines")
}

func collectLines(rows pgx.Rows, what string) ([]models.CartLine, error) {
	lines, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (models.CartLine, error) {
		var l models.CartLine
		err := row.Scan(&l.ProductRef, &l.Title, &l.UnitPrice.Minor, &l.UnitPrice.Currency, &l.Quantity)
		return l, err
	})
	if err != nil {
		return nil, internal(what, err)
	}
	return lines, nil
}

// ON CONFLICT ... DO UPDATE (rather than DO NOTHING) so that RETURNING gives
// the id of a cart that already exists, and concurrent first adds agree.
const upsertUserCart = `
INSERT INTO carts (user_id) VALUES ($1)
ON CONFLICT (user_id) WHERE user_id IS NOT NULL DO UPDATE SET updated_at = now()
RETURNING id`

// A guest's cart is kept while it is used: updated_at says when last.
const upsertGuestCart = `
INSERT INTO carts (session_key) VALUES ($1)
ON CONFLICT (session_key) WHERE session_key IS NOT NULL DO UPDATE SET updated_at = now()
RETURNING id`

// cartFor returns the id of the owner's cart, creating it, in tx; the
// cart's row stays locked until tx ends.
func cartFor(ctx context.Context, tx pgx.Tx, owner models.CartOwner) (uuid.UUID, error) {
	var id uuid.UUID
	var err error
	switch {
	case owner.UserID != uuid.Nil:
		err = tx.QueryRow(ctx, upsertUserCart, owner.UserID).Scan(&id)
	case owner.GuestKey != "":
		err = tx.QueryRow(ctx, upsertGuestCart, owner.GuestKey).Scan(&id)
	default:
		err = errNoOwner
	}
	return id, err
}

var errNoOwner = models.Errorf(models.EInvalid, "A cart belongs to a signed-in user or a guest browser.")

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
	"You can have at most %d of one item in your basket.", models.MaxCartQuantity)

// AddItem puts item into the owner's cart (a user's or a guest's),
// creating the cart on first use and adding to the quantity of a product
// already in it, in one transaction. Errors: EInvalid (bad input, the
// zero owner, or more than models.MaxCartQuantity of one product; nothing
// is written), ENotFound (no such user), EInternal.
func (s *Store) AddItem(ctx context.Context, owner models.CartOwner, item models.CartItemInput) error {
	if err := models.ValidateCartItem(item); err != nil {
		return err
	}
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		cartID, err := cartFor(ctx, tx, owner)
		if err != nil {
			return err
		}
		var quantity int
		err = tx.QueryRow(ctx, upsertCartItem, cartID, item.ProductRef, item.Title,
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
	case errors.Is(err, errTooMany), errors.Is(err, errNoOwner):
		return err
	case errors.As(err, &pgErr) && pgErr.Code == "23503" && pgErr.ConstraintName == "carts_user_id_fkey":
		return models.Errorf(models.ENotFound, "No such user.")
	}
	return internal("add item", err)
}

const setQuantity = `
UPDATE cart_items SET quantity = $4
WHERE cart_id IN (` + ownerCart + `) AND product_ref = $3`

const removeItem = `
DELETE FROM cart_items
WHERE cart_id IN (` + ownerCart + `) AND product_ref = $3`

// SetQuantity sets how many of the product (by its reference) the owner's
// cart holds; 0 removes the line. It does not check the stock: the caller
// does. Errors: EInvalid (a quantity below 0 or above
// models.MaxCartQuantity; nothing is written), ENotFound (the cart holds
// no such line), EInternal.
func (s *Store) SetQuantity(ctx context.Context, owner models.CartOwner, productRef string, quantity int) error {
	if quantity < 0 || quantity > models.MaxCartQuantity {
		return models.Errorf(models.EInvalid, "The quantity must be a whole number from 0 to %d.", models.MaxCartQuantity)
	}
	user, guest := ownerArgs(owner)
	sql, args := setQuantity, []any{user, guest, productRef, quantity}
	if quantity == 0 {
		sql, args = removeItem, args[:3]
	}
	tag, err := s.db.Exec(ctx, sql, args...)
	if err != nil {
		return internal("set quantity", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "That item is not in your basket.")
	}
	return nil
}

// RemoveItem takes the product (by its reference) out of the owner's
// cart; a line that is not there is not an error (a second click of
// Remove). Errors: EInternal.
func (s *Store) RemoveItem(ctx context.Context, owner models.CartOwner, productRef string) error {
	user, guest := ownerArgs(owner)
	if _, err := s.db.Exec(ctx, removeItem, user, guest, productRef); err != nil {
		return internal("remove item", err)
	}
	return nil
}

// One statement: the lines to drop, and the others' title, price and cap.
// least() keeps a quantity lowered meanwhile (another tab) as it is.
const refreshLines = `
WITH u AS (
    SELECT * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[]) AS u(ref, title, price, currency, cap)
), dropped AS (
    DELETE FROM cart_items ci USING u
    WHERE ci.cart_id IN (` + ownerCart + `) AND ci.product_ref = u.ref AND u.cap <= 0
)
UPDATE cart_items ci SET quantity = least(ci.quantity, u.cap), title = u.title,
    unit_price_minor = u.price, currency = u.currency
FROM u
WHERE ci.cart_id IN (` + ownerCart + `) AND ci.product_ref = u.ref AND u.cap > 0`

// RefreshLines brings lines of the owner's cart up to date with the
// catalogue, in one statement: each named line takes its update's title
// and price, and holds at most its MaxQuantity (0 or less removes it).
// Lines not named, or not in the cart, are left alone. Errors: EInvalid
// (an update models.ValidateCartItem refuses; nothing is written),
// EInternal.
func (s *Store) RefreshLines(ctx context.Context, owner models.CartOwner, updates []models.CartLineUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	n := len(updates)
	refs, titles, currencies := make([]string, n), make([]string, n), make([]string, n)
	prices, caps := make([]int64, n), make([]int32, n)
	for i, u := range updates {
		capped := min(u.MaxQuantity, models.MaxCartQuantity)
		if capped > 0 {
			err := models.ValidateCartItem(models.CartItemInput{ProductRef: u.ProductRef, Title: u.Title,
				UnitPrice: u.UnitPrice, Quantity: capped})
			if err != nil {
				return err
			}
		}
		refs[i], titles[i], prices[i], currencies[i], caps[i] = u.ProductRef, u.Title, u.UnitPrice.Minor, u.UnitPrice.Currency, int32(max(capped, 0))
	}
	user, guest := ownerArgs(owner)
	if _, err := s.db.Exec(ctx, refreshLines, user, guest, refs, titles, prices, currencies, caps); err != nil {
		return internal("refresh lines", err)
	}
	return nil
}

// Locked so that a second merge of the same guest cart (another tab)
// waits, then finds it gone.
const lockGuestCart = `SELECT id FROM carts WHERE session_key = $1 FOR UPDATE`

const mergeSources = `
SELECT g.product_ref, g.title, g.unit_price_minor, g.currency::text, g.quantity, coalesce(u.quantity, 0)
FROM cart_items g
LEFT JOIN cart_items u ON u.cart_id = $2 AND u.product_ref = g.product_ref
WHERE g.cart_id = $1
ORDER BY g.added_at, g.id
FOR UPDATE OF g`

// A line the user's cart has keeps its title and price (the basket page
// refreshes both); a new one comes with the guest's.
const mergeLine = `
INSERT INTO cart_items (cart_id, product_ref, title, unit_price_minor, currency, quantity)
VALUES ($1, $2, $3, $4, $5, least($6::int, $7::int))
ON CONFLICT (cart_id, product_ref) DO UPDATE SET quantity = least(cart_items.quantity + $6::int, $7::int)
RETURNING quantity`

const deleteCart = `DELETE FROM carts WHERE id = $1`

// MergeGuestCart moves the guest's cart into the user's at sign-in, in
// one transaction: each product's quantities are summed, capped by
// limits (the most each product may hold now, by reference: the stock
// left; a product not in limits may hold models.MaxCartQuantity; a limit
// of 0 drops the line, sold out or gone), and the guest's cart is deleted.
// It returns what happened to each of the guest's products. A guest cart
// that is not there (merged already, by another tab at the same moment)
// merges nothing and returns none. Errors: EInvalid (guest is not a
// guest's cart), ENotFound (no such user), EInternal.
func (s *Store) MergeGuestCart(ctx context.Context, guest models.CartOwner, userID uuid.UUID, limits map[string]int) ([]models.MergedLine, error) {
	if !guest.IsGuest() || userID == uuid.Nil {
		return nil, models.Errorf(models.EInvalid, "Only a guest's basket is merged into a user's.")
	}
	var merged []models.MergedLine
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		merged = nil
		var guestID uuid.UUID
		err := tx.QueryRow(ctx, lockGuestCart, guest.GuestKey).Scan(&guestID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		userCart, err := cartFor(ctx, tx, models.UserCart(userID))
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, mergeSources, guestID, userCart)
		if err != nil {
			return err
		}
		type source struct {
			line models.CartLine
			had  int
		}
		sources, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (source, error) {
			var s source
			l := &s.line
			err := row.Scan(&l.ProductRef, &l.Title, &l.UnitPrice.Minor, &l.UnitPrice.Currency, &l.Quantity, &s.had)
			return s, err
		})
		if err != nil {
			return err
		}
		for _, src := range sources {
			limit, ok := limits[src.line.ProductRef]
			if !ok || limit > models.MaxCartQuantity {
				limit = models.MaxCartQuantity
			}
			m := models.MergedLine{ProductRef: src.line.ProductRef, Title: src.line.Title,
				Had: src.had, Added: src.line.Quantity}
			if limit <= 0 {
				_, err = tx.Exec(ctx, `DELETE FROM cart_items WHERE cart_id = $1 AND product_ref = $2`,
					userCart, src.line.ProductRef)
			} else {
				// Added to what the line holds now, not to what was read:
				// a quantity changed meanwhile in another tab counts.
				err = tx.QueryRow(ctx, mergeLine, userCart, src.line.ProductRef, src.line.Title,
					src.line.UnitPrice.Minor, src.line.UnitPrice.Currency, src.line.Quantity, limit).Scan(&m.Now)
			}
			if err != nil {
				return err
			}
			merged = append(merged, m)
		}
		_, err = tx.Exec(ctx, deleteCart, guestID)
		return err
	})
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return merged, nil
	case errors.As(err, &pgErr) && pgErr.Code == "23503" && pgErr.ConstraintName == "carts_user_id_fkey":
		return nil, models.Errorf(models.ENotFound, "No such user.")
	}
	return nil, internal("merge guest cart", err)
}

// Locks the cart's row: edits of the basket (which lock it too, through
// AddItem's upsert) wait for the caller's transaction.
const lockedUserLines = `
WITH c AS (SELECT id FROM carts WHERE user_id = $1 FOR UPDATE)
SELECT ci.product_ref, ci.title, ci.unit_price_minor, ci.currency::text, ci.quantity
FROM cart_items ci JOIN c ON ci.cart_id = c.id
ORDER BY ci.added_at, ci.id`

// LinesTx returns the lines of the user's cart, oldest first, in tx (a
// checkout's transaction), locking the cart's row until tx ends so that
// an add to the basket from another tab waits for it. ProductRef is the
// variant's id (as text); the prices are those of the last add or basket
// view, not necessarily the catalogue's now. Errors: EInternal.
func (s *Store) LinesTx(ctx context.Context, tx pgx.Tx, userID uuid.UUID) ([]models.CartLine, error) {
	rows, err := tx.Query(ctx, lockedUserLines, userID)
	if err != nil {
		return nil, internal("locked cart lines", err)
	}
	return collectLines(rows, "locked cart lines")
}

const clearUserCart = `DELETE FROM cart_items WHERE cart_id IN (SELECT id FROM carts WHERE user_id = $1)`

// Clear empties the user's cart in tx (the transaction that records a
// paid order), so the basket is emptied only if the order is; a user with
// no cart is not an error. The caller invalidates the user's cart-mini
// fragment after tx commits. Errors: EInternal.
func (s *Store) Clear(ctx context.Context, tx pgx.Tx, userID uuid.UUID) error {
	if _, err := tx.Exec(ctx, clearUserCart, userID); err != nil {
		return internal("clear cart", err)
	}
	return nil
}

const emptyCart = `DELETE FROM cart_items WHERE cart_id IN (` + ownerCart + `)`

// Empty takes every line out of the owner's cart (a user's or a guest's)
// in one statement: a guest's basket once it has become an order. No
// cart is not an error. Errors: EInternal.
func (s *Store) Empty(ctx context.Context, owner models.CartOwner) error {
	user, guest := ownerArgs(owner)
	if _, err := s.db.Exec(ctx, emptyCart, user, guest); err != nil {
		return internal("empty cart", err)
	}
	return nil
}

const deleteIdleGuestCarts = `DELETE FROM carts WHERE session_key IS NOT NULL AND updated_at < $1`

// DeleteIdleGuestCarts deletes the guests' carts not added to since
// before, and returns how many; users' carts are kept. A periodic job
// calls it, as a guest's cookie outlives its cart otherwise. Errors:
// EInternal.
func (s *Store) DeleteIdleGuestCarts(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, deleteIdleGuestCarts, before)
	if err != nil {
		return 0, internal("delete idle guest carts", err)
	}
	return tag.RowsAffected(), nil
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("carts: %s: %w", what, err))
}
