package internal

import (
	"context"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
)

// fragmentRenderers are the fragments the cart serves.
func fragmentRenderers(carts contracts.Carts, cartURL string) map[string]fragments.Renderer {
	return map[string]fragments.Renderer{
		fragments.CartMini: func(ctx context.Context, viewer *models.User) (templ.Component, error) {
			var s models.CartSummary
			if viewer != nil {
				var err error
				if s, err = carts.CartSummary(ctx, viewer.ID); err != nil {
					return nil, err
				}
			}
			return CartMiniFragment(s, cartURL), nil
		},
	}
}
