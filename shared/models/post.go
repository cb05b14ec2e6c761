package models

import (
	"regexp"
	"time"

	"github.com/google/uuid"
)

// Tag groups posts; its slug is its address (/tag/<slug>).
type Tag struct {
	Slug, Name, Description string
}

// Author is the person a post is credited to, as readers see them: never
// their email. Username is empty while they have not chosen one; Name is
// their display name, else their username. Bio and AvatarURL are filled
// where a page shows them (the author's page), empty elsewhere.
type Author struct {
	ID        uuid.UUID
	Username  string
	Name      string
	Bio       string
	AvatarURL string // an http(s) URL or a path on the blog; "" for none
}

// Post is a blog post or a page (Type "post" or "page") as readers see it.
// HTML is already sanitized. PublishedAt is in UTC (zero for a draft).
type Post struct {
	ID           uuid.UUID
	Type         string // "post" or "page"
	Slug         string
	Title        string
	Excerpt      string
	HTML         string
	FeatureImage string
	// FeatureImageAlt is the feature image's alt text; FeatureImageCaption
	// its caption, sanitized HTML (both from Ghost; empty otherwise).
	FeatureImageAlt     string
	FeatureImageCaption string
	// MembersOnly posts are read in full by signed-in members only: HTML
	// is empty wherever the post is read for anyone (see
	// posts.Store.MembersPostHTML).
	MembersOnly bool
	Status      string // "draft" or "published"
	PublishedAt time.Time
	UpdatedAt   time.Time
	Author      *Author // nil when none
	Tags        []Tag   // in the author's order; the first is the primary tag
	// ReadingMinutes is the words of the text (tags stripped) / 265,
	// at least 1.
	ReadingMinutes int
}

// The post types and statuses the database accepts.
const (
	PostTypePost        = "post"
	PostTypePage        = "page"
	PostStatusDraft     = "draft"
	PostStatusPublished = "published"
)

// WordsPerMinute is the reading speed ReadingMinutes assumes.
const WordsPerMinute = 265

// ReadingMinutes returns how long a text of the given number of words takes
// to read: words / WordsPerMinute, at least 1.
func ReadingMinutes(words int) int {
	return max(1, words/WordsPerMinute)
}

var postSlugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// reservedPostSlugs are the blog's own top-level paths: posts and pages
// live at /<slug>, so a post must not take one of these.
var reservedPostSlugs = map[string]bool{
	"admin": true, "api": true, "auth": true, "author": true, "authors": true,
	"feed": true, "healthz": true, "internal": true, "metrics": true, "page": true,
	"readyz": true, "rss": true, "search": true, "sitemap": true, "static": true,
	"tag": true, "tags": true,
}

// ValidatePostSlug returns an EInvalid error unless s is at most 120
// lower-case letters and digits in hyphen-separated groups ("my-first-post")
// and not one of the blog's own paths (admin, auth, author, search, tag...).
func ValidatePostSlug(s string) error {
	if len(s) > 120 || !postSlugRE.MatchString(s) {
		return Errorf(EInvalid, "A slug is up to 120 lower-case letters and digits, in groups joined by hyphens.")
	}
	if reservedPostSlugs[s] {
		return Errorf(EInvalid, "The slug %q is taken by the blog itself; choose another.", s)
	}
	return nil
}
