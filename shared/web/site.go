// Package web is the platform's HTTP kit: the router and middleware every
// service uses, rendering through the shared layout, error pages from domain
// error codes, static files, health checks and metrics.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/layout"
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

// Title returns the service's name as users see it.
func (s *Site) Title() string { return s.Config.Service(s.Service).Title }

// URL returns the public URL of path on the named service.
func (s *Site) URL(service, path string) string {
	return strings.TrimSuffix(s.Config.Service(service).PublicURL, "/") + path
}
