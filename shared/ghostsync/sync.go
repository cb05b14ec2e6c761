package ghostsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// Overlap is how far before the stored cursor an incremental sync starts
// asking, so that posts saved in Ghost around the last run's end are not
// missed. Posts seen again are skipped as not newer.
const Overlap = 5 * time.Minute

// Summary counts what one sync did.
type Summary struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
	// Skipped counts Ghost posts left alone: not newer than the copy
	// already stored, or refused (their slug is taken by a post that does
	// not come from Ghost); the reasons of refusals are logged.
	Skipped int `json:"skipped"`
	// Authors counts the Ghost authors whose user was created, linked or
	// changed.
	Authors int `json:"authors,omitempty"`
}

// Changed reports whether the sync changed anything readers see: posts
// created, updated or deleted, or authors changed.
func (s Summary) Changed() bool { return s.Created+s.Updated+s.Deleted+s.Authors > 0 }

// Sync copies what changed in Ghost since the last sync (everything the
// first time) into the posts table, deletes the copies of posts that are
// no longer published in Ghost, and advances the stored cursor to the
// newest updated_at seen. progress, when not nil, is called after each
// post with the number handled and the total to handle.
//
// On an error nothing already written is undone, but the cursor does not
// move: the next run fetches the same posts again (skipping those already
// stored). The error is recorded in ghost_sync_state.last_error; see
// IsRetryable.
func Sync(ctx context.Context, c *Client, db *pgxpool.Pool, progress func(done, total int)) (Summary, error) {
	sum, cursor, err := syncOnce(ctx, c, db, progress)
	counts, _ := json.Marshal(sum)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	// The state is saved with a context of its own: a canceled run still
	// records why it stopped.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, serr := db.Exec(sctx, `
		INSERT INTO ghost_sync_state (id, cursor, last_run_at, last_error, counts)
		VALUES (true, $1, now(), $2, $3)
		ON CONFLICT (id) DO UPDATE SET cursor = coalesce(EXCLUDED.cursor, ghost_sync_state.cursor),
		       last_run_at = now(), last_error = EXCLUDED.last_error, counts = EXCLUDED.counts`,
		cursor, msg, counts); serr != nil && err == nil {
		err = fmt.Errorf("ghost sync: save the cursor: %w", serr)
	}
	return sum, err
}

// Cursor returns the stored cursor (nil before the first successful sync).
func Cursor(ctx context.Context, db *pgxpool.Pool) (*time.Time, error) {
	var cur *time.Time
	err := db.QueryRow(ctx, `SELECT cursor FROM ghost_sync_state WHERE id`).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return cur, err
}

// syncOnce does the work and returns the new cursor (nil on error or when
// nothing was seen).
func syncOnce(ctx context.Context, c *Client, db *pgxpool.Pool, progress func(done, total int)) (Summary, *time.Time, error) {
	var sum Summary
	prev, err := Cursor(ctx, db)
	if err != nil {
		return sum, nil, fmt.Errorf("ghost sync: read the cursor: %w", err)
	}
	var since time.Time
	if prev != nil {
		since = prev.Add(-Overlap)
	}
	s := &syncer{db: db, clean: sanitizer{policy: Policy(), base: strings.TrimRight(c.base.String(), "/")}, sum: &sum,
		authorsSeen: map[string]bool{}}

	// The first page of each kind gives the totals for progress.
	type firstPage struct {
		kind  Kind
		items []Post
		pg    Pagination
	}
	var firsts []firstPage
	total := 0
	for _, kind := range []Kind{KindPosts, KindPages} {
		items, pg, err := c.List(ctx, kind, since, 1)
		if err != nil {
			return sum, nil, err
		}
		firsts = append(firsts, firstPage{kind, items, pg})
		total += pg.Total
	}
	done := 0
	var newest time.Time
	for _, f := range firsts {
		items, pg := f.items, f.pg
		for page := 1; ; page++ {
			if page > 1 {
				if items, pg, err = c.List(ctx, f.kind, since, page); err != nil {
					return sum, nil, err
				}
			}
			for _, p := range items {
				if err := s.apply(ctx, f.kind, p); err != nil {
					return sum, nil, err
				}
				if p.UpdatedAt.After(newest) {
					newest = p.UpdatedAt
				}
				done++
				total = max(total, done)
				if progress != nil {
					progress(done, total)
				}
			}
			if pg.Next == nil || len(items) == 0 {
				break
			}
		}
	}
	if progress != nil && done < total {
		progress(total, total) // posts unpublished while paging
	}
	if err := s.reconcile(ctx, c); err != nil {
		return sum, nil, err
	}
	// Author details are not worth failing a run for: the next run tries
	// again.
	if err := s.refreshAuthors(ctx, c); err != nil {
		slog.WarnContext(ctx, "ghost sync: authors not refreshed", "error", err)
	}
	if newest.IsZero() {
		return sum, prev, nil
	}
	if prev != nil && prev.After(newest) {
		newest = *prev
	}
	return sum, &newest, nil
}

type syncer struct {
	db    *pgxpool.Pool
	clean sanitizer
	sum   *Summary
	// authorsSeen holds the Ghost ids of the authors counted in
	// sum.Authors, so that each counts once.
	authorsSeen map[string]bool
}

// countAuthor counts a created, linked or changed author once per run.
func (s *syncer) countAuthor(a *Author, changed bool) {
	if changed && a != nil && !s.authorsSeen[a.ID] {
		s.authorsSeen[a.ID] = true
		s.sum.Authors++
	}
}

// apply stores one Ghost post or page.
func (s *syncer) apply(ctx context.Context, kind Kind, p Post) error {
	if p.ID == "" {
		s.sum.Skipped++
		slog.WarnContext(ctx, "ghost sync: skipped a post without an id", "slug", p.Slug)
		return nil
	}
	row := s.row(kind, p)
	author := p.PrimaryAuthor
	if author != nil && author.ID == "" {
		author = nil // nothing to link it by
	}
	var skip string
	var created, updated, authorChanged bool
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var (
			id       uuid.UUID
			stored   *time.Time
			authorID *uuid.UUID
		)
		err := tx.QueryRow(ctx, `SELECT id, ghost_updated_at, author_id FROM posts WHERE ghost_id = $1 FOR UPDATE`, p.ID).
			Scan(&id, &stored, &authorID)
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		credit := func() (*uuid.UUID, error) {
			if author == nil {
				return nil, nil
			}
			uid, changed, err := s.creditAuthor(ctx, tx, *author)
			authorChanged = authorChanged || changed
			return &uid, err
		}
		if exists && stored != nil && !stored.Before(p.UpdatedAt) {
			skip = "not newer"
			if authorID != nil || author == nil {
				return nil
			}
			// Synced before authors were credited: credit it now.
			uid, err := credit()
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE posts SET author_id = $2 WHERE id = $1`, id, uid); err != nil {
				return err
			}
			skip, updated = "", true
			return nil
		}
		var holder string
		var holderGhost *string
		err = tx.QueryRow(ctx, `SELECT id::text, ghost_id FROM posts WHERE slug = $1`, row.slug).Scan(&holder, &holderGhost)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err == nil && (!exists || holder != id.String()) {
			if holderGhost == nil {
				skip = "slug taken by a post that does not come from Ghost"
			} else {
				skip = "slug taken by another Ghost post (" + *holderGhost + ")"
			}
			return nil
		}
		uid, err := credit()
		if err != nil {
			return err
		}
		if exists {
			// A post without an author in the answer keeps the one it has.
			if _, err := tx.Exec(ctx, `
				UPDATE posts SET type = $2, slug = $3, title = $4, excerpt = $5, html = $6, feature_image = $7,
				       status = $8, published_at = $9, ghost_updated_at = $10, author_id = coalesce($11, author_id),
				       version = version + 1, updated_at = now()
				WHERE id = $1`,
				id, row.typ, row.slug, row.title, row.excerpt, row.html, row.featureImage, row.status, row.publishedAt,
				p.UpdatedAt, uid); err != nil {
				return err
			}
			updated = true
		} else {
			if err := tx.QueryRow(ctx, `
				INSERT INTO posts (type, slug, title, excerpt, html, feature_image, status, published_at, ghost_id, ghost_updated_at, author_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
				row.typ, row.slug, row.title, row.excerpt, row.html, row.featureImage, row.status, row.publishedAt,
				p.ID, p.UpdatedAt, uid).Scan(&id); err != nil {
				return err
			}
			created = true
		}
		return setGhostTags(ctx, tx, id, p.Tags)
	})
	if err != nil {
		return fmt.Errorf("ghost sync: store %s %s (%s): %w", strings.TrimSuffix(string(kind), "s"), p.ID, p.Slug, err)
	}
	s.countAuthor(author, authorChanged)
	switch {
	case skip != "":
		s.sum.Skipped++
		if skip != "not newer" {
			slog.WarnContext(ctx, "ghost sync: skipped a post", "ghost_id", p.ID, "slug", row.slug, "reason", skip)
		}
	case created:
		s.sum.Created++
	case updated:
		s.sum.Updated++
	}
	return nil
}

type postRow struct {
	typ, slug, title, excerpt, html, featureImage, status string
	publishedAt                                           *time.Time
}

// row maps a Ghost post onto the posts table's columns.
func (s *syncer) row(kind Kind, p Post) postRow {
	r := postRow{typ: models.PostTypePost, status: "draft"}
	if kind == KindPages {
		r.typ = models.PostTypePage
	}
	r.slug = p.Slug
	if models.ValidatePostSlug(r.slug) != nil {
		r.slug = models.Slugify(p.Slug)
	}
	if r.slug == "" {
		r.slug = "ghost-" + strings.ToLower(p.ID)
	}
	r.title = truncate(strings.TrimSpace(p.Title), 255)
	if r.title == "" {
		r.title = "(untitled)"
	}
	r.excerpt = strings.TrimSpace(p.CustomExcerpt)
	if r.excerpt == "" {
		r.excerpt = strings.TrimSpace(p.Excerpt)
	}
	r.excerpt = truncate(r.excerpt, 500)
	r.html = s.clean.clean(p.HTML)
	if strings.HasPrefix(p.FeatureImage, "https://") || strings.HasPrefix(p.FeatureImage, "http://") {
		r.featureImage = p.FeatureImage
	} else if strings.HasPrefix(p.FeatureImage, "/") && !strings.HasPrefix(p.FeatureImage, "//") {
		r.featureImage = s.clean.base + p.FeatureImage
	}
	// The Content API returns published content only; anything else is
	// kept as a draft.
	if p.Status == "" || p.Status == "published" {
		r.status = models.PostStatusPublished
		at := p.UpdatedAt
		if p.PublishedAt != nil {
			at = *p.PublishedAt
		}
		r.publishedAt = &at
	} else if p.PublishedAt != nil {
		r.publishedAt = p.PublishedAt
	}
	return r
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// setGhostTags replaces a post's tags with its public Ghost tags, found by
// Ghost id or slug and created when missing.
func setGhostTags(ctx context.Context, tx pgx.Tx, postID uuid.UUID, tags []Tag) error {
	if _, err := tx.Exec(ctx, `DELETE FROM post_tags WHERE post_id = $1`, postID); err != nil {
		return err
	}
	seen := map[uuid.UUID]bool{}
	pos := 0
	for _, t := range tags {
		if t.Internal() {
			continue
		}
		name := truncate(strings.TrimSpace(t.Name), 191)
		slug := t.Slug
		if models.ValidatePostSlug(slug) != nil {
			slug = models.Slugify(t.Slug)
		}
		if slug == "" {
			slug = models.Slugify(name)
		}
		if slug == "" || name == "" {
			continue
		}
		var tagID uuid.UUID
		err := pgx.ErrNoRows
		if t.ID != "" {
			err = tx.QueryRow(ctx, `UPDATE tags SET name = $2 WHERE ghost_id = $1 RETURNING id`, t.ID, name).Scan(&tagID)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			err = tx.QueryRow(ctx, `
				INSERT INTO tags (slug, name, ghost_id) VALUES ($1, $2, nullif($3, ''))
				ON CONFLICT (slug) DO UPDATE SET ghost_id = coalesce(tags.ghost_id, EXCLUDED.ghost_id)
				RETURNING id`, slug, name, t.ID).Scan(&tagID)
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

// reconcile lists every published Ghost post and page id and deletes the
// local copies of the others (deleted or unpublished in Ghost).
func (s *syncer) reconcile(ctx context.Context, c *Client) error {
	ids := []string{} // not nil: ANY(NULL) would keep everything
	for _, kind := range []Kind{KindPosts, KindPages} {
		var n, total int
		for page := 1; ; page++ {
			got, pg, err := c.ListIDs(ctx, kind, page)
			if err != nil {
				return err
			}
			if page == 1 {
				total = pg.Total
			}
			ids = append(ids, got...)
			n += len(got)
			if pg.Next == nil || len(got) == 0 {
				break
			}
		}
		if n < total {
			// Posts vanished while paging shifted the pages: deleting on
			// an incomplete list could delete posts that still exist.
			return &Error{Op: "list " + string(kind) + " ids", Message: fmt.Sprintf(
				"got %d ids of %d; the list changed while paging", n, total), retryable: true}
		}
	}
	tag, err := s.db.Exec(ctx, `DELETE FROM posts WHERE ghost_id IS NOT NULL AND NOT (ghost_id = ANY($1::text[]))`, ids)
	if err != nil {
		return fmt.Errorf("ghost sync: delete posts gone from Ghost: %w", err)
	}
	s.sum.Deleted += int(tag.RowsAffected())
	return nil
}
