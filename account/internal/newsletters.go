package internal

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/ratelimit"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/web"
)

// newslettersView is the /newsletters page: the public lists, the address
// to fill in (a member's own), the page the forms are on, and the
// sentence of a refused subscription beside its list's form.
type newslettersView struct {
	Lists       []newsletters.List
	Email       string
	Source      string
	ProblemList string
	Problem     string
}

func (v newslettersView) problemFor(slug string) string {
	if slug == v.ProblemList {
		return v.Problem
	}
	return ""
}

// showNewsletters serves GET /newsletters: every public list with a
// subscribe form (private lists are not offered).
func showNewsletters(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		renderNewsletters(w, r, site, store, http.StatusOK, newslettersView{})
	}
}

func renderNewsletters(w http.ResponseWriter, r *http.Request, site *web.Site, store *newsletters.Store, status int, v newslettersView) {
	lists, err := store.PublicLists(r.Context())
	if err != nil {
		site.Error(w, r, err)
		return
	}
	v.Lists = lists
	if v.Email == "" {
		if u, ok := web.Viewer(r.Context()); ok {
			v.Email = u.Email
		}
	}
	if v.Source == "" {
		v.Source = site.URL("account", "/newsletters")
	}
	site.Render(w, r, status, NewslettersPage(site.Page(r, "Newsletters"), v))
}

// subscribeNewsletter serves POST /newsletters/subscribe (list: a public
// list's slug, email, source: the page the form was on; the forms of
// /newsletters and of the blog's newsletter widget post here). A member
// subscribing their own account address is subscribed at once (signing in
// verified it); anyone else gets a confirmation mail on a double opt-in
// list. A refused address re-renders /newsletters with the sentence beside
// the form (422); success says "Check your inbox" or "Subscribed".
func subscribeNewsletter(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			site.Error(w, r, models.Errorf(models.EInvalid, "The form could not be read."))
			return
		}
		list, err := store.ListBySlug(r.Context(), r.PostForm.Get("list"))
		if err == nil && !list.Public {
			err = models.Errorf(models.ENotFound, "There is no such newsletter.")
		}
		if err != nil {
			site.Error(w, r, err)
			return
		}
		email := strings.TrimSpace(r.PostForm.Get("email"))
		c := consentOf(r, sourceOf(site, r))
		req := newsletters.SubscribeRequest{Email: email, ListID: list.ID, Consent: c}
		if u, ok := web.Viewer(r.Context()); ok && strings.EqualFold(email, u.Email) {
			req.UserID, req.Verified = &u.ID, true
		}
		res, err := store.Subscribe(r.Context(), req)
		if code := models.Code(err); code == models.EInvalid || errors.Is(err, newsletters.ErrSuppressed) {
			renderNewsletters(w, r, site, store, http.StatusUnprocessableEntity,
				newslettersView{Email: email, Source: r.PostForm.Get("source"), ProblemList: list.Slug, Problem: models.Message(err)})
			return
		}
		if err != nil {
			site.Error(w, r, err)
			return
		}
		back := "/newsletters"
		if ref := platformPage(site, r.Header.Get("Referer")); ref != "" {
			back = ref
		}
		site.Render(w, r, http.StatusOK, SubscribeResultPage(site.Page(r, "Newsletters"), res, back))
	}
}

// confirmNewsletter serves GET /newsletters/confirm?t=: the double opt-in
// link. Confirmed (or confirmed before): a page saying so. An expired link:
// 410 with a button for a new one; a link that is not valid: 400.
func confirmNewsletter(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("t")
		res, err := store.Confirm(r.Context(), tok, consentOf(r, "confirmation link"))
		if err != nil {
			linkProblem(w, r, site, err, tok)
			return
		}
		site.Render(w, r, http.StatusOK, ConfirmedPage(site.Page(r, "Subscription confirmed"), res))
	}
}

// resendConfirmation serves POST /newsletters/confirm/resend (t: the
// expired confirmation token): a new confirmation mail.
func resendConfirmation(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		res, err := store.ResendConfirmation(r.Context(), r.PostForm.Get("t"), consentOf(r, "expired confirmation link"))
		if err != nil {
			linkProblem(w, r, site, err, "")
			return
		}
		site.Render(w, r, http.StatusOK, SubscribeResultPage(site.Page(r, "Newsletters"), res, "/newsletters"))
	}
}

// linkProblem answers a link that did not work: 410 for an expired
// confirmation (offering a new one when resend is its token), 400 for one
// that is not valid, the domain error's page otherwise.
func linkProblem(w http.ResponseWriter, r *http.Request, site *web.Site, err error, resend string) {
	switch {
	case errors.Is(err, newsletters.ErrLinkExpired):
		site.Render(w, r, http.StatusGone, LinkProblemPage(site.Page(r, "Link expired"), "This link has expired",
			"Confirmation links work for three days, and this one is older. Ask for a new one and open it soon.", resend))
	case errors.Is(err, newsletters.ErrLinkInvalid):
		site.Render(w, r, http.StatusBadRequest, LinkProblemPage(site.Page(r, "Link not valid"), "This link is not valid",
			"The link may have been cut short or changed on its way. Open it again from the email, or copy all of it into your browser.", ""))
	case models.Code(err) == models.ENotFound:
		site.Render(w, r, http.StatusNotFound, LinkProblemPage(site.Page(r, "Newsletters"), "Nothing to do", models.Message(err), ""))
	default:
		site.Error(w, r, err)
	}
}

// showUnsubscribe serves GET /newsletters/unsubscribe?t=: a page with an
// Unsubscribe button (a GET changes nothing: mail scanners follow links).
func showUnsubscribe(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("t")
		res, err := store.UnsubscribePreview(r.Context(), tok)
		if err != nil {
			linkProblem(w, r, site, err, "")
			return
		}
		done := res.Status == newsletters.StatusUnsubscribed
		site.Render(w, r, http.StatusOK, UnsubscribePage(site.Page(r, "Unsubscribe"), res, url.QueryEscape(tok),
			store.Links.PreferencesURL(res.SubscriberID), done))
	}
}

// unsubscribeNewsletter serves POST /newsletters/unsubscribe?t=: the
// page's button, and RFC 8058's one-click unsubscribe, which a mail
// provider's server posts (body List-Unsubscribe=One-Click) with no
// session, cookie or Origin: the subscription ends at once and the answer
// is 200, also when it had ended before or no longer exists. A token that
// is not valid gets 400.
func unsubscribeNewsletter(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		tok := r.URL.Query().Get("t")
		source := "unsubscribe page"
		if r.PostForm.Get("List-Unsubscribe") == "One-Click" {
			source = "one-click"
		}
		res, err := store.Unsubscribe(r.Context(), tok, consentOf(r, source))
		if models.Code(err) == models.ENotFound {
			res = newsletters.LinkResult{}
			err = nil
		}
		if err != nil {
			linkProblem(w, r, site, err, "")
			return
		}
		prefs := ""
		if res.SubscriberID != [16]byte{} {
			prefs = store.Links.PreferencesURL(res.SubscriberID)
		}
		site.Render(w, r, http.StatusOK, UnsubscribePage(site.Page(r, "Unsubscribed"), res, url.QueryEscape(tok), prefs, true))
	}
}

// showPreferences serves GET /newsletters/preferences?t=: every list with
// the subscriber's state and a button each, without signing in.
func showPreferences(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("t")
		prefs, err := store.Preferences(r.Context(), tok)
		if err != nil {
			linkProblem(w, r, site, err, "")
			return
		}
		site.Render(w, r, http.StatusOK, PreferencesPage(site.Page(r, "Your newsletters"), prefs, url.QueryEscape(tok), "", ""))
	}
}

// savePreference serves POST /newsletters/preferences?t= (list: a slug,
// action: subscribe or unsubscribe) and shows the preferences again.
func savePreference(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		tok := r.URL.Query().Get("t")
		list, err := store.ListBySlug(r.Context(), r.PostForm.Get("list"))
		if err != nil {
			site.Error(w, r, err)
			return
		}
		subscribe := r.PostForm.Get("action") == "subscribe"
		prefs, err := store.SetPreference(r.Context(), tok, list.ID, subscribe, consentOf(r, "preferences"))
		status, notice, problem := http.StatusOK, "", ""
		switch {
		case err == nil && subscribe:
			notice = "You now receive " + list.Name + "."
		case err == nil:
			notice = "You no longer receive " + list.Name + "."
		case errors.Is(err, newsletters.ErrSuppressed):
			status, problem = http.StatusUnprocessableEntity, models.Message(err)
			prefs, err = store.Preferences(r.Context(), tok)
		}
		if err != nil {
			linkProblem(w, r, site, err, "")
			return
		}
		site.Render(w, r, status, PreferencesPage(site.Page(r, "Your newsletters"), prefs, url.QueryEscape(tok), notice, problem))
	}
}

// saveDashboardNewsletter serves POST /newsletters/dashboard (list, action:
// subscribe or unsubscribe) for a signed-in member: their account address
// is subscribed at once (consent source "dashboard") or unsubscribed; back
// to the dashboard's Newsletters section.
func saveDashboardNewsletter(site *web.Site, store *newsletters.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := web.Viewer(r.Context())
		if !ok {
			site.Error(w, r, models.Errorf(models.EUnauthenticated, "Sign in to manage your newsletters."))
			return
		}
		_ = r.ParseForm()
		list, err := store.ListBySlug(r.Context(), r.PostForm.Get("list"))
		if err != nil {
			site.Error(w, r, err)
			return
		}
		c := consentOf(r, "dashboard")
		if r.PostForm.Get("action") == "subscribe" {
			_, err = store.SubscribeMember(r.Context(), u.ID, u.Email, list.ID, c)
		} else {
			err = store.UnsubscribeMember(r.Context(), u.ID, u.Email, list.ID, c)
		}
		if err != nil {
			site.Error(w, r, err)
			return
		}
		http.Redirect(w, r, "/#newsletters", http.StatusSeeOther)
	}
}

// consentOf is the consent log's record of r: source, the client's
// address and user agent.
func consentOf(r *http.Request, source string) newsletters.Consent {
	c := newsletters.Consent{Source: source, UserAgent: r.UserAgent()}
	if ip, err := netip.ParseAddr(clientHost(r)); err == nil {
		c.IP = ip
	}
	return c
}

// clientHost is the client's address of r without its port (RemoteAddr,
// which the site's middleware sets from a trusted proxy's header).
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sourceOf is the page a subscribe form was on: the Referer when it is one
// of the platform's pages (a browser may send only its origin to another
// service), else the form's own source field, else /newsletters.
func sourceOf(site *web.Site, r *http.Request) string {
	ref := platformPage(site, r.Header.Get("Referer"))
	field := strings.TrimSpace(r.PostForm.Get("source"))
	if len(field) > 2000 {
		field = field[:2000]
	}
	switch {
	case ref != "" && (len(ref) >= len(field) || field == ""):
		return ref
	case field != "":
		return field
	}
	return site.URL("account", "/newsletters")
}

// platformPage returns u when it is an http(s) URL on one of the
// platform's services, "" otherwise.
func platformPage(site *web.Site, u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	origin := strings.ToLower(p.Scheme + "://" + p.Host)
	for _, o := range site.PlatformOrigins() {
		if strings.EqualFold(o, origin) {
			return u
		}
	}
	return ""
}

// limitSubscriptions refuses a client address's subscribe requests over
// newsletters.subscribe_per_ip an hour with 429 and a sentence: each
// request may mail a confirmation to an address someone typed, so an
// unlimited form would mail-bomb strangers. With Redis away the limiter
// fails closed (503), as sign-in does.
func limitSubscriptions(site *web.Site, limiter *ratelimit.Limiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if limiter == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := limiter.Allow(r.Context(), "newsletter-subscribe:"+clientHost(r), site.Config.Newsletters.SubscribeLimit(), time.Hour)
			var limited *ratelimit.Limited
			switch {
			case errors.As(err, &limited):
				w.Header().Set("Retry-After", strconv.Itoa(int(limited.RetryAfter.Seconds())+1))
				site.Render(w, r, http.StatusTooManyRequests, LinkProblemPage(site.Page(r, "Newsletters"), "Too many requests",
					"Too many subscriptions were asked from your address in the last hour. Please try again later.", ""))
			case err != nil:
				site.Error(w, r, err)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
