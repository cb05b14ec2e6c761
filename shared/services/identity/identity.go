// Package identity is the PostgreSQL implementation of users, sign-in by
// magic link, federation's single-sign-on sessions and the OAuth2 grants,
// codes and tokens federation issues. Every secret it hands out is random
// (256 bits) and stored only as its SHA-256.
//
// It owns the tables users, magic_links, email_changes, sso_sessions,
// oauth_grants, oauth_codes and oauth_tokens: no other package writes them
// (users.go has the writes others make, in their transactions).
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
)

// Store reads and writes identity data. It implements contracts.Grants.
type Store struct {
	db *pgxpool.Pool
}

var _ contracts.Grants = (*Store)(nil)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// newSecret returns a random URL-safe token of 256 bits and its hash.
func newSecret() (token string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("identity: no randomness: " + err.Error())
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashSecret(token)
}

func hashSecret(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

const userColumns = `u.id, u.email, coalesce(u.username, ''), u.display_name, u.is_admin, u.created_at`

func scanUser(row pgx.Row) (models.User, error) {
	var u models.User
	err := row.Scan(&u.ID, &u.Email, &u.Username, &u.DisplayName, &u.IsAdmin, &u.CreatedAt)
	return u, err
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("identity: %s: %w", what, err))
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// UserByID returns the user with that id. Errors: ENotFound, EInternal.
func (s *Store) UserByID(ctx context.Context, id uuid.UUID) (models.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, models.Errorf(models.ENotFound, "No such user.")
	}
	if err != nil {
		return u, internal("user by id", err)
	}
	return u, nil
}

// Users returns up to limit users, newest first (deleted accounts left
// out). Errors: EInternal.
func (s *Store) Users(ctx context.Context, limit int) ([]models.User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.deleted_at IS NULL ORDER BY u.created_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, internal("list users", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.User, error) { return scanUser(r) })
	if err != nil {
		return nil, internal("list users", err)
	}
	return users, nil
}

// SetProfile sets the user's username and display name after validating
// them. Errors: EInvalid, EConflict (username taken), ENotFound, EInternal.
func (s *Store) SetProfile(ctx context.Context, id uuid.UUID, username, displayName string) (models.User, error) {
	if err := validateProfile(username, displayName); err != nil {
		return models.User{}, err
	}
	return setProfile(ctx, s.db, id, username, displayName)
}
