package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// EmailChangeTTL is how long the link confirming a new address works.
const EmailChangeTTL = time.Hour

// EmailChangesPerHour is how many changes a member may ask for in an hour:
// each one mails an address they chose.
const EmailChangesPerHour = 5

// ErrEmailChangeInvalid is what a used, expired, replaced or unknown
// confirmation link gives; users cannot tell these apart, and need not.
var ErrEmailChangeInvalid = models.Errorf(models.EInvalid,
	"This confirmation link has expired or has already been used. Ask for a new one from your profile.")

// EmailChange is a member's pending change of address.
type EmailChange struct {
	UserID   uuid.UUID
	OldEmail string
	NewEmail string
	// ExpiresAt is when the link stops working.
	ExpiresAt time.Time
}

// EmailChangeRequest is what IssueEmailChange returns: the change and the
// token to put in the link mailed to the new address.
type EmailChangeRequest struct {
	EmailChange
	Token string
}

// IssueEmailChange records a member's request to change their address to
// newEmail, valid for EmailChangeTTL, and returns the token of the link to
// mail there; any older unused request of theirs stops working. Whether
// the new address belongs to another account is not said here (that would
// let anyone signed in probe for addresses): confirming says it, to the
// address's owner. Errors: EInvalid (malformed address, or the member's
// current one), EConflict (too many requests this hour), ENotFound,
// EInternal.
func (s *Store) IssueEmailChange(ctx context.Context, userID uuid.UUID, newEmail string) (EmailChangeRequest, error) {
	newEmail, err := models.NormalizeEmail(newEmail)
	if err != nil {
		return EmailChangeRequest{}, err
	}
	token, hash := newSecret()
	out := EmailChangeRequest{Token: token, EmailChange: EmailChange{UserID: userID, NewEmail: newEmail}}
	err = postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT email FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&out.OldEmail)
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "No such user.")
		}
		if err != nil {
			return internal("issue email change", err)
		}
		if strings.EqualFold(out.OldEmail, newEmail) {
			return models.Errorf(models.EInvalid, "%s is already your email address.", newEmail)
		}
		var recent int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM email_changes WHERE user_id = $1 AND created_at > now() - interval '1 hour'`,
			userID).Scan(&recent); err != nil {
			return internal("issue email change", err)
		}
		if recent >= EmailChangesPerHour {
			return models.Errorf(models.EConflict, "You have asked to change your address %d times in the last hour. Please wait a while and try again.", recent)
		}
		if _, err := tx.Exec(ctx, `UPDATE email_changes SET revoked_at = now() WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL`,
			userID); err != nil {
			return internal("issue email change", err)
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO email_changes (token_hash, user_id, old_email, new_email, expires_at)
			VALUES ($1, $2, $3, $4, now() + $5::interval) RETURNING expires_at`,
			hash, userID, out.OldEmail, newEmail, EmailChangeTTL.String()).Scan(&out.ExpiresAt)
		if err != nil {
			return internal("issue email change", err)
		}
		return nil
	})
	if err != nil {
		return EmailChangeRequest{}, err
	}
	return out, nil
}

const pendingEmailChangeQuery = `
SELECT user_id, old_email, new_email, expires_at FROM email_changes
WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()`

// PendingEmailChange returns the change a confirmation token stands for,
// without using it up: the page a link opens asks before it changes
// anything (mail scanners open links). Errors: ErrEmailChangeInvalid,
// EInternal.
func (s *Store) PendingEmailChange(ctx context.Context, token string) (EmailChange, error) {
	var c EmailChange
	err := s.db.QueryRow(ctx, pendingEmailChangeQuery, hashSecret(token)).Scan(&c.UserID, &c.OldEmail, &c.NewEmail, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrEmailChangeInvalid
	}
	if err != nil {
		return c, internal("pending email change", err)
	}
	return c, nil
}

// ConfirmEmailChange uses up a confirmation token (once) and, in one
// transaction, gives its member the new address and signs them out
// everywhere (whoever asked for the change may not be who holds the
// sessions). It returns the change: the caller moves what else follows the
// address (newsletter subscriptions) once it is committed. A member's
// address that changed since the request makes the link void. Errors:
// ErrEmailChangeInvalid, EConflict (the address now belongs to another
// account; the link stays unused), EInternal.
func (s *Store) ConfirmEmailChange(ctx context.Context, token string) (EmailChange, error) {
	var c EmailChange
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// The conditional update is what makes a link single-use, even when
		// it is confirmed twice at once.
		err := tx.QueryRow(ctx, `
			UPDATE email_changes SET used_at = now()
			WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
			RETURNING user_id, old_email, new_email, expires_at`, hashSecret(token)).
			Scan(&c.UserID, &c.OldEmail, &c.NewEmail, &c.ExpiresAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrEmailChangeInvalid
		}
		if err != nil {
			return internal("confirm email change", err)
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1) AND id <> $2)`,
			c.NewEmail, c.UserID).Scan(&taken); err != nil {
			return internal("confirm email change", err)
		}
		if taken {
			return errEmailTaken(c.NewEmail)
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET email = $3, updated_at = now() WHERE id = $1 AND email = $2`,
			c.UserID, c.OldEmail, c.NewEmail)
		switch {
		case isUniqueViolation(err):
			return errEmailTaken(c.NewEmail)
		case err != nil:
			return internal("confirm email change", err)
		case tag.RowsAffected() == 0:
			return ErrEmailChangeInvalid
		}
		// A sign-in link still on its way to the old address must not
		// sign anyone in as this member any more.
		if _, err := tx.Exec(ctx, `UPDATE magic_links SET revoked_at = now() WHERE lower(email) = lower($1) AND used_at IS NULL AND revoked_at IS NULL`,
			c.OldEmail); err != nil {
			return internal("confirm email change", err)
		}
		if _, err := signOutEverywhere(ctx, tx, c.UserID); err != nil {
			return internal("confirm email change", err)
		}
		return nil
	})
	if err != nil {
		return EmailChange{}, err
	}
	return c, nil
}

func errEmailTaken(email string) error {
	return models.Errorf(models.EConflict, "%s already belongs to another Rose Ash account, so it cannot become yours. Sign in with it to use that account, or ask for a change to another address.", email)
}

// PendingEmailChangeOf returns the member's change of address that waits
// for confirmation, if any (false when none). Errors: EInternal.
func (s *Store) PendingEmailChangeOf(ctx context.Context, userID uuid.UUID) (EmailChange, bool, error) {
	var c EmailChange
	err := s.db.QueryRow(ctx, `
		SELECT user_id, old_email, new_email, expires_at FROM email_changes
		WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
		ORDER BY created_at DESC LIMIT 1`, userID).Scan(&c.UserID, &c.OldEmail, &c.NewEmail, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, internal("pending email change of user", err)
	}
	return c, true, nil
}

// CancelEmailChange voids the member's unconfirmed change of address (the
// old address's notice tells its owner how), reporting whether there was
// one. Errors: EInternal.
func (s *Store) CancelEmailChange(ctx context.Context, userID uuid.UUID) (bool, error) {
	tag, err := s.db.Exec(ctx, `UPDATE email_changes SET revoked_at = now() WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL`, userID)
	if err != nil {
		return false, internal("cancel email change", err)
	}
	return tag.RowsAffected() > 0, nil
}
