// Package internal is the market service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// ProductServer answers a fediverse server asking for a product's
// ActivityPub object.
type ProductServer func(w http.ResponseWriter, r *http.Request, productID uuid.UUID)

// Deps are what the market service's handlers need.
type Deps struct {
	Site *web.Site
	// Auth signs visitors in through federation.
	Auth *oauth.Client
	// Products is the catalogue: shoppers read it, admins change it.
	Products *products.Store
	// Pages is the page cache of anonymous views.
	Pages *pagecache.Cache
	// Media stores product and market images (uploaded or imported).
	Media media.Store
	// Objects serves a product's ActivityPub object; nil when the market
	// does not federate.
	Objects ProductServer
	// Imports runs imports from supplier pages and applies approved ones;
	// nil when importing is not set up (the sources and review pages then
	// show, but cannot run or approve).
	Imports *products.Imports
}

// NewServer returns the market service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site, pages := d.Site, d.Pages
	site.SavedPage = pages.ServeSaved
	sh := newShop(d)
	ad := newCatalogueAdmin(d)
	im := newImportAdmin(d)
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, fragmentRenderers(d.Products, site))
	r.Handle("/media/*", media.Handler(d.Media))
	r.Get("/objects/products/{id}", sh.productObject)

	// Shop pages: anonymous views come from the page cache before any
	// session work.
	r.Group(func(r chi.Router) {
		r.Use(pages.Middleware, d.Auth.Middleware)
		r.Get("/", sh.home)
		r.Get("/markets/{slug}", sh.market)
		r.Get("/products", sh.products)
		r.Get("/categories/{slug}", sh.category)
		r.Get("/products/{slug}", sh.product)
		r.Get("/search", sh.search)
	})

	// Sign-in and administration: the visitor's session.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		r.Route("/admin", func(r chi.Router) {
			r.Use(site.RequireAdmin)
			// The catalogue.
			r.Get("/", ad.listProducts)
			r.Get("/products", ad.listProducts)
			r.Post("/products/bulk", ad.bulk)
			r.Get("/products/new", ad.newProduct)
			r.Post("/products", ad.createProduct)
			r.Get("/products/{id}", ad.editProduct)
			r.Post("/products/{id}", ad.saveProduct)
			r.Post("/products/{id}/delete", ad.deleteProduct)
			r.Get("/markets", ad.listMarkets)
			r.Get("/markets/new", ad.newMarket)
			r.Post("/markets", ad.createMarket)
			r.Get("/markets/{id}", ad.editMarket)
			r.Post("/markets/{id}", ad.saveMarket)
			r.Post("/markets/{id}/delete", ad.deleteMarket)
			r.Get("/categories", ad.listCategories)
			r.Post("/categories", ad.createCategory)
			r.Post("/categories/{id}", ad.saveCategory)
			r.Post("/categories/{id}/delete", ad.deleteCategory)
			r.Post("/media", ad.uploadMedia)
			// Imports from supplier pages and their review queue.
			r.Get("/sources", im.listSources)
			r.Post("/sources", im.addSource)
			r.Get("/sources/{id}", im.showSource)
			r.Post("/sources/{id}", im.saveSource)
			r.Post("/sources/{id}/run", im.runSource)
			r.Post("/sources/{id}/delete", im.deleteSource)
			r.Get("/review", im.listReview)
			r.Get("/review/{id}", im.showReview)
			r.Post("/review/{id}/approve", im.approve)
			r.Post("/review/{id}/reject", im.reject)
		})
	})
	return r
}
