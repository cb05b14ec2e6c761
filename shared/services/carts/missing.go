package carts

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

const addCartIfMissing = `
INSERT INTO carts (user_id) SELECT id FROM users WHERE lower(email) = lower($1)
ON CONFLICT (user_id) WHERE user_id IS NOT NULL DO NOTHING`

// A line already there keeps its quantity.
const addLineIfMissing = `
INSERT INTO cart_items (cart_id, product_ref, title, unit_price_minor, currency, quantity)
SELECT c.id, $2, $3, $4, $5, $6
FROM carts c JOIN users u ON u.id = c.user_id
WHERE lower(u.email) = lower($1)
ON CONFLICT (cart_id, product_ref) DO NOTHING`

// AddMissingLines gives the user with that email (in any case) a cart, in
// tx, and puts into it the items whose product it does not hold yet; a
// product already there keeps its line. No such user: nothing happens.
// The demo seed calls it, so seeding again adds nothing. Errors: an item
// models.ValidateCartItem refuses (EInvalid), the database's.
func AddMissingLines(ctx context.Context, tx pgx.Tx, email string, items []models.CartItemInput) error {
	if _, err := tx.Exec(ctx, addCartIfMissing, email); err != nil {
		return fmt.Errorf("add cart of %s: %w", email, err)
	}
	for _, it := range items {
		if err := models.ValidateCartItem(it); err != nil {
			return fmt.Errorf("cart item %s: %w", it.ProductRef, err)
		}
		if _, err := tx.Exec(ctx, addLineIfMissing, email, it.ProductRef, it.Title,
			it.UnitPrice.Minor, it.UnitPrice.Currency, it.Quantity); err != nil {
			return fmt.Errorf("add cart item %s: %w", it.ProductRef, err)
		}
	}
	return nil
}
