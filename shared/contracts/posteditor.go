package contracts

import (
	"rose-ash.com/platform/shared/models"
)

// TagCount is a tag with the number of posts and pages carrying it.
type TagCount struct {
	Tag   models.Tag
	Posts int
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
