package carts

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

const removeLines = `
DELETE FROM cart_items ci USING carts c, users u
WHERE ci.cart_id = c.id AND c.user_id = u.id AND lower(u.email) = lower($1) AND ci.product_ref = ANY($2)`

// RemoveLines removes, in tx, the lines of these products from the cart of
// the user with that email (in any case); no such user, cart or line:
// nothing happens. The demo seed calls it to drop the placeholder products
// of its older carts. Errors: the database's.
func RemoveLines(ctx context.Context, tx pgx.Tx, email string, productRefs []string) error {
	if _, err := tx.Exec(ctx, removeLines, email, productRefs); err != nil {
		return fmt.Errorf("remove cart lines of %s: %w", email, err)
	}
	return nil
}
