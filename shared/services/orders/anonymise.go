package orders

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErasedEmail is the email an anonymised order keeps (the column is
// required; this is no address).
const ErasedEmail = "erased"

// AnonymiseUserOrders detaches, in tx, the orders of a user whose account
// is being deleted and clears their personal data: the email becomes
// ErasedEmail, the delivery name and address are emptied (a delivery
// order's address lines become "erased", as the schema requires an
// address for one), and user_id is set NULL. Numbers, lines, totals,
// payments and refunds are kept for the accounts. It returns how many
// orders were anonymised. Errors: the database's.
func AnonymiseUserOrders(ctx context.Context, tx pgx.Tx, userID uuid.UUID) (int, error) {
	tag, err := tx.Exec(ctx, `
		UPDATE orders SET user_id = NULL, email = $2, address_name = '',
		       address_line1 = CASE WHEN fulfilment = 'delivery' THEN $2 ELSE '' END,
		       address_line2 = '',
		       address_city = CASE WHEN fulfilment = 'delivery' THEN $2 ELSE '' END,
		       address_postcode = CASE WHEN fulfilment = 'delivery' THEN $2 ELSE '' END,
		       updated_at = now()
		WHERE user_id = $1`, userID, ErasedEmail)
	if err != nil {
		return 0, fmt.Errorf("orders: anonymise the orders of a deleted user: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
