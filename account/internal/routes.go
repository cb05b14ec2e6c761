// Package internal is the account service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/ratelimit"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/newsletters"
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
	// Newsletters is the mailing lists' store (nil: no newsletter pages);
	// BounceSecret authenticates the relay's bounce webhook (empty: it
	// refuses every request).
	Newsletters  *newsletters.Store
	BounceSecret string
	// Limiter counts subscribe requests per client address
	// (newsletters.subscribe_per_ip an hour; nil: no limit).
	Limiter *ratelimit.Limiter
	// Campaigns is the newsletter campaigns' admin and public archive
	// (admin_campaigns.go; nil: none).
	Campaigns *Campaigns
}

// NewServer returns the account service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	r := site.Router()

	// Machine routes: no session.
	renderers := fragmentRenderers(site, d.Bookings, identity.New(d.DB))
	if nl := d.Newsletters; nl != nil {
		renderers[fragments.Newsletter] = newsletterFragment(site, nl)
		// RFC 8058 one-click unsubscribe, posted by mail providers' servers
		// (also the unsubscribe page's button), and the relay's bounces.
		r.Post("/newsletters/unsubscribe", unsubscribeNewsletter(site, nl))
		r.Post("/newsletters/webhooks/bounces", receiveBounces(site, nl, d.BounceSecret))
	}
	site.MountPlatform(r, renderers)
	if d.Media != nil {
		r.Handle("/media/*", media.Handler(d.Media))
	}

	// Pages: the visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		ids := identity.New(d.DB)
		r.With(loadSecurity(site, d.Auth, ids), loadNewsletters(site, d.Newsletters)).Get("/", showHome(site, d.Carts, d.Orders, d.Bookings, d.DB))
		r.With(withNewsletterStore(d.Newsletters)).Get("/export.json", exportData(site, d.Carts, d.Orders, d.Bookings, d.DB))
		prof := newProfiles(d)
		r.With(site.RequireUser).Get("/profile", prof.showProfile)
		r.With(site.RequireUser).Post("/profile", prof.saveProfile)
		r.With(site.RequireUser).Post("/profile/avatar", prof.uploadAvatar)
		r.With(site.RequireUser).Post("/profile/email", prof.requestEmailChange)
		r.With(site.RequireUser).Post("/profile/email/cancel", prof.cancelEmailChange)
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
		// Newsletters (newsletters*.go): the lists, their signed links, the dashboard's buttons.
		if nl := d.Newsletters; nl != nil {
			r.Get("/newsletters", showNewsletters(site, nl))
			r.With(limitSubscriptions(site, d.Limiter)).Post("/newsletters/subscribe", subscribeNewsletter(site, nl))
			r.Get("/newsletters/confirm", confirmNewsletter(site, nl))
			r.With(limitSubscriptions(site, d.Limiter)).Post("/newsletters/confirm/resend", resendConfirmation(site, nl))
			r.Get("/newsletters/unsubscribe", showUnsubscribe(site, nl))
			r.Get("/newsletters/preferences", showPreferences(site, nl))
			r.Post("/newsletters/preferences", savePreference(site, nl))
			r.With(site.RequireUser).Post("/newsletters/dashboard", saveDashboardNewsletter(site, nl))
			// Admins: lists, their subscribers, the suppression list (admin_lists*.go).
			mountListAdmin(r, site, nl)
		}
		// Campaigns (admin_campaigns.go): /admin/newsletters/campaigns/... for
		// admins, /newsletters/archive for everyone.
		if c := d.Campaigns; c != nil {
			mountCampaigns(r, site, c)
		}
		r.With(site.RequireAdmin).Get("/admin", showAdmin(site, d.Newsletters != nil, d.Campaigns != nil))
	})
	return r
}
