package identity

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/postgres"
)

// SignOutEverywhere ends every single-sign-on session of userID and every
// grant issued under them: each service forgets the user within its
// grant-check cache time (auth.grant_check_cache), and federation asks
// for a new sign-in. It returns how many sessions were live. Signing out
// a user with no live session is not an error. Errors: EInternal.
func (s *Store) SignOutEverywhere(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		n, err = signOutEverywhere(ctx, tx, userID)
		return err
	})
	if err != nil {
		return 0, internal("sign out everywhere", err)
	}
	return n, nil
}

// signOutEverywhere is SignOutEverywhere in the caller's transaction (an
// email change and an account deletion sign the user out with their own
// change).
func signOutEverywhere(ctx context.Context, tx pgx.Tx, userID uuid.UUID) (int, error) {
	tag, err := tx.Exec(ctx, `UPDATE sso_sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`, userID)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE sso_sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE oauth_grants SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
