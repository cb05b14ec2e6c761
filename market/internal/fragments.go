package internal

import (
	"context"
	"strings"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// marketWidgetLimit is how many of a market's latest products its widget
// shows.
const marketWidgetLimit = 4

// fragmentRenderers are the fragments the market serves, shown on other
// services' pages (a blog post's container widgets), so their links and
// images are absolute. An unknown ref is a models.ENotFound: the fragment
// answers 404 and the post shows nothing in its place.
func fragmentRenderers(store *products.Store, site *web.Site) map[string]fragments.Renderer {
	base := strings.TrimSuffix(site.URL("market", ""), "/")
	return map[string]fragments.Renderer{
		// product-card (?ref=<product slug>): a published product's card.
		fragments.ProductCard: func(ctx context.Context, _ *models.User) (templ.Component, error) {
			p, err := store.Product(ctx, fragments.Ref(ctx), false)
			if err != nil {
				return nil, err
			}
			return ProductCardFragment(productCard{Product: p, Base: base}), nil
		},
		// market (?ref=<market slug>): the market's name and its latest
		// products.
		fragments.MarketWidget: func(ctx context.Context, _ *models.User) (templ.Component, error) {
			m, err := store.Market(ctx, fragments.Ref(ctx))
			if err != nil {
				return nil, err
			}
			page, err := store.Products(ctx, products.Query{Market: m.Slug, PerPage: marketWidgetLimit, MinPrice: -1, MaxPrice: -1})
			if err != nil {
				return nil, err
			}
			return MarketFragment(m, productCards(page.Products, base), base), nil
		},
	}
}
