// Package internal is the events service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/web"
)

// Deps are what the events service's handlers need.
type Deps struct {
	Site *web.Site
	// Auth signs visitors in through federation.
	Auth   *oauth.Client
	Events *calendars.Store
}

// NewServer returns the events service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, fragmentRenderers(d.Events, site.URL("events", "")))

	// Pages: the visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		r.Get("/", showHome(site, d.Events))
		r.With(site.RequireAdmin).Get("/admin", site.ShowAdminHome)
	})
	return r
}
