package navigation

import (
	"context"
	"reflect"

	"rose-ash.com/platform/shared/models"
)

// ReplaceNav replaces the navigation with items (as SaveNav does) unless
// it already is items, and reports whether it changed: the Ghost sync
// imports Ghost's navigation on every run, and an unchanged one must not
// purge every cached page. Errors: EInvalid (items break SaveNav's rules),
// EInternal.
func (s *Store) ReplaceNav(ctx context.Context, items []models.NavItem) (bool, error) {
	cur, err := s.NavTree(ctx)
	if err != nil {
		return false, err
	}
	if sameNav(cur, items) {
		return false, nil
	}
	if err := s.SaveNav(ctx, items); err != nil {
		return false, err
	}
	return true, nil
}

// sameNav compares two trees by their labels and URLs, in order.
func sameNav(a, b []models.NavItem) bool {
	type link struct {
		Label, URL string
		Children   []link
	}
	var strip func([]models.NavItem) []link
	strip = func(items []models.NavItem) []link {
		out := []link{}
		for _, it := range items {
			out = append(out, link{Label: it.Label, URL: it.URL, Children: strip(it.Children)})
		}
		return out
	}
	return reflect.DeepEqual(strip(a), strip(b))
}
