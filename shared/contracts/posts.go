package contracts

import (
	"context"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
)

// PostQuery chooses a page of published posts. The zero value is the first
// page of ten posts of type "post", newest first.
type PostQuery struct {
	Type           string // "post" (the default when empty) or "page"
	TagSlug        string // only posts with this tag, when set
	AuthorUsername string // only posts by this user, when set
	Page           int    // from 1; 0 means 1
	PerPage        int    // 1 to MaxPerPage; 0 means DefaultPerPage
	// Bodies asks for each post's HTML (feeds); without it a listing's
	// posts have an empty HTML (listings show excerpts).
	Bodies bool
}

// Paging limits of PostQuery and Posts.SearchPosts.
const (
	DefaultPerPage = 10
	MaxPerPage     = 50
	// MaxPage keeps offsets sane; a larger page number is EInvalid.
	MaxPage = 100_000
	// MaxRecentlyUpdated is the largest limit Posts.RecentlyUpdated accepts.
	MaxRecentlyUpdated = 1000
	// MaxSearchQuery is the longest search, in bytes, Posts.SearchPosts accepts.
	MaxSearchQuery = 200
)

// PostPage is one page of posts with the paging it was asked for: Page and
// PerPage as applied (defaults filled in) and Total, the number of matching
// posts on every page. A page past the end has no Posts but the right
// Total.
type PostPage struct {
	Posts   []models.Post
	Total   int
	Page    int
	PerPage int
}

// HasNext reports whether a later page has posts.
func (p PostPage) HasNext() bool { return p.Page*p.PerPage < p.Total }

// HasPrev reports whether this is not the first page.
func (p PostPage) HasPrev() bool { return p.Page > 1 }

// Posts is the blog's published content as readers see it: the blog's
// pages, tag and author archives, search, feeds and sitemap. Anyone may
// call every method: only published posts whose published_at is at or
// before now are ever returned (drafts never, scheduled posts from their
// time). now is a parameter so that pages and tests choose the clock.
// Returned posts carry their HTML, their author (nil when none) and tags
// (loaded in one query per call, not one per post), and times in UTC. An
// empty excerpt is filled from the start of the text.
type Posts interface {
	// PublishedPosts returns a page of published posts of q.Type (default
	// "post"), newest first, with q's filters: an unknown tag or author
	// gives an empty page, not an error (use TagBySlug and
	// AuthorByUsername for a 404). Errors: EInvalid (a type other than
	// post or page, Page < 0 or > MaxPage, PerPage < 0 or > MaxPerPage);
	// EInternal.
	PublishedPosts(ctx context.Context, now time.Time, q PostQuery) (PostPage, error)

	// PublishedPostBySlug returns the published post or page at /slug.
	// Errors: ENotFound (no such slug, a draft, or scheduled after now);
	// EInternal.
	PublishedPostBySlug(ctx context.Context, now time.Time, slug string) (models.Post, error)

	// SearchPosts returns a page of the published posts and pages that
	// match query (websearch syntax: words, "phrases", -not, or), best
	// match first (a title match above a text match), then newest. Markup
	// in the text never matches. page and perPage work as in PostQuery.
	// Results carry excerpts, not bodies (HTML is empty).
	// Errors: EInvalid (a blank query, one longer than MaxSearchQuery,
	// bad paging); EInternal.
	SearchPosts(ctx context.Context, now time.Time, query string, page, perPage int) (PostPage, error)

	// TagBySlug returns the tag. Errors: ENotFound; EInternal.
	TagBySlug(ctx context.Context, slug string) (models.Tag, error)

	// MembersPostHTML returns the body of the published members-only post
	// or page id (a Ghost members-only or paid post), which every other
	// method leaves out (HTML ""): call it only for a signed-in reader.
	// Errors: ENotFound (no such published members-only post); EInternal.
	MembersPostHTML(ctx context.Context, now time.Time, id uuid.UUID) (string, error)

	// AuthorByUsername returns the user with that username as an author,
	// with their biography and avatar.
	// Only people credited with a post that is published by now (the
	// database's clock) are authors: other members' profiles are not made
	// public this way. Errors: ENotFound; EInternal.
	AuthorByUsername(ctx context.Context, username string) (models.Author, error)

	// RecentlyUpdated returns at most limit published posts and pages, the
	// most recently updated first, for the sitemap and the feeds.
	// Errors: EInvalid (limit not from 1 to MaxRecentlyUpdated); EInternal.
	RecentlyUpdated(ctx context.Context, now time.Time, limit int) ([]models.Post, error)
}
