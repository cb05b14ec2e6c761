package internal

import (
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// fragmentRenderers are the fragments the market serves. (Being written.)
func fragmentRenderers(_ *products.Store, _ *web.Site) map[string]fragments.Renderer {
	return map[string]fragments.Renderer{}
}
