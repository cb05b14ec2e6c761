package posts

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/identity"
)

// errNotAuthor is what UpdateAuthor's transaction returns for a user who
// is not one of Authors (or none at all).
var errNotAuthor = errors.New("not an author")

// isAuthor is true for the users who may be credited with posts ($1 is
// the user's id).
const isAuthor = `
SELECT EXISTS (SELECT 1 FROM users u WHERE u.id = $1
               AND (u.is_admin OR u.ghost_author_id IS NOT NULL
                    OR EXISTS (SELECT 1 FROM posts p WHERE p.author_id = u.id)))`

// checkAuthor returns an EInvalid error unless id is one of Authors.
func checkAuthor(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	var ok bool
	if err := tx.QueryRow(ctx, isAuthor, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return models.Errorf(models.EInvalid, "Choose the author from the list.")
	}
	return nil
}

const authors = `
SELECT u.id, coalesce(u.username, ''), u.display_name, coalesce(nullif(u.display_name, ''), u.username, ''),
       u.bio, u.avatar_url, u.is_admin, u.ghost_author_id IS NOT NULL,
       lower(u.email) LIKE '%@' || $1,
       count(p.id)::int,
       (count(p.id) FILTER (WHERE p.status = 'published' AND p.published_at <= now()))::int
FROM users u
LEFT JOIN posts p ON p.author_id = u.id
GROUP BY u.id
HAVING u.is_admin OR u.ghost_author_id IS NOT NULL OR count(p.id) > 0
ORDER BY lower(coalesce(nullif(u.display_name, ''), u.username, '')), u.id`

// Authors lists the people who may be credited with posts: everyone
// credited with a post or page, every admin, and every user linked to
// a Ghost author, by name. Errors: EInternal.
func (s *Store) Authors(ctx context.Context) ([]contracts.AuthorSummary, error) {
	rows, err := s.db.Query(ctx, authors, models.GhostAuthorEmailDomain)
	if err != nil {
		return nil, internal("authors", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (contracts.AuthorSummary, error) {
		var a contracts.AuthorSummary
		err := r.Scan(&a.Author.ID, &a.Author.Username, &a.DisplayName, &a.Author.Name, &a.Author.Bio, &a.Author.AvatarURL,
			&a.IsAdmin, &a.FromGhost, &a.GhostOnly, &a.Posts, &a.Published)
		return a, err
	})
	if err != nil {
		return nil, internal("authors", err)
	}
	return list, nil
}

// UpdateAuthor sets an author's display name (models.ValidateDisplayName)
// and biography (models.NormalizeBio). Errors: EInvalid, ENotFound (not
// one of Authors), EInternal.
func (s *Store) UpdateAuthor(ctx context.Context, id uuid.UUID, displayName, bio string) error {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	displayName = strings.TrimSpace(displayName)
	if err := models.ValidateDisplayName(displayName); err != nil {
		return err
	}
	bio, err := models.NormalizeBio(bio)
	if err != nil {
		return err
	}
	// Who is an author is the posts' business; the user's row is identity's.
	err = postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var ok bool
		err := tx.QueryRow(ctx, isAuthor, id).Scan(&ok)
		if err != nil {
			return err
		}
		if ok {
			ok, err = identity.SetAuthorText(ctx, tx, id, displayName, bio)
		}
		if err == nil && !ok {
			return errNotAuthor
		}
		return err
	})
	if errors.Is(err, errNotAuthor) {
		return models.Errorf(models.ENotFound, "No such author.")
	}
	if err != nil {
		return internal("update author", err)
	}
	return nil
}
