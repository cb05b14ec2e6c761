package identity

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// SeenEvery is how often a single-sign-on session's last_seen_at is bumped
// at most: often enough for "last seen" in words, rarely enough that
// every SSO and refresh does not write.
const SeenEvery = time.Minute

// maxUserAgent is how much of a browser's User-Agent a session keeps.
const maxUserAgent = 500

// SSOSession is one live sign-in of a user at federation (a browser),
// as the account dashboard lists it.
type SSOSession struct {
	ID        uuid.UUID
	UserAgent string
	CreatedAt time.Time
	// LastSeenAt is when it was last used to sign in to a service or to
	// refresh a service's grant; zero when not since sign-in.
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

const liveSessions = `
SELECT id, user_agent, created_at, coalesce(last_seen_at, created_at), expires_at
FROM sso_sessions
WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
ORDER BY coalesce(last_seen_at, created_at) DESC, created_at DESC
LIMIT 100`

// SSOSessions returns the user's live single-sign-on sessions, the most
// recently used first (at most 100). Errors: EInternal.
func (s *Store) SSOSessions(ctx context.Context, userID uuid.UUID) ([]SSOSession, error) {
	rows, err := s.db.Query(ctx, liveSessions, userID)
	if err != nil {
		return nil, internal("sso sessions", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SSOSession, error) {
		var x SSOSession
		err := r.Scan(&x.ID, &x.UserAgent, &x.CreatedAt, &x.LastSeenAt, &x.ExpiresAt)
		return x, err
	})
	if err != nil {
		return nil, internal("sso sessions", err)
	}
	return list, nil
}

// RevokeUserSSOSession revokes the live single-sign-on session id of
// userID (and every grant under it), as RevokeSSOSession does, after
// checking it is theirs. Errors: ENotFound (no live session id of that
// user: another's, unknown, or over already), EInternal.
func (s *Store) RevokeUserSSOSession(ctx context.Context, userID, id uuid.UUID) error {
	var notFound bool
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var owner uuid.UUID
		err := tx.QueryRow(ctx, `
			SELECT user_id FROM sso_sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now() FOR UPDATE`, id).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && owner != userID) {
			notFound = true
			return nil
		}
		if err != nil {
			return err
		}
		return revokeSSOSession(ctx, tx, id)
	})
	if err != nil {
		return internal("revoke user sso session", err)
	}
	if notFound {
		return models.Errorf(models.ENotFound, "That sign-in is not one of yours, or has ended already.")
	}
	return nil
}

// RecordSSOUserAgent records the browser's User-Agent (cut to 500
// characters) for the single-sign-on session id, once at sign-in.
// Errors: EInternal.
func (s *Store) RecordSSOUserAgent(ctx context.Context, id uuid.UUID, userAgent string) error {
	_, err := s.db.Exec(ctx, `UPDATE sso_sessions SET user_agent = $2, last_seen_at = now() WHERE id = $1`, id, cutUserAgent(userAgent))
	if err != nil {
		return internal("record sso user agent", err)
	}
	return nil
}

// TouchSSOSession records that the single-sign-on session id was used now,
// unless that was recorded less than SeenEvery ago. Errors: EInternal.
func (s *Store) TouchSSOSession(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.Exec(ctx, `
		UPDATE sso_sessions SET last_seen_at = now()
		WHERE id = $1 AND revoked_at IS NULL AND (last_seen_at IS NULL OR last_seen_at < now() - $2::interval)`,
		id, SeenEvery.String())
	if err != nil {
		return internal("touch sso session", err)
	}
	return nil
}

// TouchSSOSessionOfToken is TouchSSOSession for the session behind an
// access token (a service's grant that was just refreshed). An unknown
// token touches nothing. Errors: EInternal.
func (s *Store) TouchSSOSessionOfToken(ctx context.Context, accessToken string) error {
	_, err := s.db.Exec(ctx, `
		UPDATE sso_sessions s SET last_seen_at = now()
		FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
		WHERE t.token_hash = $1 AND s.id = g.sso_session_id AND s.revoked_at IS NULL
		  AND (s.last_seen_at IS NULL OR s.last_seen_at < now() - $2::interval)`,
		hashSecret(accessToken), SeenEvery.String())
	if err != nil {
		return internal("touch sso session of token", err)
	}
	return nil
}

// SSOSessionOfToken returns the single-sign-on session an access token's
// grant was issued under (uuid.Nil for an unknown token): a service tells
// "this device" in the list of sessions with it. Errors: EInternal.
func (s *Store) SSOSessionOfToken(ctx context.Context, accessToken string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.db.QueryRow(ctx, `
		SELECT g.sso_session_id FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
		WHERE t.token_hash = $1`, hashSecret(accessToken)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, nil
	}
	if err != nil {
		return uuid.Nil, internal("sso session of token", err)
	}
	return id, nil
}

// cutUserAgent keeps the first 500 characters of ua, cut on a character.
func cutUserAgent(ua string) string {
	ua = strings.TrimSpace(strings.ToValidUTF8(ua, ""))
	if utf8.RuneCountInString(ua) <= maxUserAgent {
		return ua
	}
	r := []rune(ua)
	return string(r[:maxUserAgent])
}
