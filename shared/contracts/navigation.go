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

// NavEditor changes the site navigation; only the blog's admin area calls
// it.
type NavEditor interface {
	// SaveNav replaces the whole navigation with items (two levels: items
	// and their Children), in the order given. Errors: EInvalid (a label or
	// URL models.ValidateNavItem refuses, a third level, too many items, a
	// duplicate link at one level; nothing is written), EInternal.
	SaveNav(ctx context.Context, items []models.NavItem) error
}
