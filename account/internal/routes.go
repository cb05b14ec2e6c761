// Package internal is the account service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/web"
)

// NewServer returns the account service's HTTP handler; every route it serves is
// listed here.
func NewServer(site *web.Site, auth *oauth.Client, carts contracts.Carts) http.Handler {
	site.SignInPath = "/auth/login"
	r := site.Router()

	// Machine routes: no session.
	r.Get("/healthz", site.Healthz)
	r.Get("/readyz", site.Readyz)
	r.Handle("/metrics", site.Metrics.Handler())
	r.Handle("/static/*", site.Assets)
	r.Handle("/internal/fragments/{type}", site.FragmentServer(fragmentRenderers()))

	// Pages: the visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware)
		r.Get("/", showHome(site, carts))
		r.Get("/auth/login", auth.Login)
		r.Get("/auth/callback", auth.Callback)
		r.Post("/auth/logout", auth.Logout)
		r.With(site.RequireAdmin).Get("/admin", site.ShowAdminHome)
	})
	return r
}
