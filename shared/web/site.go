// Package web is the platform's HTTP kit: the router and middleware every
// service uses, rendering through the shared layout, error pages from domain
// error codes, static files, health checks and metrics.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/logging"
	"rose-ash.com/platform/shared/models"
)

// Check is one dependency /readyz verifies.
type Check struct {
	// Name is what the readiness report calls it ("postgres").
	Name string
	// Ping returns nil when the dependency answers.
	Ping func(context.Context) error
}

// Site is one service's web identity and kit: its name, the platform config,
// its logger, static files, metrics and readiness checks. Handlers get it as
// an argument.
type Site struct {
	Service string
	Config  *config.Config
	Logger  *slog.Logger
	Assets  *Assets
	Metrics *Metrics
	Checks  []Check
	// Fragments fetches other services' fragments for the page header (nil:
	// pages are rendered without them).
	Fragments   *fragments.Client
	navOnce     sync.Once
	nav, others []layout.Link

	// SignInPath is where "Sign in" goes (e.g. /auth/login); empty hides
	// the header's account controls. Sign-out posts to /auth/logout.
	SignInPath string

	// Mounts add routes every router of this service has, after the
	// middleware and before the service's own routes (the ActivityPub
	// endpoints, which every service serves).
	Mounts []func(chi.Router)

	// SavedPage, when set, answers a GET that failed because the database
	// is away with a saved copy of the page (the page cache's ServeSaved)
	// and reports whether it did; Error consults it before the 503 page.
	SavedPage func(w http.ResponseWriter, r *http.Request) bool
	outage    outageLog
}

type viewerKey struct{}

// WithViewer returns a context carrying the signed-in user.
func WithViewer(ctx context.Context, u models.User) context.Context {
	return context.WithValue(ctx, viewerKey{}, u)
}

// Viewer returns the signed-in user of the request's context, if any.
func Viewer(ctx context.Context) (models.User, bool) {
	u, ok := ctx.Value(viewerKey{}).(models.User)
	return u, ok
}

// SignInUnavailableNotice is the notice on pages served as a visitor's to a
// browser whose sign-in cannot be checked for the moment.
const SignInUnavailableNotice = "Signing in is unavailable for a moment: you are seeing the site as a visitor. Your sign-in is kept; reload in a little while."

type signInUnavailableKey struct{}

// WithSignInUnavailable marks a request whose browser has a sign-in that
// cannot be checked just now (PostgreSQL or Redis unreachable): it is served
// as a visitor's, with a notice, while the session is kept for when the
// check works again.
func WithSignInUnavailable(ctx context.Context) context.Context {
	return context.WithValue(ctx, signInUnavailableKey{}, true)
}

// SignInUnavailable reports whether WithSignInUnavailable marked ctx.
func SignInUnavailable(ctx context.Context) bool {
	v, _ := ctx.Value(signInUnavailableKey{}).(bool)
	return v
}

// signInRetryAfter is the Retry-After of pages that need a sign-in that
// cannot be checked for the moment.
const signInRetryAfter = "5"

// RequireUser sends visitors who are not signed in to sign in, coming back
// to the page they asked for. A browser whose sign-in cannot be checked for
// the moment gets 503 with Retry-After instead: sending it to sign in again
// would not help, and its session is still there.
func (s *Site) RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := Viewer(r.Context()); !ok {
			if SignInUnavailable(r.Context()) {
				w.Header().Set("Retry-After", signInRetryAfter)
				s.Error(w, r, models.Errorf(models.EUnavailable,
					"Signing in is unavailable for a moment, so this page cannot be shown. Please try again shortly."))
				return
			}
			http.Redirect(w, r, s.signInURL(r), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireAdmin lets only admins through: visitors who are not signed in are
// sent to sign in, other users get 403.
func (s *Site) RequireAdmin(next http.Handler) http.Handler {
	return s.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := Viewer(r.Context()); !u.IsAdmin {
			s.Error(w, r, models.Errorf(models.EForbidden, "This page is for administrators."))
			return
		}
		next.ServeHTTP(w, r)
	}))
}

func (s *Site) signInURL(r *http.Request) string {
	if s.SignInPath == "" {
		return "/"
	}
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = "/"
	}
	return s.SignInPath + "?next=" + url.QueryEscape(next)
}

// Router returns a chi router with the platform's middleware in order:
// request id, real client address (from trusted proxies only), access log,
// panic recovery, security headers, metrics, cross-origin form protection
// and the request timeout; plus the platform's 404 and 405 pages.
func (s *Site) Router() chi.Router {
	trusted := s.Config.TrustedProxyPrefixes()
	r := chi.NewRouter()
	r.Use(RealIP(trusted), RequestID(trusted), AccessLog(s.Logger), s.Recover,
		SecurityHeaders(s.Config.Production()), s.Metrics.Middleware,
		http.NewCrossOriginProtection().Handler,
		middleware.Timeout(s.Config.HTTP.RequestTimeout.Std()))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, models.Errorf(models.ENotFound, "There is nothing at %s.", r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, &models.Error{Code: errMethod, Message: "That method is not allowed here."})
	})
	for _, mount := range s.Mounts {
		mount(r)
	}
	return r
}

// errMethod is the web layer's own code for 405; domain code never uses it.
const errMethod models.ErrorCode = "method_not_allowed"

// Title returns the service's name as users see it.
func (s *Site) Title() string { return s.Config.Service(s.Service).Title }

// URL returns the public URL of path on the named service.
func (s *Site) URL(service, path string) string {
	return strings.TrimSuffix(s.Config.Service(service).PublicURL, "/") + path
}

// Nav returns the six services as navigation links, this one marked current.
// The slice is built once and shared: callers must not modify it.
func (s *Site) Nav() []layout.Link {
	s.buildNav()
	return s.nav
}

// OtherServices returns navigation links to the five other services (shared,
// like Nav's).
func (s *Site) OtherServices() []layout.Link {
	s.buildNav()
	return s.others
}

func (s *Site) buildNav() {
	s.navOnce.Do(func() {
		for _, name := range config.Services {
			l := layout.Link{Name: name, Title: s.Config.Service(name).Title,
				URL: s.URL(name, "/"), Current: name == s.Service}
			s.nav = append(s.nav, l)
			if !l.Current {
				s.others = append(s.others, l)
			}
		}
	})
}

// HeaderFragments are the fragments every page's header shows.
var HeaderFragments = []fragments.Request{
	{Service: "blog", Type: "nav-tree"},
	{Service: "account", Type: "account-nav", PerUser: true},
	{Service: "cart", Type: "cart-mini", PerUser: true},
	{Service: "federation", Type: "notifications", PerUser: true},
}

// NotificationsChanged drops a user's cached notifications badge, so that
// the next page anywhere shows the new count. A failure is only logged
// (the cached badge expires with the fragment TTL).
func (s *Site) NotificationsChanged(ctx context.Context, userID uuid.UUID) {
	if s.Fragments == nil {
		return
	}
	if err := s.Fragments.Invalidate(ctx, "federation", "notifications", true, &userID); err != nil {
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

// PageWith is Page that also fetches extra fragments for the page body, in
// the same round trip as the header's; it returns them in order (nil for
// any that could not be had in time).
func (s *Site) PageWith(r *http.Request, title string, extra ...fragments.Request) (layout.Page, []templ.Component) {
	p := s.basePage(r, title)
	if s.Fragments == nil {
		return p, make([]templ.Component, len(extra))
	}
	var viewer *models.User
	if u, ok := Viewer(r.Context()); ok {
		viewer = &u
	}
	got := s.Fragments.Fetch(r.Context(), viewer, append(append([]fragments.Request(nil), HeaderFragments...), extra...))
	p.SiteMenu, p.AccountMenu, p.CartMini, p.Notifications = got[0], got[1], got[2], got[3]
	return p, got[len(HeaderFragments):]
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

// Render writes c as an HTML page with the given status. The component is
// rendered into a buffer first, so a failure yields a clean error page
// rather than half a page.
func (s *Site) Render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		if r.Context().Err() != nil {
			return // the client went away or the request timed out
		}
		s.Error(w, r, models.Wrap(models.EInternal, "", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Status returns the HTTP status for a domain error code.
func Status(code models.ErrorCode) int {
	switch code {
	case models.ENotFound:
		return http.StatusNotFound
	case models.EInvalid:
		return http.StatusUnprocessableEntity
	case models.EConflict:
		return http.StatusConflict
	case models.EForbidden:
		return http.StatusForbidden
	case models.EUnauthenticated:
		return http.StatusUnauthorized
	case models.EUnavailable:
		return http.StatusServiceUnavailable
	case errMethod:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// Error answers a request with the page (or, for clients asking for JSON, the
// RFC 9457 problem document) for err's domain code. Only internal errors are
// logged, with their cause; users see the code's safe message and the
// request id to quote. An error caused by a database that cannot be reached
// (postgres.Unavailable) is not internal: a GET of a page is answered with
// its saved copy when SavedPage has one, anything else with 503 and
// Retry-After; such failures are logged as a warning at most every ten
// seconds. Every 503 carries Retry-After (a handler may set its own first).
func (s *Site) Error(w http.ResponseWriter, r *http.Request, err error) {
	err, dbAway := databaseAway(err)
	if dbAway && s.serveSaved(w, r) {
		s.outage.log(r.Context(), s, r, err, "saved copy")
		return
	}
	code := models.Code(err)
	status := Status(code)
	msg := models.Message(err)
	reqID := logging.RequestID(r.Context())
	switch {
	case dbAway:
		s.outage.log(r.Context(), s, r, err, strconv.Itoa(status))
	case status >= 500:
		s.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		retry := "5"
		if dbAway {
			retry = databaseRetryAfter
		}
		w.Header().Set("Retry-After", retry)
	}
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"type": "about:blank", "title": http.StatusText(status), "status": status,
			"detail": msg, "code": code, "request_id": reqID,
		})
		return
	}
	var buf bytes.Buffer
	if err := layout.ErrorPage(s.Page(r, http.StatusText(status)), status, http.StatusText(status), msg, reqID).Render(r.Context(), &buf); err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") || strings.Contains(accept, "application/problem+json") ||
		strings.Contains(accept, "application/activity+json") || strings.Contains(accept, "application/ld+json")
}

// Healthz answers 200 while the process is alive; it checks nothing else.
func (s *Site) Healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// ReadyTimeout bounds each of Readyz's checks. A dependency that takes
// longer to answer a ping is reported unreachable: one that stopped
// answering altogether (a black hole) is then reported within this, and a
// healthy PostgreSQL or Redis answers a ping in milliseconds.
const ReadyTimeout = time.Second

// Readyz checks every dependency at once, each within ReadyTimeout, and
// answers 200 when all answer or 503 naming those that do not. Details of a
// failure go to the log, not to the (possibly public) response.
func (s *Site) Readyz(w http.ResponseWriter, r *http.Request) {
	results := make([]error, len(s.Checks))
	var wg sync.WaitGroup
	for i, c := range s.Checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
			defer cancel()
			results[i] = c.Ping(ctx)
		})
	}
	wg.Wait()
	status := http.StatusOK
	var body strings.Builder
	for i, c := range s.Checks {
		if results[i] != nil {
			status = http.StatusServiceUnavailable
			body.WriteString(c.Name + ": unreachable\n")
			s.Logger.WarnContext(r.Context(), "not ready", "dependency", c.Name, "error", results[i])
		} else {
			body.WriteString(c.Name + ": ok\n")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body.String()))
}

// FragmentServer returns the handler of GET /internal/fragments/{type} for
// this service, serving the given renderers to callers with the internal
// secret.
func (s *Site) FragmentServer(renderers map[string]fragments.Renderer) http.Handler {
	svc := s.Config.Service(s.Service)
	return fragments.NewServer(s.Config.SecretKey, svc.PublicURL, svc.InternalURL, s.Logger, renderers)
}

// ShowAdminHome renders the service's administration landing page. Mount it
// behind RequireAdmin.
func (s *Site) ShowAdminHome(w http.ResponseWriter, r *http.Request) {
	s.Render(w, r, http.StatusOK, layout.AdminHome(s.Page(r, "Administration"), s.URL("federation", "/admin")))
}
