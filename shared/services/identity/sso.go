package identity

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// ErrSignedOut is returned for a single-sign-on session that is revoked,
// expired, unknown, or whose user is gone.
var ErrSignedOut = models.Errorf(models.EUnauthenticated, "You are signed out.")

// StartSSOSession records that userID signed in at federation in one
// browser, for ttl, and returns the session's id. Errors: EInternal.
func (s *Store) StartSSOSession(ctx context.Context, userID uuid.UUID, ttl time.Duration) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.db.QueryRow(ctx, `
		INSERT INTO sso_sessions (user_id, expires_at) VALUES ($1, now() + $2::interval) RETURNING id`,
		userID, ttl.String()).Scan(&id)
	if err != nil {
		return id, internal("start sso session", err)
	}
	return id, nil
}

// SSOSessionUser returns the user of a live single-sign-on session.
// Errors: ErrSignedOut, EInternal.
func (s *Store) SSOSessionUser(ctx context.Context, id uuid.UUID) (models.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `
		SELECT `+userColumns+` FROM sso_sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrSignedOut
	}
	if err != nil {
		return u, internal("sso session user", err)
	}
	return u, nil
}

// RevokeSSOSession signs a browser out everywhere: the session and every
// grant issued under it stop working. Revoking twice is not an error.
// Errors: EInternal.
func (s *Store) RevokeSSOSession(ctx context.Context, id uuid.UUID) error {
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error { return revokeSSOSession(ctx, tx, id) })
	if err != nil {
		return internal("revoke sso session", err)
	}
	return nil
}

func revokeSSOSession(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE sso_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE oauth_grants SET revoked_at = now() WHERE sso_session_id = $1 AND revoked_at IS NULL`, id)
	return err
}
