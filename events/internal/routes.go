// Package internal is the events service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/web"
)

// Deps are what the events service's handlers need.
type Deps struct {
	Site *web.Site
	// Auth signs visitors in through federation.
	Auth   *oauth.Client
	Events *calendars.Store
	// Bookings books seats, issues tickets and checks them in.
	Bookings *bookings.Store
	// Mail sends guests' confirmation links and tickets.
	Mail mail.Sender
	// Sessions is the events service's session (the one Auth loads).
	Sessions *scs.SessionManager
	// Secret signs guests' confirmation and ticket links.
	Secret []byte
	// Pages is the page cache of anonymous views of the calendar pages
	// (nil: none); a change of an event or of its seats purges it.
	Pages *pagecache.Cache
	// Objects serves an event's ActivityStreams object to fediverse
	// servers asking for its page (nil: the service does not federate).
	Objects EventServer
}

// EventServer serves the ActivityStreams object of the event with that id.
type EventServer func(w http.ResponseWriter, r *http.Request, eventID uuid.UUID)

// NewServer returns the events service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, fragmentRenderers(d.Events, site.URL("events", "")))

	pg := &pages{site: site, events: d.Events, now: time.Now, objects: d.Objects}
	admin := newEventsAdmin(d, pg)
	// Calendar pages: anonymous views come from the page cache (when
	// there is one) before any session work.
	r.Group(func(r chi.Router) {
		if d.Pages != nil {
			site.SavedPage = d.Pages.ServeSaved
			r.Use(d.Pages.Middleware)
		}
		r.Use(d.Auth.Middleware)
		r.Get("/", pg.home)
		r.Get("/past", pg.past)
		r.Get("/month/{month}", pg.month)
		// {slug}.ics is the calendar's or the event's iCalendar feed.
		r.Get("/calendars/{slug}", pg.calendar)
		r.Get("/events/{slug}", pg.event)
	})

	// The visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		// Booking, tickets, waitlists and check-in (booking_routes.go).
		mountBookings(r, d)
		r.With(site.RequireAdmin).Get("/admin", site.ShowAdminHome)
		// Calendars and events (admin.go).
		r.Group(func(r chi.Router) {
			r.Use(site.RequireAdmin)
			mountAdmin(r, admin)
		})
	})
	return r
}
