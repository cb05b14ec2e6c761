// Package internal is the market service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/web"
)

// Deps are what the market service's handlers need.
type Deps struct {
	Site *web.Site
	// Auth signs visitors in through federation.
	Auth *oauth.Client
}

// NewServer returns the market service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, nil)

	// Pages: the visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		r.Get("/", showHome(site))
		r.With(site.RequireAdmin).Get("/admin", site.ShowAdminHome)
	})
	return r
}
