package ghostsync

import (
	"context"
	"strings"
	"unicode/utf8"

	"rose-ash.com/platform/shared/models"
)

// MoreLabel is the top-level item Ghost's secondary navigation is placed
// under: the blog has one two-level navigation, Ghost two flat ones.
const MoreLabel = "More"

// importNav replaces the blog's navigation with Ghost's: its navigation
// at the top level, its secondary navigation under MoreLabel. Links to
// the Ghost site become paths on the blog (its posts are imported at the
// same slugs). A Ghost site with no navigation at all leaves the blog's
// alone.
func (s *syncer) importNav(ctx context.Context, c *Client) error {
	set, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	items := s.navItems(set.Navigation)
	// "More" leads to the first of its links that no top-level item has
	// (a level holds each link once).
	top := map[string]bool{}
	for _, it := range items {
		top[it.URL] = true
	}
	for _, ch := range s.navItems(set.SecondaryNavigation) {
		if !top[ch.URL] {
			items = append(items, models.NavItem{Label: MoreLabel, URL: ch.URL, Children: s.navItems(set.SecondaryNavigation)})
			break
		}
	}
	if len(items) == 0 {
		return nil
	}
	changed, err := s.opts.Nav.ReplaceNav(ctx, items)
	s.sum.Nav = changed
	return err
}

// navItems maps Ghost links onto nav items, leaving out those the
// navigation refuses (an empty label, a javascript: or relative URL) and
// repeats, and capping each level as the navigation does.
func (s *syncer) navItems(links []NavLink) []models.NavItem {
	var items []models.NavItem
	seen := map[string]bool{}
	for _, l := range links {
		it := models.NavItem{Label: strings.TrimSpace(l.Label), URL: s.localURL(strings.TrimSpace(l.URL))}
		if utf8.RuneCountInString(it.Label) > 60 {
			it.Label = string([]rune(it.Label)[:60])
		}
		if models.ValidateNavItem(it) != nil || seen[it.URL] || len(items) == 30 {
			continue
		}
		seen[it.URL] = true
		items = append(items, it)
	}
	return items
}

// localURL makes a link to the Ghost site ("https://ghost.example/about/"
// or "/about/") a path on the blog ("/about"); other links are kept.
func (s *syncer) localURL(u string) string {
	base := s.clean.base
	switch {
	case base != "" && (u == base || strings.HasPrefix(u, base+"/")):
		u = strings.TrimPrefix(u, base)
	case strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"):
	default:
		return u
	}
	path, rest := u, ""
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		path, rest = u[:i], u[i:]
	}
	if path = strings.TrimRight(path, "/"); path == "" {
		path = "/"
	}
	return path + rest
}
