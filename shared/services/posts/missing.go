package posts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Writes that add what is missing and leave what is there, in the
// caller's transaction: the demo seed's way of writing posts and tags
// (the posts package owns them), announced through OnChange as every
// other change of a post is.

const addTagIfMissing = `
INSERT INTO tags (slug, name, description) VALUES ($1, $2, $3)
ON CONFLICT (slug) DO NOTHING`

// AddTagIfMissing adds the tag t in tx unless one has its slug (which is
// then left as it is). Errors: the database's.
func AddTagIfMissing(ctx context.Context, tx pgx.Tx, t models.Tag) error {
	if _, err := tx.Exec(ctx, addTagIfMissing, t.Slug, t.Name, t.Description); err != nil {
		return fmt.Errorf("add tag %s: %w", t.Slug, err)
	}
	return nil
}

// NewPost is a post or page to add unless its slug is taken.
type NewPost struct {
	Type, Slug, Title, Excerpt, HTML string
	Status                           string // models.PostStatusPublished or PostStatusDraft
	// PublishedAgo dates a published post that long before now.
	PublishedAgo time.Duration
	// AuthorEmail credits the post to the user with that email (none when
	// there is no such user).
	AuthorEmail string
	// TagSlugs are the post's tags, in order; slugs with no tag are
	// skipped.
	TagSlugs []string
}

const addPostIfMissing = `
INSERT INTO posts (type, slug, title, excerpt, html, status, published_at, author_id)
SELECT $1, $2, $3, $4, $5, $6, CASE WHEN $6 = 'published' THEN now() - $7::interval END, u.id
FROM (SELECT 1) AS one
LEFT JOIN users u ON lower(u.email) = lower($8)
ON CONFLICT (slug) DO NOTHING
RETURNING id`

const addPostTag = `
INSERT INTO post_tags (post_id, tag_id, position)
SELECT $1, t.id, $3 FROM tags t WHERE t.slug = $2
ON CONFLICT (post_id, tag_id) DO NOTHING`

// AddPostIfMissing adds p with its tags in tx, and announces it
// (OnChange), unless a post or page has p's slug: that one is left as it
// is, however it has changed since, tags included. It reports whether p
// was added. Errors: a slug models.ValidatePostSlug refuses (EInvalid),
// the database's.
func (s *Store) AddPostIfMissing(ctx context.Context, tx pgx.Tx, p NewPost) (bool, error) {
	if err := models.ValidatePostSlug(p.Slug); err != nil {
		return false, fmt.Errorf("post %s: %w", p.Slug, err)
	}
	var id uuid.UUID
	err := tx.QueryRow(ctx, addPostIfMissing, p.Type, p.Slug, p.Title, p.Excerpt, p.HTML, p.Status,
		p.PublishedAgo, p.AuthorEmail).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add post %s: %w", p.Slug, err)
	}
	for i, tag := range p.TagSlugs {
		if _, err := tx.Exec(ctx, addPostTag, id, tag, i); err != nil {
			return false, fmt.Errorf("tag post %s with %s: %w", p.Slug, tag, err)
		}
	}
	return true, s.afterChange(ctx, tx, id)
}

const setFeatureImageIfNone = `
UPDATE posts SET feature_image = $2 WHERE slug = $1 AND feature_image = '' RETURNING id`

// SetFeatureImageIfNone gives the post at slug the feature image at url in
// tx, announcing the change (OnChange), when it has none; one that has an
// image keeps it. Errors: the database's.
func (s *Store) SetFeatureImageIfNone(ctx context.Context, tx pgx.Tx, slug, url string) error {
	var id uuid.UUID
	err := tx.QueryRow(ctx, setFeatureImageIfNone, slug, url).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("feature image of %s: %w", slug, err)
	}
	return s.afterChange(ctx, tx, id)
}
