package carts

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ForgetUser deletes, in tx, the basket of a user whose account is being
// deleted (its items go with it). Errors: the database's.
func ForgetUser(ctx context.Context, tx pgx.Tx, userID uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM carts WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("carts: forget a deleted user's basket: %w", err)
	}
	return nil
}
