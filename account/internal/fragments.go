package internal

import (
	"context"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
)

// fragmentRenderers are the fragments the account service serves.
func fragmentRenderers() map[string]fragments.Renderer {
	return map[string]fragments.Renderer{
		fragments.AccountNav: func(_ context.Context, viewer *models.User) (templ.Component, error) {
			return AccountNavFragment(viewer), nil
		},
	}
}
