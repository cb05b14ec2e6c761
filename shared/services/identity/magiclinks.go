package identity

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// ErrLinkInvalid is what a used, expired, replaced or unknown sign-in link
// gives; users cannot tell these apart, and need not.
var ErrLinkInvalid = models.Errorf(models.EInvalid,
	"This sign-in link has expired or has already been used. Ask for a new one below.")

// IssueMagicLink creates a single-use sign-in link token for email, valid for
// ttl, that remembers next (where to go once signed in). Any older unused
// link for the same address stops working. It returns the token to put in
// the link. Errors: EInvalid (malformed email), EInternal.
func (s *Store) IssueMagicLink(ctx context.Context, email, next string, ttl time.Duration) (string, error) {
	email, err := models.NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	token, hash := newSecret()
	err = postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE magic_links SET revoked_at = now()
			WHERE lower(email) = lower($1) AND used_at IS NULL AND revoked_at IS NULL`, email); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO magic_links (token_hash, email, next, expires_at)
			VALUES ($1, $2, $3, now() + $4::interval)`, hash, email, next, ttl.String())
		return err
	})
	if err != nil {
		return "", internal("issue magic link", err)
	}
	return token, nil
}

// ConsumeMagicLink uses up a sign-in link token, once: it returns the user
// (created on first sign-in with that address) and the next location stored
// with the link. Errors: ErrLinkInvalid, EInternal.
func (s *Store) ConsumeMagicLink(ctx context.Context, token string) (models.User, string, error) {
	var (
		user models.User
		next string
	)
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var email string
		// The conditional update is what makes a link single-use, even when
		// it is clicked twice at once.
		err := tx.QueryRow(ctx, `
			UPDATE magic_links SET used_at = now()
			WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
			RETURNING email, next`, hashSecret(token)).Scan(&email, &next)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrLinkInvalid
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO users (email) VALUES ($1) ON CONFLICT ((lower(email))) DO NOTHING`, email); err != nil {
			return err
		}
		user, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE lower(u.email) = lower($1)`, email))
		return err
	})
	if errors.Is(err, ErrLinkInvalid) {
		return user, "", ErrLinkInvalid
	}
	if err != nil {
		return user, "", internal("consume magic link", err)
	}
	return user, next, nil
}
