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

// consumeMagicLink uses up a sign-in link token, once, in tx: it returns
// the user (created on first sign-in with that address) and the next
// location stored with the link. Errors: ErrLinkInvalid, a database error.
func consumeMagicLink(ctx context.Context, tx pgx.Tx, token string) (models.User, string, error) {
	var email, next string
	// The conditional update is what makes a link single-use, even when
	// it is used twice at once.
	err := tx.QueryRow(ctx, `
		UPDATE magic_links SET used_at = now()
		WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
		RETURNING email, next`, hashSecret(token)).Scan(&email, &next)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.User{}, "", ErrLinkInvalid
	}
	if err != nil {
		return models.User{}, "", err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO users (email) VALUES ($1) ON CONFLICT ((lower(email))) DO NOTHING`, email); err != nil {
		return models.User{}, "", err
	}
	user, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE lower(u.email) = lower($1)`, email))
	return user, next, err
}

// MagicLinkEmail returns the address a sign-in link token was issued to,
// without using it up: the confirmation page names who the link signs in.
// Errors: ErrLinkInvalid, EInternal.
func (s *Store) MagicLinkEmail(ctx context.Context, token string) (string, error) {
	var email string
	err := s.db.QueryRow(ctx, `
		SELECT email FROM magic_links
		WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
		hashSecret(token)).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrLinkInvalid
	}
	if err != nil {
		return "", internal("magic link email", err)
	}
	return email, nil
}

// MagicSignIn is the outcome of SignInWithMagicLink.
type MagicSignIn struct {
	User models.User
	// Next is where the link said sign-in should continue.
	Next string
	// SSOSessionID is the browser's single-sign-on session from now on:
	// the one it had when that was already the link's user's, else a new one.
	SSOSessionID uuid.UUID
}

// SignInWithMagicLink uses up a sign-in link token (once) and makes its
// user the browser's signed-in user, in one transaction. current is the
// browser's single-sign-on session, if any (uuid.Nil for none): when it is a
// live session of the same user it is kept; otherwise it is revoked with
// every grant issued under it (so every service forgets whoever was signed
// in before), and a new session of ttl is started. Errors: ErrLinkInvalid
// (nothing changes), EInternal.
func (s *Store) SignInWithMagicLink(ctx context.Context, token string, current uuid.UUID, ttl time.Duration) (MagicSignIn, error) {
	var out MagicSignIn
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		out.User, out.Next, err = consumeMagicLink(ctx, tx, token)
		if err != nil {
			return err
		}
		if current != uuid.Nil {
			var same bool
			err := tx.QueryRow(ctx, `
				SELECT user_id = $2 AND revoked_at IS NULL AND expires_at > now() FROM sso_sessions WHERE id = $1`,
				current, out.User.ID).Scan(&same)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if same {
				out.SSOSessionID = current
				return nil
			}
			if err := revokeSSOSession(ctx, tx, current); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `
			INSERT INTO sso_sessions (user_id, expires_at) VALUES ($1, now() + $2::interval) RETURNING id`,
			out.User.ID, ttl.String()).Scan(&out.SSOSessionID)
	})
	if errors.Is(err, ErrLinkInvalid) {
		return MagicSignIn{}, ErrLinkInvalid
	}
	if err != nil {
		return MagicSignIn{}, internal("sign in with magic link", err)
	}
	return out, nil
}
