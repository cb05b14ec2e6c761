// Package posts is the PostgreSQL implementation of the blog's published
// content as readers see it: posts, pages, tags, authors
// and search. It owns the tables posts, tags and post_tags: every other
// package (the Ghost sync, the demo seed) writes them through the Store,
// so that every change runs OnChange and is federated.
package posts

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/keptpages"
	"rose-ash.com/platform/shared/models"
)

// Store reads posts, tags and authors for the blog's pages, archives,
// search, feeds and sitemap, and writes them for its admin area, the Ghost
// sync and the demo seed. The blog is its only service, so it has no
// contract (see docs/DECISIONS.md). Reads of published content may be
// called by anyone: only posts published at or before now are returned
// (drafts never, scheduled posts from their time), now being a parameter
// so that pages and tests choose the clock; posts carry their author (nil
// when none) and tags, loaded in one query per call, times in UTC.
type Store struct {
	db *pgxpool.Pool
	// changed runs in the transaction of every change to a post (its
	// federation: see OnChange).
	changed func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error
	// listings keeps pages of published posts (nil: none; see
	// CacheListings).
	listings *keptpages.Pages[contracts.PostPage]
}

// OnChange sets f to run inside the transaction of every create, update
// and delete of a post, after the change: the blog announces posts on the
// fediverse there, so a post and its announcement commit together.
func (s *Store) OnChange(f func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error) { s.changed = f }

func (s *Store) afterChange(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	if s.changed == nil {
		return nil
	}
	return s.changed(ctx, tx, id)
}

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// A post's columns, in postRow's order. The word count and the start of
// the text (for a missing excerpt), markup stripped as the search column
// strips it, are kept with the post (migration 0010); the tags come in
// order as JSON, in the same round trip. A members-only post's body (and
// the start of its text) is never read here: only MembersPostHTML gives
// it, for a signed-in reader.
const (
	postColumns = selectPost + `CASE WHEN p.visibility = 'public' THEN p.html ELSE '' END AS html` + postRest
	// listingColumns reads bodies only when $7 asks for them (feeds): a
	// listing shows excerpts, and reading every post's body made up most
	// of an uncached listing's cost.
	listingColumns = selectPost + `CASE WHEN $7 AND p.visibility = 'public' THEN p.html ELSE '' END AS html` + postRest
	// searchColumns read no bodies: results show excerpts.
	searchColumns = selectPost + `'' AS html` + postRest
	selectPost    = `
SELECT p.id, p.type, p.slug, p.title, p.excerpt, `
	postRest = `,
       p.feature_image, p.status, p.published_at, p.updated_at,
       u.id AS author_id, coalesce(u.username, '') AS author_username,
       coalesce(nullif(u.display_name, ''), u.username, '') AS author_name,
       p.words, CASE WHEN p.excerpt = '' AND p.visibility = 'public' THEN p.text_start ELSE '' END AS text_start,
       tg.slugs, tg.names, tg.descriptions,
       p.visibility <> 'public' AS members_only, p.feature_image_alt, p.feature_image_caption`
	fromPosts = `
FROM posts p
LEFT JOIN users u ON u.id = p.author_id`
	// tagArrays gives a post's tags, in order, as three parallel arrays
	// (tg.slugs, tg.names, tg.descriptions): several times cheaper to
	// decode than the same as JSON objects. It follows fromPosts in the
	// queries that select postColumns.
	tagArrays = `
CROSS JOIN LATERAL (
  SELECT coalesce(array_agg(t.slug ORDER BY pt.position, t.name), '{}') AS slugs,
         coalesce(array_agg(t.name ORDER BY pt.position, t.name), '{}') AS names,
         coalesce(array_agg(t.description ORDER BY pt.position, t.name), '{}') AS descriptions
  FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id) tg`
	// $1 is now.
	isPublished = `p.status = 'published' AND p.published_at <= $1`
)

type postRow struct {
	ID             uuid.UUID
	Type           string
	Slug           string
	Title          string
	Excerpt        string
	HTML           string
	FeatureImage   string
	Status         string
	PublishedAt    time.Time
	UpdatedAt      time.Time
	AuthorID       uuid.NullUUID
	AuthorUsername string
	AuthorName     string
	Words          int
	TextStart      string
	TagSlugs       []string
	TagNames       []string
	TagDescs       []string
	MembersOnly    bool
	ImageAlt       string
	ImageCaption   string
}

const publishedPostsWhere = fromPosts + publishedPostsFilter

const publishedPostsFilter = `
WHERE ` + isPublished + ` AND p.type = $2
  AND ($3 = '' OR EXISTS (SELECT 1 FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
                          WHERE pt.post_id = p.id AND t.slug = $3))
  AND ($4 = '' OR u.username = $4)`

const countPublishedPosts = `SELECT count(*)` + publishedPostsWhere

// publishedPosts counts the matching posts in the same query (a window
// over all of them): one round trip for a page and its total.
const publishedPosts = listingColumns + `, count(*) OVER () AS total` + fromPosts + tagArrays + publishedPostsFilter + `
ORDER BY p.published_at DESC, p.id DESC
LIMIT $5 OFFSET $6`

// pagedRow is a post of a page, with the total of the listing.
type pagedRow struct {
	postRow
	Total int
}

// PublishedPosts returns a page of published posts of q.Type, newest first. Errors: EInvalid (type or paging), EInternal.
func (s *Store) PublishedPosts(ctx context.Context, now time.Time, q contracts.PostQuery) (contracts.PostPage, error) {
	typ := q.Type
	if typ == "" {
		typ = models.PostTypePost
	}
	if typ != models.PostTypePost && typ != models.PostTypePage {
		return contracts.PostPage{}, models.Errorf(models.EInvalid, "There are posts and pages, nothing else.")
	}
	page, perPage, err := paging(q.Page, q.PerPage)
	if err != nil {
		return contracts.PostPage{}, err
	}
	key := listingKey(typ, q, page, perPage)
	kept, hit, gen := s.listings.Get(key)
	if hit {
		return kept, nil
	}
	result := contracts.PostPage{Page: page, PerPage: perPage}
	rows, err := s.db.Query(ctx, publishedPosts, now, typ, q.TagSlug, q.AuthorUsername, perPage, (page-1)*perPage, q.Bodies)
	if err != nil {
		return contracts.PostPage{}, internal("published posts", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[pagedRow])
	if err != nil {
		return contracts.PostPage{}, internal("published posts", err)
	}
	postRows := make([]postRow, len(found))
	for i, r := range found {
		postRows[i], result.Total = r.postRow, r.Total
	}
	if len(found) == 0 && page > 1 {
		// Past the end, the window counted nothing: count on its own.
		if err := s.db.QueryRow(ctx, countPublishedPosts, now, typ, q.TagSlug, q.AuthorUsername).Scan(&result.Total); err != nil {
			return contracts.PostPage{}, internal("count published posts", err)
		}
	}
	result.Posts = toPosts(postRows)
	s.listings.Add(key, result, gen)
	return result, nil
}

const publishedPostBySlug = postColumns + fromPosts + tagArrays + `
WHERE ` + isPublished + ` AND p.slug = $2`

// PublishedPostBySlug returns the published post or page with that slug. Errors: ENotFound, EInternal.
func (s *Store) PublishedPostBySlug(ctx context.Context, now time.Time, slug string) (models.Post, error) {
	posts, err := s.posts(ctx, "post by slug", publishedPostBySlug, now, slug)
	if err != nil {
		return models.Post{}, err
	}
	if len(posts) == 0 {
		return models.Post{}, models.Errorf(models.ENotFound, "There is no post or page at this address.")
	}
	return posts[0], nil
}

// The query is parsed once per statement (a function in FROM), and a query
// of stop words alone ("the") matches nothing rather than failing.
const (
	searchFrom = `
FROM websearch_to_tsquery('english', $2) AS q,
     posts p
LEFT JOIN users u ON u.id = p.author_id`
	searchFilter = `
WHERE ` + isPublished + ` AND p.search @@ q`
)

const countSearchPosts = `SELECT count(*)` + searchFrom + searchFilter

const searchPosts = searchColumns + searchFrom + tagArrays + searchFilter + `
ORDER BY ts_rank(p.search, q) DESC, p.published_at DESC, p.id DESC
LIMIT $3 OFFSET $4`

// SearchPosts returns a page of the published posts and pages matching
// query, best first. Errors: EInvalid (blank or too
// long query, paging), EInternal.
func (s *Store) SearchPosts(ctx context.Context, now time.Time, query string, page, perPage int) (contracts.PostPage, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return contracts.PostPage{}, models.Errorf(models.EInvalid, "Enter what to search for.")
	}
	if len(query) > contracts.MaxSearchQuery || !utf8.ValidString(query) {
		return contracts.PostPage{}, models.Errorf(models.EInvalid, "A search is at most %d characters.", contracts.MaxSearchQuery)
	}
	page, perPage, err := paging(page, perPage)
	if err != nil {
		return contracts.PostPage{}, err
	}
	result := contracts.PostPage{Page: page, PerPage: perPage}
	if err := s.db.QueryRow(ctx, countSearchPosts, now, query).Scan(&result.Total); err != nil {
		return contracts.PostPage{}, internal("count search results", err)
	}
	result.Posts, err = s.posts(ctx, "search posts", searchPosts, now, query, perPage, (page-1)*perPage)
	if err != nil {
		return contracts.PostPage{}, err
	}
	return result, nil
}

const tagBySlug = `SELECT slug, name, description FROM tags WHERE slug = $1`

// TagBySlug returns the tag with that slug. Errors: ENotFound, EInternal.
func (s *Store) TagBySlug(ctx context.Context, slug string) (models.Tag, error) {
	var t models.Tag
	err := s.db.QueryRow(ctx, tagBySlug, slug).Scan(&t.Slug, &t.Name, &t.Description)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Tag{}, models.Errorf(models.ENotFound, "There is no tag %q.", slug)
	}
	if err != nil {
		return models.Tag{}, internal("tag by slug", err)
	}
	return t, nil
}

const authorByUsername = `
SELECT u.id, u.username, coalesce(nullif(u.display_name, ''), u.username), u.bio, u.avatar_url
FROM users u
WHERE u.username = $1
  AND EXISTS (SELECT 1 FROM posts p
              WHERE p.author_id = u.id AND p.status = 'published' AND p.published_at <= now())`

// AuthorByUsername returns the user with that username, with their
// biography and avatar, if they are credited with a published post.
// Errors: ENotFound, EInternal.
func (s *Store) AuthorByUsername(ctx context.Context, username string) (models.Author, error) {
	var a models.Author
	err := s.db.QueryRow(ctx, authorByUsername, username).Scan(&a.ID, &a.Username, &a.Name, &a.Bio, &a.AvatarURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Author{}, models.Errorf(models.ENotFound, "There is no author %q.", username)
	}
	if err != nil {
		return models.Author{}, internal("author by username", err)
	}
	return a, nil
}

const recentlyUpdated = postColumns + fromPosts + tagArrays + `
WHERE ` + isPublished + `
ORDER BY p.updated_at DESC, p.id DESC
LIMIT $2`

// RecentlyUpdated returns at most limit published posts and pages, most
// recently updated first, HTML included. Errors: EInvalid (limit),
// EInternal.
func (s *Store) RecentlyUpdated(ctx context.Context, now time.Time, limit int) ([]models.Post, error) {
	if limit < 1 || limit > contracts.MaxRecentlyUpdated {
		return nil, models.Errorf(models.EInvalid, "Ask for 1 to %d posts.", contracts.MaxRecentlyUpdated)
	}
	return s.posts(ctx, "recently updated", recentlyUpdated, now, limit)
}

// posts runs a query selecting postRows and returns them as posts with
// their tags, loaded in one more query. No rows is an empty slice.
func (s *Store) posts(ctx context.Context, what, query string, args ...any) ([]models.Post, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, internal(what, err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[postRow])
	if err != nil {
		return nil, internal(what, err)
	}
	return toPosts(found), nil
}

// toPosts makes posts of rows.
func toPosts(found []postRow) []models.Post {
	posts := make([]models.Post, len(found))
	for i, r := range found {
		posts[i] = models.Post{
			ID: r.ID, Type: r.Type, Slug: r.Slug, Title: r.Title, Excerpt: r.Excerpt, HTML: r.HTML,
			FeatureImage: r.FeatureImage, Status: r.Status,
			PublishedAt: r.PublishedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
			ReadingMinutes: models.ReadingMinutes(r.Words),
			MembersOnly:    r.MembersOnly, FeatureImageAlt: r.ImageAlt, FeatureImageCaption: r.ImageCaption,
		}
		if len(r.TagSlugs) > 0 {
			posts[i].Tags = make([]models.Tag, len(r.TagSlugs))
			for j := range r.TagSlugs {
				posts[i].Tags[j] = models.Tag{Slug: r.TagSlugs[j], Name: r.TagNames[j], Description: r.TagDescs[j]}
			}
		}
		if posts[i].Excerpt == "" {
			posts[i].Excerpt = excerptOf(r.TextStart)
		}
		if r.AuthorID.Valid {
			posts[i].Author = &models.Author{ID: r.AuthorID.UUID, Username: r.AuthorUsername, Name: r.AuthorName}
		}
	}
	return posts
}

// excerptLength is roughly how many characters an excerpt made from the
// text has: two lines of a listing.
const excerptLength = 200

// excerptOf makes an excerpt for a post without one from the start of its
// text (tags already stripped): entities decoded, since the excerpt is
// plain text that templates escape, whitespace collapsed, and cut at a word
// boundary with an ellipsis.
func excerptOf(text string) string {
	text = strings.Join(strings.Fields(html.UnescapeString(text)), " ")
	if utf8.RuneCountInString(text) <= excerptLength {
		return text
	}
	cut := []rune(text)[:excerptLength]
	s := string(cut)
	if i := strings.LastIndexByte(s, ' '); i > excerptLength/2 {
		s = s[:i]
	}
	return strings.TrimRight(s, " ,;:.-–—") + "…"
}

// paging applies the defaults to page and perPage and checks them.
func paging(page, perPage int) (int, int, error) {
	if page == 0 {
		page = 1
	}
	if perPage == 0 {
		perPage = contracts.DefaultPerPage
	}
	if page < 1 || page > contracts.MaxPage {
		return 0, 0, models.Errorf(models.EInvalid, "Pages are numbered from 1 to %d.", contracts.MaxPage)
	}
	if perPage < 1 || perPage > contracts.MaxPerPage {
		return 0, 0, models.Errorf(models.EInvalid, "Show 1 to %d posts a page.", contracts.MaxPerPage)
	}
	return page, perPage, nil
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("posts: %s: %w", what, err))
}
