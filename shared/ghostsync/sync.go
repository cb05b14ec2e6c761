package ghostsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/navigation"
	"rose-ash.com/platform/shared/services/posts"
)

// Overlap is how far before the stored cursor an incremental sync starts
// asking, so that posts saved in Ghost around the last run's end are not
// missed. Posts seen again are left alone when unchanged.
const Overlap = 5 * time.Minute

// Options says where a sync writes and what it imports.
type Options struct {
	// Posts is the store the sync writes posts and tags through, as the
	// blog's editor does, so that a change is announced on the fediverse
	// in its own transaction (the store's OnChange). Nil: a store on the
	// sync's database that announces nothing.
	Posts *posts.Store
	// Nav receives Ghost's navigation on every run; nil: not imported.
	Nav *navigation.Store
	// MembersPosts is config.GhostMembersSkip (also when empty) or
	// config.GhostMembersImport: see config.Ghost.MembersPosts.
	MembersPosts string
	// EmbedHosts are the hosts whose iframes are kept (see Policy).
	EmbedHosts []string
}

// Summary counts what one sync did.
type Summary struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
	// Skipped counts Ghost posts left alone: unchanged since the copy
	// already stored, or members-only posts not imported.
	Skipped int `json:"skipped"`
	// Conflicts counts Ghost posts newly refused because another post
	// holds their slug (Ghost's default pages often clash with the blog's
	// own): each is counted and logged once, and listed on the admin's
	// Ghost page until resolved (Conflicts).
	Conflicts int `json:"conflicts,omitempty"`
	// Authors counts the Ghost authors whose user was created, linked or
	// changed.
	Authors int `json:"authors,omitempty"`
	// Tags counts the tags renamed in Ghost.
	Tags int `json:"tags,omitempty"`
	// Nav is true when Ghost's navigation replaced the blog's.
	Nav bool `json:"nav,omitempty"`
}

// Changed reports whether the sync changed anything readers see: posts
// created, updated or deleted, authors or tags changed, or the navigation.
func (s Summary) Changed() bool {
	return s.Created+s.Updated+s.Deleted+s.Authors+s.Tags > 0 || s.Nav
}

// Sync is SyncWith with the zero Options: posts written through a store
// that announces nothing, navigation not imported, members-only posts
// skipped, no iframes kept.
func Sync(ctx context.Context, c *Client, db *pgxpool.Pool, progress func(done, total int)) (Summary, error) {
	return SyncWith(ctx, c, db, Options{}, progress)
}

// SyncWith copies what changed in Ghost since the last sync (everything
// the first time, and while copies made before content hashes remain)
// into the blog through opts.Posts, deletes the copies of posts that are
// no longer published (or imported) in Ghost, brings renamed tags up to
// date, imports the navigation (opts.Nav), and advances the stored cursor
// to the newest updated_at seen. progress, when not nil, is called after
// each post with the number handled and the total to handle.
//
// On an error nothing already written is undone, but the cursor does not
// move: the next run fetches the same posts again (leaving alone those
// already stored). The error is recorded in ghost_sync_state.last_error;
// see IsRetryable.
func SyncWith(ctx context.Context, c *Client, db *pgxpool.Pool, opts Options, progress func(done, total int)) (Summary, error) {
	if opts.Posts == nil {
		opts.Posts = posts.New(db)
	}
	sum, cursor, err := syncOnce(ctx, c, db, opts, progress)
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
func syncOnce(ctx context.Context, c *Client, db *pgxpool.Pool, opts Options, progress func(done, total int)) (Summary, *time.Time, error) {
	var sum Summary
	prev, err := Cursor(ctx, db)
	if err != nil {
		return sum, nil, fmt.Errorf("ghost sync: read the cursor: %w", err)
	}
	// Copies stored before content hashes (migration 0012) are fetched
	// again, all of them: they may hold a lost edit, a stripped embed or a
	// members-only post imported as public.
	var unhashed bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM posts WHERE ghost_id IS NOT NULL AND ghost_hash IS NULL)`).
		Scan(&unhashed); err != nil {
		return sum, nil, fmt.Errorf("ghost sync: look for old copies: %w", err)
	}
	var since time.Time
	if prev != nil && !unhashed {
		since = prev.Add(-Overlap)
	}
	policy := Policy(opts.EmbedHosts)
	s := &syncer{db: db, opts: opts, clean: sanitizer{policy: policy, base: strings.TrimRight(c.base.String(), "/")}, sum: &sum,
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
	// Authors, tags and the navigation are not worth failing a run for:
	// the next run tries again.
	if err := s.refreshAuthors(ctx, c); err != nil {
		slog.WarnContext(ctx, "ghost sync: authors not refreshed", "error", err)
	}
	if err := s.renameTags(ctx, c); err != nil {
		slog.WarnContext(ctx, "ghost sync: tags not refreshed", "error", err)
	}
	if opts.Nav != nil {
		if err := s.importNav(ctx, c); err != nil {
			slog.WarnContext(ctx, "ghost sync: navigation not imported", "error", err)
		}
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
	opts  Options
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

// imported reports whether a post of that Ghost visibility is imported.
func (s *syncer) imported(visibility string) bool {
	return visibility == "" || visibility == "public" || s.opts.MembersPosts == config.GhostMembersImport
}

// apply stores one Ghost post or page through the posts store.
func (s *syncer) apply(ctx context.Context, kind Kind, p Post) error {
	if p.ID == "" {
		s.sum.Skipped++
		slog.WarnContext(ctx, "ghost sync: skipped a post without an id", "slug", p.Slug)
		return nil
	}
	if !s.imported(p.Visibility) {
		// Never stored; a copy from when it was public goes in reconcile.
		s.sum.Skipped++
		return nil
	}
	author := p.PrimaryAuthor
	if author != nil && author.ID == "" {
		author = nil // nothing to link it by
	}
	var uid *uuid.UUID
	if author != nil {
		var changed bool
		err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
			id, ch, err := s.creditAuthor(ctx, tx, *author)
			uid, changed = &id, ch
			return err
		})
		if err != nil {
			return fmt.Errorf("ghost sync: credit the author of %s (%s): %w", p.ID, p.Slug, err)
		}
		s.countAuthor(author, changed)
	}
	gp := s.row(kind, p)
	gp.AuthorID = uid
	gp.Hash = hashOf(gp)
	outcome, holder, err := s.opts.Posts.SaveGhostPost(ctx, gp)
	if err != nil {
		return fmt.Errorf("ghost sync: store %s %s (%s): %w", strings.TrimSuffix(string(kind), "s"), p.ID, p.Slug, err)
	}
	switch outcome {
	case posts.GhostSlugTaken:
		return s.conflict(ctx, p, gp.Slug, holder)
	case posts.GhostCreated:
		s.sum.Created++
	case posts.GhostUpdated:
		s.sum.Updated++
	default:
		s.sum.Skipped++
		return nil
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM ghost_conflicts WHERE ghost_id = $1`, p.ID); err != nil {
		return fmt.Errorf("ghost sync: forget a resolved conflict: %w", err)
	}
	return nil
}

// conflict records a post refused for its slug: counted and logged the
// first time (and again when it changes in Ghost), silent afterwards.
func (s *syncer) conflict(ctx context.Context, p Post, slug, holder string) error {
	reason := "the slug is taken by a post that does not come from Ghost"
	if holder != "" {
		reason = "the slug is taken by another Ghost post (" + holder + ")"
	}
	tag, err := s.db.Exec(ctx, `
		INSERT INTO ghost_conflicts (ghost_id, slug, reason, ghost_updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (ghost_id) DO UPDATE SET slug = EXCLUDED.slug, reason = EXCLUDED.reason,
		       ghost_updated_at = EXCLUDED.ghost_updated_at, seen_at = now()
		WHERE (ghost_conflicts.slug, ghost_conflicts.reason, ghost_conflicts.ghost_updated_at)
		      IS DISTINCT FROM (EXCLUDED.slug, EXCLUDED.reason, EXCLUDED.ghost_updated_at)`,
		p.ID, slug, reason, p.UpdatedAt)
	if err != nil {
		return fmt.Errorf("ghost sync: record a conflict: %w", err)
	}
	if tag.RowsAffected() > 0 {
		s.sum.Conflicts++
		slog.WarnContext(ctx, "ghost sync: a post was not imported", "ghost_id", p.ID, "slug", slug, "reason", reason)
	}
	return nil
}

// Conflict is a Ghost post the sync cannot store, for the admin page.
type Conflict struct {
	GhostID, Slug, Reason string
	Since                 time.Time
}

// Conflicts returns the Ghost posts not imported because of their slug,
// newest first.
func Conflicts(ctx context.Context, db *pgxpool.Pool) ([]Conflict, error) {
	rows, err := db.Query(ctx, `SELECT ghost_id, slug, reason, seen_at FROM ghost_conflicts ORDER BY seen_at DESC, slug`)
	if err != nil {
		return nil, fmt.Errorf("ghost sync: conflicts: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Conflict])
}

// hashOf sums every field the blog keeps of a Ghost post (not Ghost's
// updated_at, which is stored to the second and so cannot tell two edits
// within one second apart).
func hashOf(gp posts.GhostPost) string {
	gp.Hash, gp.GhostUpdatedAt = "", time.Time{}
	raw, _ := json.Marshal(gp)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// row maps a Ghost post onto the posts table's columns.
func (s *syncer) row(kind Kind, p Post) posts.GhostPost {
	r := posts.GhostPost{GhostID: p.ID, GhostUpdatedAt: p.UpdatedAt, Type: models.PostTypePost, Status: "draft",
		Visibility: posts.VisibilityPublic}
	if kind == KindPages {
		r.Type = models.PostTypePage
	}
	if p.Visibility != "" && p.Visibility != "public" {
		r.Visibility = posts.VisibilityMembers
	}
	r.Slug = p.Slug
	if models.ValidatePostSlug(r.Slug) != nil {
		r.Slug = models.Slugify(p.Slug)
	}
	if r.Slug == "" {
		r.Slug = "ghost-" + strings.ToLower(p.ID)
	}
	r.Title = truncate(strings.TrimSpace(p.Title), 255)
	if r.Title == "" {
		r.Title = "(untitled)"
	}
	r.Excerpt = strings.TrimSpace(p.CustomExcerpt)
	if r.Excerpt == "" {
		r.Excerpt = strings.TrimSpace(p.Excerpt)
	}
	r.Excerpt = truncate(r.Excerpt, 500)
	r.HTML = s.clean.clean(p.HTML)
	if strings.HasPrefix(p.FeatureImage, "https://") || strings.HasPrefix(p.FeatureImage, "http://") {
		r.FeatureImage = p.FeatureImage
	} else if strings.HasPrefix(p.FeatureImage, "/") && !strings.HasPrefix(p.FeatureImage, "//") {
		r.FeatureImage = s.clean.base + p.FeatureImage
	}
	if r.FeatureImage != "" {
		r.FeatureImageAlt = truncate(strings.TrimSpace(p.FeatureImageAlt), 191)
		r.FeatureImageCaption = s.clean.clean(p.FeatureImageCaption)
	}
	// The Content API returns published content only; anything else is
	// kept as a draft.
	if p.Status == "" || p.Status == "published" {
		r.Status = models.PostStatusPublished
		at := p.UpdatedAt
		if p.PublishedAt != nil {
			at = *p.PublishedAt
		}
		r.PublishedAt = &at
	} else if p.PublishedAt != nil {
		r.PublishedAt = p.PublishedAt
	}
	for _, t := range p.Tags {
		if gt, ok := ghostTag(t); ok {
			r.Tags = append(r.Tags, gt)
		}
	}
	return r
}

// ghostTag maps a public Ghost tag onto the tags table; ok is false for
// internal tags and tags without a usable name or slug.
func ghostTag(t Tag) (posts.GhostTag, bool) {
	if t.Internal() {
		return posts.GhostTag{}, false
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
		return posts.GhostTag{}, false
	}
	return posts.GhostTag{GhostID: t.ID, Slug: slug, Name: name}, true
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// reconcile lists every published Ghost post and page and deletes the
// local copies of the others (deleted, unpublished, or members-only when
// those are not imported), each announced as deleted.
func (s *syncer) reconcile(ctx context.Context, c *Client) error {
	keep := []string{} // not nil: ANY(NULL) would keep everything
	all := []string{}
	for _, kind := range []Kind{KindPosts, KindPages} {
		var n, total int
		for page := 1; ; page++ {
			got, pg, err := c.ListRefs(ctx, kind, page)
			if err != nil {
				return err
			}
			if page == 1 {
				total = pg.Total
			}
			for _, r := range got {
				all = append(all, r.ID)
				if s.imported(r.Visibility) {
					keep = append(keep, r.ID)
				}
			}
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
	n, err := s.opts.Posts.DeleteGhostPosts(ctx, keep)
	if err != nil {
		return fmt.Errorf("ghost sync: delete posts gone from Ghost: %w", err)
	}
	s.sum.Deleted += n
	if _, err := s.db.Exec(ctx, `DELETE FROM ghost_conflicts WHERE NOT (ghost_id = ANY($1::text[]))`, all); err != nil {
		return fmt.Errorf("ghost sync: forget conflicts gone from Ghost: %w", err)
	}
	return nil
}

// renameTags brings the names and slugs of Ghost's tags up to date:
// renaming a tag in Ghost moves no post's updated_at.
func (s *syncer) renameTags(ctx context.Context, c *Client) error {
	var tags []posts.GhostTag
	for page := 1; ; page++ {
		got, pg, err := c.ListTags(ctx, page)
		if err != nil {
			return err
		}
		for _, t := range got {
			if gt, ok := ghostTag(t); ok && gt.GhostID != "" {
				tags = append(tags, gt)
			}
		}
		if pg.Next == nil || len(got) == 0 {
			break
		}
	}
	n, err := s.opts.Posts.RenameGhostTags(ctx, tags)
	s.sum.Tags += n
	return err
}
