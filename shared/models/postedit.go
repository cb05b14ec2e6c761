package models

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxPostHTML caps a post's body.
const MaxPostHTML = 1 << 20

// PostInput is what an admin submits when saving a post or page.
type PostInput struct {
	Type         string // PostTypePost or PostTypePage
	Slug         string // made from the title when empty
	Title        string
	Excerpt      string
	HTML         string // sanitized by the caller before saving
	Doc          string // the editor's JSON document, stored as is ("" for none)
	FeatureImage string
	Status       string    // PostStatusDraft or PostStatusPublished
	PublishedAt  time.Time // when publishing: zero means now; in the future means scheduled
	Tags         []string  // tag names, in order
	Version      int       // the version the editor started from; 0 for a new post
	// AuthorID is the user credited with the post: uuid.Nil keeps the
	// current author (for a new post: the admin creating it).
	AuthorID uuid.UUID
}

// EditablePost is a post as the admin area shows it, drafts included.
type EditablePost struct {
	ID          uuid.UUID
	Input       PostInput
	PublishedAt *time.Time
	UpdatedAt   time.Time
	AuthorName  string
	// AuthorID is the credited user; uuid.Nil when the post has none.
	AuthorID uuid.UUID
	// FromGhost reports a post imported from Ghost: Ghost's copy wins at
	// the next sync, and the editor keeps neither Ghost's cards nor embeds.
	FromGhost bool
}

// Scheduled reports whether the post is published with a future date.
func (p EditablePost) Scheduled(now time.Time) bool {
	return p.Input.Status == PostStatusPublished && p.PublishedAt != nil && p.PublishedAt.After(now)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify turns a title or tag name into a slug ("Our winter market!" ->
// "our-winter-market"), at most 120 characters.
func Slugify(s string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 120 {
		s = strings.TrimRight(s[:120], "-")
	}
	return s
}

// NormalizePostInput fills the slug from the title, trims fields, and
// returns an EInvalid error naming the first problem.
func NormalizePostInput(in PostInput) (PostInput, error) {
	in.Title = strings.TrimSpace(in.Title)
	in.Excerpt = strings.TrimSpace(in.Excerpt)
	in.FeatureImage = strings.TrimSpace(in.FeatureImage)
	in.Slug = strings.TrimSpace(in.Slug)
	if in.Slug == "" {
		in.Slug = Slugify(in.Title)
	}
	switch {
	case in.Title == "" || utf8.RuneCountInString(in.Title) > 255:
		return in, Errorf(EInvalid, "A title is 1 to 255 characters.")
	case in.Type != PostTypePost && in.Type != PostTypePage:
		return in, Errorf(EInvalid, "Choose whether this is a post or a page.")
	case in.Status != PostStatusDraft && in.Status != PostStatusPublished:
		return in, Errorf(EInvalid, "Choose draft or published.")
	case utf8.RuneCountInString(in.Excerpt) > 500:
		return in, Errorf(EInvalid, "An excerpt is at most 500 characters.")
	case len(in.HTML) > MaxPostHTML:
		return in, Errorf(EInvalid, "The post is too long (at most 1 MB).")
	case in.FeatureImage != "" && !strings.HasPrefix(in.FeatureImage, "https://") &&
		!strings.HasPrefix(in.FeatureImage, "http://") && !strings.HasPrefix(in.FeatureImage, "/"):
		return in, Errorf(EInvalid, "The feature image must be an http(s) address or a path on this site.")
	}
	if err := ValidatePostSlug(in.Slug); err != nil {
		return in, err
	}
	var tags []string
	seen := map[string]bool{}
	for _, t := range in.Tags {
		t = strings.TrimSpace(t)
		if t == "" || seen[Slugify(t)] {
			continue
		}
		if utf8.RuneCountInString(t) > 191 || Slugify(t) == "" {
			return in, Errorf(EInvalid, "%q cannot be a tag.", t)
		}
		seen[Slugify(t)] = true
		tags = append(tags, t)
	}
	in.Tags = tags
	return in, nil
}
