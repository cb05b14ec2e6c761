package contracts

import (
	"context"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
)

// PostEditor is what the blog's admin area does to posts and pages. Only
// handlers behind the admin role call it.
type PostEditor interface {
	// AdminPosts lists posts and pages of every status, most recently
	// updated first. typ is "post", "page" or "" (both); status is "draft",
	// "published", "scheduled" or "" (all). Errors: EInvalid, EInternal.
	AdminPosts(ctx context.Context, now time.Time, typ, status string, limit int) ([]models.EditablePost, error)
	// PostForEdit returns one post or page, drafts included. Errors:
	// ENotFound, EInternal.
	PostForEdit(ctx context.Context, id uuid.UUID) (models.EditablePost, error)
	// CreatePost saves a new post credited to in.AuthorID, or to authorID
	// (the admin creating it) when that is uuid.Nil (input normalized with
	// models.NormalizePostInput; its HTML already sanitized). Errors:
	// EInvalid (also for an author who is not one of AuthorEditor.Authors),
	// EConflict (slug taken), EInternal.
	CreatePost(ctx context.Context, authorID uuid.UUID, in models.PostInput) (uuid.UUID, error)
	// UpdatePost saves a post if nobody saved it since in.Version was read
	// and returns its new version; a non-nil in.AuthorID credits it to that
	// author. Errors: EConflict (changed elsewhere, or slug taken),
	// ENotFound, EInvalid (also for an author who is not one of
	// AuthorEditor.Authors), EInternal.
	UpdatePost(ctx context.Context, id uuid.UUID, in models.PostInput) (int, error)
	// DeletePost deletes a post or page. Errors: ENotFound, EInternal.
	DeletePost(ctx context.Context, id uuid.UUID) error
}

// TagCount is a tag with the number of posts and pages carrying it.
type TagCount struct {
	Tag   models.Tag
	Posts int
}

// TagEditor manages tags; only the blog's admin area calls it.
type TagEditor interface {
	// TagsWithCounts lists every tag by name. Errors: EInternal.
	TagsWithCounts(ctx context.Context) ([]TagCount, error)
	// UpdateTag renames a tag and sets its description (its slug stays).
	// Errors: EInvalid, ENotFound, EInternal.
	UpdateTag(ctx context.Context, slug, name, description string) error
	// DeleteTag deletes a tag; posts keep their other tags. Errors:
	// ENotFound, EInternal.
	DeleteTag(ctx context.Context, slug string) error
}

// AuthorSummary is a person who may be credited with posts, as the admin
// area lists them.
type AuthorSummary struct {
	Author models.Author // Bio and AvatarURL included
	// DisplayName is the name as stored ("" while the user has chosen none;
	// Author.Name then falls back to the username).
	DisplayName string
	IsAdmin     bool
	// FromGhost: the user is linked to a Ghost author (posts synced from
	// Ghost are credited to them); GhostOnly: the sync created the user
	// for that author, so nobody signs in as them.
	FromGhost, GhostOnly bool
	// Posts counts the posts and pages credited to them, Published those
	// readers can see now.
	Posts, Published int
}

// AuthorEditor manages authors; only the blog's admin area calls it.
type AuthorEditor interface {
	// Authors lists the people who may be credited with posts: everyone
	// credited with a post or page, every admin, and every user linked to
	// a Ghost author, by name. Errors: EInternal.
	Authors(ctx context.Context) ([]AuthorSummary, error)
	// UpdateAuthor sets an author's display name (models.ValidateDisplayName)
	// and biography (models.NormalizeBio). Errors: EInvalid, ENotFound (not
	// one of Authors), EInternal.
	UpdateAuthor(ctx context.Context, id uuid.UUID, displayName, bio string) error
}
