package posts

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

const editableColumns = `
SELECT p.id, p.type, p.slug, p.title, p.excerpt, p.html, coalesce(p.doc::text, ''), p.feature_image, p.status,
       p.published_at, p.updated_at, p.version,
       coalesce(nullif(u.display_name, ''), u.username, ''), coalesce(p.author_id, '00000000-0000-0000-0000-000000000000'),
       coalesce((SELECT array_agg(t.name ORDER BY pt.position, t.name) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
                 WHERE pt.post_id = p.id), '{}'),
       p.ghost_id IS NOT NULL
FROM posts p LEFT JOIN users u ON u.id = p.author_id`

func scanEditable(row pgx.Row) (models.EditablePost, error) {
	var (
		e  models.EditablePost
		pa *time.Time
	)
	err := row.Scan(&e.ID, &e.Input.Type, &e.Input.Slug, &e.Input.Title, &e.Input.Excerpt, &e.Input.HTML, &e.Input.Doc,
		&e.Input.FeatureImage, &e.Input.Status, &pa, &e.UpdatedAt, &e.Input.Version, &e.AuthorName, &e.AuthorID, &e.Input.Tags, &e.FromGhost)
	if pa != nil {
		t := pa.UTC()
		e.PublishedAt = &t
	}
	return e, err
}

// AdminPosts lists posts and pages of every status, most recently
// updated first. typ is "post", "page" or "" (both); status is "draft",
// "published", "scheduled" or "" (all). Errors: EInvalid, EInternal.
func (s *Store) AdminPosts(ctx context.Context, now time.Time, typ, status string, limit int) ([]models.EditablePost, error) {
	if typ != "" && typ != models.PostTypePost && typ != models.PostTypePage {
		return nil, models.Errorf(models.EInvalid, "Unknown type %q.", typ)
	}
	if status != "" && status != "draft" && status != "published" && status != "scheduled" {
		return nil, models.Errorf(models.EInvalid, "Unknown status %q.", status)
	}
	if limit < 1 || limit > 500 {
		limit = 500
	}
	rows, err := s.db.Query(ctx, editableColumns+`
		WHERE ($1 = '' OR p.type = $1)
		  AND ($2 = '' OR ($2 = 'draft' AND p.status = 'draft')
		       OR ($2 = 'published' AND p.status = 'published' AND p.published_at <= $3)
		       OR ($2 = 'scheduled' AND p.status = 'published' AND p.published_at > $3))
		ORDER BY p.updated_at DESC LIMIT $4`, typ, status, now, limit)
	if err != nil {
		return nil, internal("admin posts", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.EditablePost, error) { return scanEditable(r) })
	if err != nil {
		return nil, internal("admin posts", err)
	}
	return list, nil
}

// PostForEdit returns one post or page, drafts included. Errors:
// ENotFound, EInternal.
func (s *Store) PostForEdit(ctx context.Context, id uuid.UUID) (models.EditablePost, error) {
	e, err := scanEditable(s.db.QueryRow(ctx, editableColumns+` WHERE p.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, models.Errorf(models.ENotFound, "No such post.")
	}
	if err != nil {
		return e, internal("post for edit", err)
	}
	return e, nil
}

func publishedAtParam(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreatePost saves a new post credited to in.AuthorID, or to authorID
// (the admin creating it) when that is uuid.Nil (input normalized with
// models.NormalizePostInput; its HTML already sanitized). Errors:
// EInvalid (also for an author who is not one of Authors),
// EConflict (slug taken), EInternal.
func (s *Store) CreatePost(ctx context.Context, authorID uuid.UUID, in models.PostInput) (uuid.UUID, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	in, err := models.NormalizePostInput(in)
	if err != nil {
		return uuid.Nil, err
	}
	if in.AuthorID != uuid.Nil {
		authorID = in.AuthorID
	}
	var id uuid.UUID
	err = postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if in.AuthorID != uuid.Nil {
			if err := checkAuthor(ctx, tx, in.AuthorID); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO posts (type, slug, title, excerpt, html, doc, feature_image, status, published_at, author_id)
			VALUES ($1, $2, $3, $4, $5, nullif($6, '')::jsonb, $7, $8,
			        CASE WHEN $8 = 'published' THEN coalesce($9::timestamptz, now()) ELSE $9::timestamptz END, $10)
			RETURNING id`,
			in.Type, in.Slug, in.Title, in.Excerpt, in.HTML, in.Doc, in.FeatureImage, in.Status,
			publishedAtParam(in.PublishedAt), authorID).Scan(&id); err != nil {
			return err
		}
		if err := setTags(ctx, tx, id, in.Tags); err != nil {
			return err
		}
		return s.afterChange(ctx, tx, id)
	})
	if err != nil {
		return uuid.Nil, saveError("create post", in.Slug, err)
	}
	return id, nil
}

// UpdatePost saves a post if nobody saved it since in.Version was read
// and returns its new version; a non-nil in.AuthorID credits it to that
// author. Errors: EConflict (changed elsewhere, or slug taken),
// ENotFound, EInvalid (also for an author who is not one of
// Authors), EInternal.
func (s *Store) UpdatePost(ctx context.Context, id uuid.UUID, in models.PostInput) (int, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	in, err := models.NormalizePostInput(in)
	if err != nil {
		return 0, err
	}
	var (
		version int
		author  *uuid.UUID
	)
	if in.AuthorID != uuid.Nil {
		author = &in.AuthorID
	}
	err = postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if author != nil {
			if err := checkAuthor(ctx, tx, *author); err != nil {
				return err
			}
		}
		err := tx.QueryRow(ctx, `
			UPDATE posts SET type = $3, slug = $4, title = $5, excerpt = $6, html = $7, doc = nullif($8, '')::jsonb,
			       feature_image = $9, status = $10,
			       published_at = CASE WHEN $10 = 'published' THEN coalesce($11::timestamptz, published_at, now())
			                           ELSE coalesce($11::timestamptz, published_at) END,
			       author_id = coalesce($12, author_id),
			       version = version + 1, updated_at = now()
			WHERE id = $1 AND version = $2
			RETURNING version`,
			id, in.Version, in.Type, in.Slug, in.Title, in.Excerpt, in.HTML, in.Doc, in.FeatureImage, in.Status,
			publishedAtParam(in.PublishedAt), author).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM posts WHERE id = $1)`, id).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return models.Errorf(models.ENotFound, "No such post.")
			}
			return models.Errorf(models.EConflict,
				"Someone saved this post after you opened it. Your changes were not saved: open it again to see theirs, then redo yours.")
		}
		if err != nil {
			return err
		}
		if err := setTags(ctx, tx, id, in.Tags); err != nil {
			return err
		}
		return s.afterChange(ctx, tx, id)
	})
	if err != nil {
		return 0, saveError("update post", in.Slug, err)
	}
	return version, nil
}

// DeletePost deletes a post or page. Errors: ENotFound, EInternal.
func (s *Store) DeletePost(ctx context.Context, id uuid.UUID) error {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	found := false
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM posts WHERE id = $1`, id)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		found = true
		return s.afterChange(ctx, tx, id)
	})
	if err != nil {
		return internal("delete post", err)
	}
	if !found {
		return models.Errorf(models.ENotFound, "No such post.")
	}
	return nil
}

// setTags replaces a post's tags, creating tags that do not exist yet.
func setTags(ctx context.Context, tx pgx.Tx, postID uuid.UUID, names []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM post_tags WHERE post_id = $1`, postID); err != nil {
		return err
	}
	for i, name := range names {
		var tagID uuid.UUID
		if err := tx.QueryRow(ctx, `
			INSERT INTO tags (slug, name) VALUES ($1, $2)
			ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
			RETURNING id`, models.Slugify(name), name).Scan(&tagID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO post_tags (post_id, tag_id, position) VALUES ($1, $2, $3)`, postID, tagID, i); err != nil {
			return err
		}
	}
	return nil
}

// saveError keeps domain errors and turns database refusals into messages.
func saveError(what, slug string, err error) error {
	var de *models.Error
	if errors.As(err, &de) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return models.Errorf(models.EConflict, "The address /%s is taken by another post or page; choose another slug.", slug)
		case "22P02", "23514":
			return models.Wrap(models.EInvalid, "Some of the post's fields are not valid.", err)
		}
	}
	return internal(what, err)
}
