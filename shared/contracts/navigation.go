package contracts

import (
	"context"

	"rose-ash.com/platform/shared/models"
)

// Navigation is the site navigation the blog owns, read by the blog's
// nav-tree fragment (and so, through it, by every service's header).
type Navigation interface {
	// NavTree returns the top-level navigation items, each with its
	// Children, every level ordered by position (then label). No items is
	// an empty slice, not an error. Anyone may call it: the navigation is
	// public. Errors: EInternal on database failure.
	NavTree(ctx context.Context) ([]models.NavItem, error)
}
