// Package internal is the cart service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/web"
)

// Deps are what the cart service's handlers need.
type Deps struct {
	Site *web.Site
	// Auth signs visitors in through federation.
	Auth  *oauth.Client
	Carts contracts.Carts
	// Catalogue gives the price, title and stock of the variant a
	// shopper adds.
	Catalogue Catalogue
}

// NewServer returns the cart service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, fragmentRenderers(d.Carts, site.URL("cart", "")))

	// Pages: the visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		r.Get("/", showHome(site, d.Carts))
		// A visitor's add is confirmed here after signing in.
		r.Post("/items", addItem(site, d.Carts, d.Catalogue))
		r.With(site.RequireUser).Get("/items", confirmItem(site, d.Catalogue))
		r.With(site.RequireAdmin).Get("/admin", site.ShowAdminHome)
	})
	return r
}
