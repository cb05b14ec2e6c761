package identity

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Writes of users made on behalf of other packages (the demo seed, the
// Ghost sync, the blog's author admin), in the caller's transaction: the
// users table has one owner, this package, and these are the only ways
// the others change it.

// NewUser is a user the demo seed (or an operator's tool) adds.
type NewUser struct {
	Email, Username, DisplayName string
	Admin                        bool
}

const ensureUser = `
INSERT INTO users (email, username, display_name, is_admin)
VALUES ($1, $2, $3, $4)
ON CONFLICT ((lower(email))) DO UPDATE SET username = coalesce(users.username, EXCLUDED.username)`

// EnsureUser adds u in tx unless a user has its email (in any case); such
// a user keeps everything, except that one without a username gets u's.
// Errors: the database's (a constraint u breaks included).
func EnsureUser(ctx context.Context, tx pgx.Tx, u NewUser) error {
	_, err := tx.Exec(ctx, ensureUser, u.Email, u.Username, u.DisplayName, u.Admin)
	return err
}

const setAuthorText = `UPDATE users SET display_name = $2, bio = $3, updated_at = now() WHERE id = $1`

// SetAuthorText sets a user's display name and biography in tx, as the
// caller validated them. It reports whether the user exists. Errors: the
// database's.
func SetAuthorText(ctx context.Context, tx pgx.Tx, id uuid.UUID, displayName, bio string) (bool, error) {
	tag, err := tx.Exec(ctx, setAuthorText, id, displayName, bio)
	return tag.RowsAffected() > 0, err
}

// GhostAuthor is a Ghost author's fields as the Ghost sync cleaned them,
// with Synced, its record of them (JSON) that the next sync compares with.
type GhostAuthor struct {
	GhostID                     string
	DisplayName, Bio, AvatarURL string
	Synced                      []byte
}

// GhostAuthorCopy chooses the fields UpdateGhostAuthor copies.
type GhostAuthorCopy struct {
	Name, Bio, Avatar bool
}

const linkGhostAuthor = `
UPDATE users SET ghost_author_id = $2, ghost_author_synced = $3,
       bio = CASE WHEN bio = '' THEN $4 ELSE bio END,
       avatar_url = CASE WHEN avatar_url = '' THEN $5 ELSE avatar_url END, updated_at = now()
WHERE username = $1 AND ghost_author_id IS NULL
RETURNING id`

// LinkGhostAuthor links the user with that username, when no Ghost author
// is linked to them yet, to the Ghost author a, in tx: a's biography and
// avatar fill only the user's empty ones. It returns the user's id and
// whether there was such a user. Errors: the database's.
func LinkGhostAuthor(ctx context.Context, tx pgx.Tx, username string, a GhostAuthor) (uuid.UUID, bool, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, linkGhostAuthor, username, a.GhostID, a.Synced, a.Bio, a.AvatarURL).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	return id, err == nil, err
}

const addGhostAuthor = `
INSERT INTO users (email, username, display_name, bio, avatar_url, ghost_author_id, ghost_author_synced)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`

// AddGhostAuthor adds, in tx, a user for Ghost author a with that
// (placeholder) email and username, and returns its id. Errors: the
// database's (a taken email, username or Ghost id included).
func AddGhostAuthor(ctx context.Context, tx pgx.Tx, email, username string, a GhostAuthor) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, addGhostAuthor, email, username, a.DisplayName, a.Bio, a.AvatarURL, a.GhostID, a.Synced).
		Scan(&id)
	return id, err
}

const updateGhostAuthor = `
UPDATE users SET username = $2,
       display_name = CASE WHEN $3 THEN $4 ELSE display_name END,
       bio = CASE WHEN $5 THEN $6 ELSE bio END,
       avatar_url = CASE WHEN $7 THEN $8 ELSE avatar_url END,
       ghost_author_synced = $9, updated_at = now()
WHERE id = $1`

// UpdateGhostAuthor gives user id, in tx, that username (nil: none), the
// fields of a that copy chooses, and a's record Synced (a.GhostID is not
// used: the user is linked already). Errors: the database's.
func UpdateGhostAuthor(ctx context.Context, tx pgx.Tx, id uuid.UUID, username *string, a GhostAuthor, copy GhostAuthorCopy) error {
	_, err := tx.Exec(ctx, updateGhostAuthor, id, username, copy.Name, a.DisplayName, copy.Bio, a.Bio,
		copy.Avatar, a.AvatarURL, a.Synced)
	return err
}
