package web

import (
	"context"
	"net/http"

	"github.com/a-h/templ"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/models"
)

// headerSlot is one fragment of every page's header, by name, and the
// part of the layout it fills.
type headerSlot struct {
	name string
	set  func(*layout.Page, templ.Component)
	// signedIn marks a fragment a visitor's header does not show (the
	// account menu and the notifications badge render nothing for one):
	// it is not fetched for visitors.
	signedIn bool
}

// headerSlots are the fragments every page's header shows.
var headerSlots = []headerSlot{
	{fragments.NavTree, func(p *layout.Page, c templ.Component) { p.SiteMenu = c }, false},
	{fragments.AccountNav, func(p *layout.Page, c templ.Component) { p.AccountMenu = c }, true},
	{fragments.CartMini, func(p *layout.Page, c templ.Component) { p.CartMini = c }, false},
	{fragments.Notifications, func(p *layout.Page, c templ.Component) { p.Notifications = c }, true},
}

// HeaderFragments are the requests of the fragments every page's header
// shows (headerSlots), in the registry's terms.
var HeaderFragments = headerRequests()

func headerRequests() []fragments.Request {
	reqs := make([]fragments.Request, len(headerSlots))
	for i, h := range headerSlots {
		reqs[i] = fragments.Named(h.name)
	}
	return reqs
}

// NotificationsChanged drops a user's cached notifications badge, so that
// the next page anywhere shows the new count. A failure is only logged
// (the cached badge expires with the fragment TTL).
func (s *Site) NotificationsChanged(ctx context.Context, userID uuid.UUID) {
	if s.Fragments == nil {
		return
	}
	if err := s.Fragments.InvalidateNamed(ctx, fragments.Notifications, &userID); err != nil {
		s.Logger.WarnContext(ctx, "notifications badge not invalidated", "error", err)
	}
}

// Page returns the layout settings for a page of this service with the
// given title, showing the request's signed-in user and the shared header
// fragments.
func (s *Site) Page(r *http.Request, title string) layout.Page {
	p, _ := s.PageWith(r, title)
	return p
}

// PageWith is Page that also fetches extra fragments for the page body
// (fragments.Named, fragments.NamedRef), in the same round trip as the
// header's; it returns them in order (nil for any that could not be had in
// time).
func (s *Site) PageWith(r *http.Request, title string, extra ...fragments.Request) (layout.Page, []templ.Component) {
	p := s.basePage(r, title)
	if s.Fragments == nil {
		return p, make([]templ.Component, len(extra))
	}
	var viewer *models.User
	if u, ok := Viewer(r.Context()); ok {
		viewer = &u
	}
	slots := make([]headerSlot, 0, len(headerSlots))
	reqs := make([]fragments.Request, 0, len(headerSlots)+len(extra))
	for i, h := range headerSlots {
		if viewer != nil || !h.signedIn {
			slots = append(slots, h)
			reqs = append(reqs, HeaderFragments[i])
		}
	}
	got := s.Fragments.Fetch(r.Context(), viewer, append(reqs, extra...))
	for i, h := range slots {
		h.set(&p, got[i])
	}
	return p, got[len(slots):]
}

func (s *Site) basePage(r *http.Request, title string) layout.Page {
	p := layout.Page{Title: title, Service: s.Service, ServiceTitle: s.Title(), Nav: s.Nav(),
		Stylesheet: s.Assets.URL("site.css"), Icon: s.Assets.URL("favicon.svg")}
	if s.SignInPath != "" {
		if u, ok := Viewer(r.Context()); ok {
			p.Viewer = &layout.Viewer{Name: u.Name(), IsAdmin: u.IsAdmin}
			p.SignOutURL = "/auth/logout"
			p.AdminURL = "/admin"
		} else if SignInUnavailable(r.Context()) {
			p.Notice = SignInUnavailableNotice
		} else {
			p.SignInURL = s.signInURL(r)
		}
	}
	return p
}
