package internal

import (
	"context"
	"strings"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/navigation"
)

// fragmentRenderers are the fragments the blog serves to other services.
func fragmentRenderers(nav *navigation.Store, blogURL string) map[string]fragments.Renderer {
	return map[string]fragments.Renderer{
		fragments.NavTree: func(ctx context.Context, _ *models.User) (templ.Component, error) {
			items, err := nav.NavTree(ctx)
			if err != nil {
				return nil, err
			}
			return NavTreeFragment(items, blogURL), nil
		},
	}
}

// navHref returns the item's link, absolute on the blog for local paths.
func navHref(it models.NavItem, blogURL string) string {
	if it.External() {
		return it.URL
	}
	return strings.TrimSuffix(blogURL, "/") + it.URL
}
