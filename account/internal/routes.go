// Package internal is the account service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/web"
)

// Deps are what the account service's handlers need.
type Deps struct {
	Site *web.Site
	// Auth signs visitors in through federation.
	Auth  *oauth.Client
	Carts contracts.Carts
	// Orders and Bookings are read for the member's dashboard.
	Orders   *orders.Store
	Bookings *bookings.Store
	// DB is read for the orders' items on the dashboard.
	DB *pgxpool.Pool
}

// NewServer returns the account service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, fragmentRenderers(site, d.Bookings))

	// Pages: the visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		r.Get("/", showHome(site, d.Carts, d.Orders, d.Bookings, d.DB))
		r.Get("/export.json", exportData(site, d.Carts, d.Orders, d.Bookings, d.DB))
		r.With(site.RequireAdmin).Get("/admin", site.ShowAdminHome)
	})
	return r
}
