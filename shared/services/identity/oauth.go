package identity

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// ErrInvalidGrant is the token endpoint's invalid_grant: a code or refresh
// token that is unknown, used, expired, revoked, issued to another client or
// redirect URI, or whose PKCE verifier does not match.
var ErrInvalidGrant = models.Errorf(models.EInvalid, "The authorization grant is invalid, expired or revoked.")

// Lifetimes of what the authorization server issues.
type Lifetimes struct {
	Code    time.Duration // at most 60 s
	Access  time.Duration
	Refresh time.Duration
	// RefreshGrace is how long after a refresh token was used that
	// presenting it again returns the same new pair instead of being taken
	// as theft: a browser's parallel requests at expiry all refresh with the
	// token they loaded (Auth0 and Okta have the same window). 0 means no
	// grace: every reuse revokes the grant.
	RefreshGrace time.Duration
}

// DefaultRefreshGrace is the RefreshGrace federation uses: long enough for
// the requests of one page load that raced to refresh, short enough that a
// refresh token stolen and replayed later still revokes the chain.
const DefaultRefreshGrace = 10 * time.Second

// CodeRequest is an approved authorization request.
type CodeRequest struct {
	SSOSessionID  uuid.UUID
	UserID        uuid.UUID
	ClientID      string
	RedirectURI   string
	CodeChallenge string // S256
}

// TokenPair is what the token endpoint returns.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
}

// IssueCode creates a grant for the request and a single-use authorization
// code for it, valid for life. Errors: EInternal.
func (s *Store) IssueCode(ctx context.Context, req CodeRequest, life time.Duration) (string, error) {
	code, hash := newSecret()
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var grantID uuid.UUID
		if err := tx.QueryRow(ctx, `
			INSERT INTO oauth_grants (sso_session_id, user_id, client_id) VALUES ($1, $2, $3) RETURNING id`,
			req.SSOSessionID, req.UserID, req.ClientID).Scan(&grantID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at)
			VALUES ($1, $2, $3, $4, now() + $5::interval)`,
			hash, grantID, req.RedirectURI, req.CodeChallenge, life.String())
		return err
	})
	if err != nil {
		return "", internal("issue code", err)
	}
	return code, nil
}

var verifierRE = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// pkceMatches checks an RFC 7636 S256 code verifier against the challenge.
func pkceMatches(verifier, challenge string) bool {
	if !verifierRE.MatchString(verifier) || challenge == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// ExchangeCode trades an authorization code for tokens. The code is used up
// by the first attempt, whatever its outcome; presenting it again revokes the
// grant and so everything the first exchange issued (RFC 9700 2.1.1).
// Errors: ErrInvalidGrant, EInternal.
func (s *Store) ExchangeCode(ctx context.Context, code, clientID, redirectURI, verifier string, life Lifetimes) (TokenPair, error) {
	var pair TokenPair
	hash := hashSecret(code)
	// An invalid attempt still commits: it burns the code, or revokes the
	// grant of a replayed one. The outcome is reported after the commit.
	var outcome error
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var (
			grantID              uuid.UUID
			grantClient, uri, ch string
			expired, live        bool
		)
		err := tx.QueryRow(ctx, `
			UPDATE oauth_codes c SET used_at = now()
			FROM oauth_grants g JOIN sso_sessions s ON s.id = g.sso_session_id
			WHERE c.code_hash = $1 AND c.used_at IS NULL AND g.id = c.grant_id
			RETURNING c.grant_id, g.client_id, c.redirect_uri, c.code_challenge, c.expires_at <= now(),
			          g.revoked_at IS NULL AND s.revoked_at IS NULL AND s.expires_at > now()`, hash).
			Scan(&grantID, &grantClient, &uri, &ch, &expired, &live)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := tx.Exec(ctx, `
				UPDATE oauth_grants SET revoked_at = now()
				WHERE id = (SELECT grant_id FROM oauth_codes WHERE code_hash = $1) AND revoked_at IS NULL`, hash); err != nil {
				return err
			}
			outcome = ErrInvalidGrant
			return nil
		}
		if err != nil {
			return err
		}
		if expired || !live || grantClient != clientID || uri != redirectURI || !pkceMatches(verifier, ch) {
			outcome = ErrInvalidGrant
			return nil
		}
		pair, err = issueTokens(ctx, tx, grantID, life)
		return err
	})
	if err != nil {
		return TokenPair{}, internal("exchange code", err)
	}
	if outcome != nil {
		return TokenPair{}, outcome
	}
	return pair, nil
}

// Refresh trades a refresh token for a new pair and retires it (rotation).
// Presenting a retired refresh token again within life.RefreshGrace of its
// use returns the same new pair (parallel requests of one browser raced to
// refresh); later, it is taken as theft and the whole grant is revoked.
// Errors: ErrInvalidGrant, EInternal.
func (s *Store) Refresh(ctx context.Context, refreshToken, clientID string, life Lifetimes) (TokenPair, error) {
	var pair TokenPair
	hash := hashSecret(refreshToken)
	var outcome error
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var (
			grantID       uuid.UUID
			grantClient   string
			expired, live bool
		)
		err := tx.QueryRow(ctx, `
			UPDATE oauth_tokens t SET used_at = now()
			FROM oauth_grants g JOIN sso_sessions s ON s.id = g.sso_session_id
			WHERE t.token_hash = $1 AND t.kind = 'refresh' AND t.used_at IS NULL AND t.revoked_at IS NULL
			  AND g.id = t.grant_id
			RETURNING t.grant_id, g.client_id, t.expires_at <= now(),
			          g.revoked_at IS NULL AND s.revoked_at IS NULL AND s.expires_at > now()`, hash).
			Scan(&grantID, &grantClient, &expired, &live)
		if errors.Is(err, pgx.ErrNoRows) {
			pair, err = reusedRefresh(ctx, tx, refreshToken, clientID, life.RefreshGrace)
			if errors.Is(err, ErrInvalidGrant) {
				outcome = err // committed: a revocation must stick
				return nil
			}
			return err
		}
		if err != nil {
			return err
		}
		if expired || !live || grantClient != clientID {
			outcome = ErrInvalidGrant
			return nil
		}
		if pair, err = issueTokens(ctx, tx, grantID, life); err != nil {
			return err
		}
		sealed, err := sealSuccessor(refreshToken, pair)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE oauth_tokens SET successor = $2 WHERE token_hash = $1`, hash, sealed)
		return err
	})
	if err != nil {
		return TokenPair{}, internal("refresh", err)
	}
	if outcome != nil {
		return TokenPair{}, outcome
	}
	return pair, nil
}

// reusedRefresh handles a refresh token that is not live: one used within
// grace by the same client gets the pair its first use issued, while that
// pair is live; any other use of a used token revokes its grant. Errors:
// ErrInvalidGrant (to be committed), or a database error.
func reusedRefresh(ctx context.Context, tx pgx.Tx, refreshToken, clientID string, grace time.Duration) (TokenPair, error) {
	hash := hashSecret(refreshToken)
	var (
		sealed        []byte
		client        string
		inGrace, live bool
	)
	err := tx.QueryRow(ctx, `
		SELECT t.successor, g.client_id, t.used_at > now() - $2::interval,
		       g.revoked_at IS NULL AND s.revoked_at IS NULL AND s.expires_at > now()
		FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN sso_sessions s ON s.id = g.sso_session_id
		WHERE t.token_hash = $1 AND t.kind = 'refresh' AND t.used_at IS NOT NULL`,
		hash, grace.String()).Scan(&sealed, &client, &inGrace, &live)
	if errors.Is(err, pgx.ErrNoRows) {
		return TokenPair{}, ErrInvalidGrant // unknown, or never used yet expired or revoked
	}
	if err != nil {
		return TokenPair{}, err
	}
	if grace > 0 && inGrace && live && client == clientID && sealed != nil {
		pair, err := openSuccessor(refreshToken, sealed)
		if err != nil {
			return TokenPair{}, err
		}
		// clock_timestamp, not now(): this transaction may have started
		// (and waited on the token's row) before the pair was issued.
		var left time.Duration
		err = tx.QueryRow(ctx, `
			SELECT greatest(expires_at - clock_timestamp(), interval '0')
			FROM oauth_tokens WHERE token_hash = $1 AND kind = 'access' AND revoked_at IS NULL`,
			hashSecret(pair.AccessToken)).Scan(&left)
		if err == nil {
			pair.ExpiresIn = left
			return pair, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return TokenPair{}, err
		}
	}
	// Reuse after the grace window (or by another client): the token was
	// stolen, or its holder kept an old copy. Either way the chain is no
	// longer trusted.
	if _, err := tx.Exec(ctx, `
		UPDATE oauth_grants SET revoked_at = now()
		WHERE id = (SELECT grant_id FROM oauth_tokens WHERE token_hash = $1) AND revoked_at IS NULL`, hash); err != nil {
		return TokenPair{}, err
	}
	return TokenPair{}, ErrInvalidGrant
}

// sealSuccessor encrypts the pair a refresh token was exchanged for with a
// key derived from that refresh token, which the database never holds.
func sealSuccessor(refreshToken string, pair TokenPair) ([]byte, error) {
	gcm, err := successorCipher(refreshToken)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, []byte(pair.AccessToken+"\n"+pair.RefreshToken), nil), nil
}

// openSuccessor decrypts what sealSuccessor sealed with the same token.
func openSuccessor(refreshToken string, sealed []byte) (TokenPair, error) {
	gcm, err := successorCipher(refreshToken)
	if err != nil {
		return TokenPair{}, err
	}
	if len(sealed) < gcm.NonceSize() {
		return TokenPair{}, errors.New("sealed successor too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
	if err != nil {
		return TokenPair{}, err
	}
	access, refresh, ok := strings.Cut(string(plain), "\n")
	if !ok {
		return TokenPair{}, errors.New("sealed successor malformed")
	}
	return TokenPair{AccessToken: access, RefreshToken: refresh}, nil
}

func successorCipher(refreshToken string) (cipher.AEAD, error) {
	key := sha256.Sum256([]byte("rose-ash refresh successor\x00" + refreshToken))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func issueTokens(ctx context.Context, tx pgx.Tx, grantID uuid.UUID, life Lifetimes) (TokenPair, error) {
	access, ah := newSecret()
	refresh, rh := newSecret()
	_, err := tx.Exec(ctx, `
		INSERT INTO oauth_tokens (token_hash, grant_id, kind, expires_at) VALUES
		  ($1, $3, 'access', now() + $4::interval),
		  ($2, $3, 'refresh', now() + $5::interval)`,
		ah, rh, grantID, life.Access.String(), life.Refresh.String())
	return TokenPair{AccessToken: access, RefreshToken: refresh, ExpiresIn: life.Access}, err
}

// RevokeToken implements RFC 7009 for a client: revoking an access or refresh
// token revokes its whole grant. A token that is unknown or belongs to
// another client is ignored, as the RFC asks. Errors: EInternal.
func (s *Store) RevokeToken(ctx context.Context, token, clientID string) error {
	_, err := s.db.Exec(ctx, `
		UPDATE oauth_grants g SET revoked_at = now()
		FROM oauth_tokens t
		WHERE t.token_hash = $1 AND g.id = t.grant_id AND g.client_id = $2 AND g.revoked_at IS NULL`,
		hashSecret(token), clientID)
	if err != nil {
		return internal("revoke token", err)
	}
	return nil
}

// CheckAccessToken implements contracts.Grants.
func (s *Store) CheckAccessToken(ctx context.Context, accessToken string) (models.User, error) {
	var (
		u       models.User
		expired bool
	)
	err := s.db.QueryRow(ctx, `
		SELECT `+userColumns+`, t.expires_at <= now()
		FROM oauth_tokens t
		JOIN oauth_grants g ON g.id = t.grant_id
		JOIN sso_sessions s ON s.id = g.sso_session_id
		JOIN users u ON u.id = g.user_id
		WHERE t.token_hash = $1 AND t.kind = 'access' AND t.revoked_at IS NULL
		  AND g.revoked_at IS NULL AND s.revoked_at IS NULL AND s.expires_at > now()`,
		hashSecret(accessToken)).Scan(&u.ID, &u.Email, &u.Username, &u.DisplayName, &u.IsAdmin, &u.CreatedAt, &expired)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return models.User{}, ErrSignedOut
	case err != nil:
		return models.User{}, internal("check access token", err)
	case expired:
		return models.User{}, contracts.ErrTokenExpired
	}
	return u, nil
}

// SignOut implements contracts.Grants.
func (s *Store) SignOut(ctx context.Context, accessToken string) error {
	var id uuid.UUID
	err := s.db.QueryRow(ctx, `
		SELECT g.sso_session_id FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
		WHERE t.token_hash = $1`, hashSecret(accessToken)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return internal("sign out", err)
	}
	return s.RevokeSSOSession(ctx, id)
}
