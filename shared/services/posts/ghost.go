package posts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// The Ghost sync writes posts through the Store, like the blog's editor:
// one writer of posts, tags and post_tags, and one place (OnChange) where
// a change is announced on the fediverse in its own transaction.

// Post visibilities: who reads a post's body.
const (
	// VisibilityPublic posts are read in full by everyone.
	VisibilityPublic = "public"
	// VisibilityMembers posts are read in full by signed-in members only;
	// everyone else gets the title, the excerpt and a notice, and they are
	// never federated.
	VisibilityMembers = "members"
)

// GhostPost is a Ghost post or page mapped onto the blog's columns, its
// HTML already sanitized by the sync.
type GhostPost struct {
	GhostID string
	// Hash sums every field below as the sync computed it: a stored copy
	// with the same hash is not written again.
	Hash           string
	GhostUpdatedAt time.Time
	Type           string // models.PostTypePost or PostTypePage
	Slug, Title    string
	Excerpt, HTML  string
	FeatureImage   string
	// FeatureImageAlt is plain text; FeatureImageCaption sanitized HTML.
	FeatureImageAlt, FeatureImageCaption string
	Status                               string // "draft" or "published"
	Visibility                           string // VisibilityPublic or VisibilityMembers
	PublishedAt                          *time.Time
	// AuthorID credits the post; nil keeps the author it has.
	AuthorID *uuid.UUID
	Tags     []GhostTag
}

// GhostTag is a Ghost tag: found by its Ghost id, else by slug, and made
// when missing.
type GhostTag struct {
	GhostID, Slug, Name string
}

// GhostOutcome is what SaveGhostPost did.
type GhostOutcome int

// What SaveGhostPost can do.
const (
	// GhostUnchanged: the stored copy has the same hash (and an author).
	GhostUnchanged GhostOutcome = iota
	GhostCreated
	GhostUpdated
	// GhostSlugTaken: another post holds the slug; nothing was written.
	GhostSlugTaken
)

// SaveGhostPost creates or updates the copy of a Ghost post, in one
// transaction with its tags and its announcement (OnChange). A copy whose
// hash equals p.Hash is left alone (GhostUnchanged), except that one
// stored without an author gets p's. When the slug is held by another
// post nothing is written: it returns GhostSlugTaken and who holds it
// ("" for a post that does not come from Ghost, else its Ghost id).
// Errors: EInternal (the database), EInvalid (a field the database
// refuses).
func (s *Store) SaveGhostPost(ctx context.Context, p GhostPost) (GhostOutcome, string, error) {
	outcome, holder := GhostUnchanged, ""
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var (
			id       uuid.UUID
			hash     *string
			authorID *uuid.UUID
		)
		err := tx.QueryRow(ctx, `SELECT id, ghost_hash, author_id FROM posts WHERE ghost_id = $1 FOR UPDATE`, p.GhostID).
			Scan(&id, &hash, &authorID)
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if exists && hash != nil && *hash == p.Hash {
			if authorID != nil || p.AuthorID == nil {
				return nil
			}
			// Synced before authors were credited: credit it now.
			if _, err := tx.Exec(ctx, `UPDATE posts SET author_id = $2 WHERE id = $1`, id, p.AuthorID); err != nil {
				return err
			}
			outcome = GhostUpdated
			return nil
		}
		var holderID uuid.UUID
		var holderGhost *string
		err = tx.QueryRow(ctx, `SELECT id, ghost_id FROM posts WHERE slug = $1`, p.Slug).Scan(&holderID, &holderGhost)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err == nil && (!exists || holderID != id) {
			outcome = GhostSlugTaken
			if holderGhost != nil {
				holder = *holderGhost
			}
			return nil
		}
		if exists {
			// A post without an author in the answer keeps the one it has.
			if _, err := tx.Exec(ctx, `
				UPDATE posts SET type = $2, slug = $3, title = $4, excerpt = $5, html = $6, feature_image = $7,
				       feature_image_alt = $8, feature_image_caption = $9, status = $10, visibility = $11,
				       published_at = $12, ghost_updated_at = $13, ghost_hash = $14, author_id = coalesce($15, author_id),
				       version = version + 1, updated_at = now()
				WHERE id = $1`,
				id, p.Type, p.Slug, p.Title, p.Excerpt, p.HTML, p.FeatureImage, p.FeatureImageAlt, p.FeatureImageCaption,
				p.Status, p.Visibility, p.PublishedAt, p.GhostUpdatedAt, p.Hash, p.AuthorID); err != nil {
				return err
			}
			outcome = GhostUpdated
		} else {
			if err := tx.QueryRow(ctx, `
				INSERT INTO posts (type, slug, title, excerpt, html, feature_image, feature_image_alt, feature_image_caption,
				                   status, visibility, published_at, ghost_id, ghost_updated_at, ghost_hash, author_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
				p.Type, p.Slug, p.Title, p.Excerpt, p.HTML, p.FeatureImage, p.FeatureImageAlt, p.FeatureImageCaption,
				p.Status, p.Visibility, p.PublishedAt, p.GhostID, p.GhostUpdatedAt, p.Hash, p.AuthorID).Scan(&id); err != nil {
				return err
			}
			outcome = GhostCreated
		}
		if err := setGhostTags(ctx, tx, id, p.Tags); err != nil {
			return err
		}
		return s.afterChange(ctx, tx, id)
	})
	if err != nil {
		return GhostUnchanged, "", saveError("save ghost post", p.Slug, err)
	}
	if outcome == GhostCreated || outcome == GhostUpdated {
		s.Forget()
	}
	return outcome, holder, nil
}

// setGhostTags replaces a post's tags with tags, in order, each found by
// Ghost id (its name brought up to date), else by slug, else created.
func setGhostTags(ctx context.Context, tx pgx.Tx, postID uuid.UUID, tags []GhostTag) error {
	if _, err := tx.Exec(ctx, `DELETE FROM post_tags WHERE post_id = $1`, postID); err != nil {
		return err
	}
	seen := map[uuid.UUID]bool{}
	pos := 0
	for _, t := range tags {
		var tagID uuid.UUID
		err := pgx.ErrNoRows
		if t.GhostID != "" {
			err = tx.QueryRow(ctx, `UPDATE tags SET name = $2 WHERE ghost_id = $1 RETURNING id`, t.GhostID, t.Name).Scan(&tagID)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			err = tx.QueryRow(ctx, `
				INSERT INTO tags (slug, name, ghost_id) VALUES ($1, $2, nullif($3, ''))
				ON CONFLICT (slug) DO UPDATE SET ghost_id = coalesce(tags.ghost_id, EXCLUDED.ghost_id)
				RETURNING id`, t.Slug, t.Name, t.GhostID).Scan(&tagID)
		}
		if err != nil {
			return fmt.Errorf("tag %q: %w", t.Slug, err)
		}
		if seen[tagID] {
			continue
		}
		seen[tagID] = true
		if _, err := tx.Exec(ctx, `INSERT INTO post_tags (post_id, tag_id, position) VALUES ($1, $2, $3)`, postID, tagID, pos); err != nil {
			return err
		}
		pos++
	}
	return nil
}

// RenameGhostTags brings the names and slugs of the tags that came from
// Ghost up to date (renaming a tag in Ghost changes no post, so no post
// sync would notice). A slug another tag holds is left as it was. It
// returns how many tags changed; each of their posts is announced again
// (OnChange), as their hashtags changed. Errors: EInternal.
func (s *Store) RenameGhostTags(ctx context.Context, tags []GhostTag) (int, error) {
	changed := 0
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		changed = 0
		posts := map[uuid.UUID]bool{}
		for _, t := range tags {
			var tagID uuid.UUID
			err := tx.QueryRow(ctx, `
				UPDATE tags SET name = $2,
				       slug = CASE WHEN EXISTS (SELECT 1 FROM tags o WHERE o.slug = $3 AND o.ghost_id IS DISTINCT FROM $1)
				                   THEN slug ELSE $3 END
				WHERE ghost_id = $1 AND (name <> $2 OR slug <> $3)
				RETURNING id`, t.GhostID, t.Name, t.Slug).Scan(&tagID)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("tag %q: %w", t.Slug, err)
			}
			changed++
			rows, err := tx.Query(ctx, `SELECT post_id FROM post_tags WHERE tag_id = $1`, tagID)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			if err != nil {
				return err
			}
			for _, id := range ids {
				posts[id] = true
			}
		}
		for id := range posts {
			if err := s.afterChange(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, internal("rename ghost tags", err)
	}
	if changed > 0 {
		s.Forget()
	}
	return changed, nil
}

// DeleteGhostPosts deletes the copies of Ghost posts whose Ghost id is not
// in keep (deleted, unpublished or no longer imported in Ghost), each
// announced as deleted (OnChange) in the same transaction. Posts that do
// not come from Ghost are never touched. It returns how many it deleted.
// Errors: EInternal.
func (s *Store) DeleteGhostPosts(ctx context.Context, keep []string) (int, error) {
	if keep == nil {
		keep = []string{} // ANY(NULL) would keep nothing out
	}
	n := 0
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM posts WHERE ghost_id IS NOT NULL AND NOT (ghost_id = ANY($1::text[])) RETURNING id`, keep)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		n = len(ids)
		for _, id := range ids {
			if err := s.afterChange(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, internal("delete ghost posts", err)
	}
	if n > 0 {
		s.Forget()
	}
	return n, nil
}

// MembersPostHTML returns the body of a published members-only post or
// page, for a signed-in reader: every other read of such a post carries
// no body (see VisibilityMembers). Errors: ENotFound (no such published
// members-only post), EInternal.
func (s *Store) MembersPostHTML(ctx context.Context, now time.Time, id uuid.UUID) (string, error) {
	var html string
	err := s.db.QueryRow(ctx, `SELECT p.html FROM posts p WHERE p.id = $2 AND p.visibility = 'members' AND `+isPublished,
		now, id).Scan(&html)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", models.Errorf(models.ENotFound, "There is no such members' post.")
	}
	if err != nil {
		return "", internal("members post html", err)
	}
	return html, nil
}
