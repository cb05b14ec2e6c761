// Package internal is the account service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/identity"
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
	// Media stores members' uploaded pictures (served at /media/ here);
	// Mail sends the email-change confirmation and notice; EmailMover moves
	// newsletter subscriptions to a changed address (nil: none).
	Media      media.Store
	Mail       mail.Sender
	EmailMover EmailMover
}

// NewServer returns the account service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, fragmentRenderers(site, d.Bookings))
	if d.Media != nil {
		r.Handle("/media/*", media.Handler(d.Media))
	}

	// Pages: the visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		ids := identity.New(d.DB)
		r.With(loadSecurity(site, d.Auth, ids)).Get("/", showHome(site, d.Carts, d.Orders, d.Bookings, d.DB))
		r.Get("/export.json", exportData(site, d.Carts, d.Orders, d.Bookings, d.DB))
		prof := newProfiles(d)
		r.With(site.RequireUser).Get("/profile", prof.showProfile)
		r.With(site.RequireUser).Post("/profile", prof.saveProfile)
		r.With(site.RequireUser).Post("/profile/avatar", prof.uploadAvatar)
		r.With(site.RequireUser).Post("/profile/email", prof.requestEmailChange)
		r.Get("/profile/email/confirm", prof.showEmailChange)
		r.Post("/profile/email/confirm", prof.confirmEmailChange)
		// Security and account deletion (security.go, deletion.go).
		r.With(site.RequireUser).Post("/security/sign-out-everywhere", signOutEverywhere(site, d.Auth, ids))
		r.With(site.RequireUser).Post("/security/sessions/{id}/revoke", revokeSession(site, d.Auth, ids))
		r.Get("/signed-out", showSignedOut(site))
		r.With(site.RequireUser).Get("/delete", showDeleteAccount(site, ids))
		r.With(site.RequireUser).Post("/delete", requestDeletion(site, ids, d.Mail))
		r.With(site.RequireUser).Post("/delete/keep", keepAccount(site, ids))
		r.Get("/delete/undo", showUndoDeletion(site))
		r.Post("/delete/undo", undoDeletion(site, ids))
		r.With(site.RequireAdmin).Get("/admin", site.ShowAdminHome)
	})
	return r
}
