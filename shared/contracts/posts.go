package contracts

import (
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

// Paging limits of PostQuery and posts.Store.SearchPosts.
const (
	DefaultPerPage = 10
	MaxPerPage     = 50
	// MaxPage keeps offsets sane; a larger page number is EInvalid.
	MaxPage = 100_000
	// MaxRecentlyUpdated is the largest limit posts.Store.RecentlyUpdated accepts.
	MaxRecentlyUpdated = 1000
	// MaxSearchQuery is the longest search, in bytes, posts.Store.SearchPosts accepts.
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
