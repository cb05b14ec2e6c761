package layout

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// SiteName is the platform's name, shown in the header brand and in every
// document title.
const SiteName = "Rose Ash"

// Link is one entry of the site navigation (one per service).
type Link struct {
	// Name is the service key, e.g. "market"; it selects the service's
	// accent colour through a data-service attribute.
	Name string
	// Title is the human-readable label, e.g. "Market".
	Title string
	// URL is the service's public home page.
	URL string
	// Current marks the service the page belongs to; it is rendered with
	// aria-current="page".
	Current bool
}

// Viewer is what the layout shows of the signed-in user.
type Viewer struct {
	// Name is how the user is greeted.
	Name string
	// IsAdmin shows the admin link.
	IsAdmin bool
}

// Page is what every page passes to the base layout.
type Page struct {
	// Title is the page title; the <title> becomes
	// "Title · Rose Ash <ServiceTitle>", or just the site name when empty.
	Title string
	// Service is the current service key, e.g. "blog". It is written to
	// <body data-service> and picks the page's accent colour.
	Service string
	// ServiceTitle is the current service's label, e.g. "Blog".
	ServiceTitle string
	// Nav lists the six services, Current set on this one.
	Nav []Link
	// Stylesheet is the URL of the shared stylesheet (content-hashed; the
	// caller computes it). No stylesheet link is written when empty.
	Stylesheet string
	// Icon is the URL of the site icon (content-hashed, like Stylesheet);
	// no icon link is written when empty.
	Icon string
	// Description is the optional meta description.
	Description string
	// Head is optional extra content appended to <head>, such as a feed
	// <link> or a script a service needs; nil adds nothing.
	Head templ.Component
	// Viewer is the signed-in user, nil when signed out.
	Viewer *Viewer
	// SignInURL, SignOutURL (a form post target) and AdminURL drive the
	// header's account controls; empty ones are not shown.
	SignInURL, SignOutURL, AdminURL string
	// SiteMenu (blog's nav-tree), AccountMenu (account's account-nav),
	// CartMini (cart's cart-mini) and Notifications (federation's unread
	// notifications badge) are fragments from other services shown in every
	// page's header; nil ones are left out (AccountMenu falls back to the
	// local account bar).
	SiteMenu, AccountMenu, CartMini, Notifications templ.Component
	// Header and Footer optionally replace the default site header and
	// footer; nil renders the defaults.
	Header, Footer templ.Component
	// Notice is a short site-wide notice shown above the page's content
	// (for example that signing in is unavailable for a moment); empty
	// shows none.
	Notice string
}

// NoticeMarker is the HTML comment written where a page's notice goes when
// it has none, so that a page kept as HTML (the page cache's saved copies)
// can be given one later: replace the marker with NoticeHTML's result.
const NoticeMarker = "<!--site-notice-->"

// DocumentTitle returns the text of the page's <title> element:
// "Title · Rose Ash Blog", or "Rose Ash Blog" when Title is empty, or
// "Rose Ash" when neither Title nor ServiceTitle is set.
func (p Page) DocumentTitle() string {
	site := SiteName
	if p.ServiceTitle != "" {
		site += " " + p.ServiceTitle
	}
	if p.Title == "" {
		return site
	}
	return p.Title + " · " + site
}

// ServiceSummary returns a one-sentence description of what users do on the
// service with the given key (blog, market, cart, events, federation,
// account), for cards and link lists. It returns "" for an unknown key.
func ServiceSummary(name string) string {
	switch name {
	case "blog":
		return "Read the cooperative's posts and pages."
	case "market":
		return "Browse markets, their stalls and producers, and what they sell."
	case "cart":
		return "Your basket, checkout and orders."
	case "events":
		return "Calendars of what's on, and tickets to book."
	case "federation":
		return "Sign in, and follow and talk with people across the fediverse."
	case "account":
		return "Your orders, tickets, bookings, newsletters and profile."
	}
	return ""
}

// statusLine returns e.g. "Error 404 · Not Found" for the error page.
func statusLine(status int) string {
	line := "Error " + strconv.Itoa(status)
	if text := http.StatusText(status); text != "" {
		line += " · " + text
	}
	return line
}

// errorPageData fills in the parts of an error page the caller left empty.
func errorPageData(p Page, status int, heading string) (Page, string) {
	if heading == "" {
		heading = http.StatusText(status)
	}
	if heading == "" {
		heading = "Something went wrong"
	}
	if p.Title == "" {
		p.Title = heading
	}
	p.Head = errorHead(p.Head)
	return p, heading
}

// homeLabel names the current service's home page for the error page link.
func homeLabel(p Page) string {
	if p.ServiceTitle == "" {
		return "Go to the home page"
	}
	return "Go to the " + p.ServiceTitle + " home page"
}

// NoticeHTML returns the markup SiteNotice renders for text (escaped), to
// put in place of NoticeMarker in a page kept as HTML.
func NoticeHTML(text string) string {
	var b strings.Builder
	_ = SiteNotice(text).Render(context.Background(), &b)
	return b.String()
}

// serviceURL returns the address of path on the service named name, from
// its entry in links (its home page URL, trailing slash dropped), or ""
// when links has no such service.
func serviceURL(links []Link, name, path string) string {
	for _, l := range links {
		if l.Name == name {
			return strings.TrimSuffix(l.URL, "/") + path
		}
	}
	return ""
}
