// Package internal is the market service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/web"
)

// NewServer returns the market service's HTTP handler; every route it serves is
// listed here.
func NewServer(site *web.Site) http.Handler {
	r := site.Router()
	r.Get("/healthz", site.Healthz)
	r.Get("/readyz", site.Readyz)
	r.Handle("/metrics", site.Metrics.Handler())
	r.Handle("/static/*", site.Assets)
	r.Get("/", showHome(site))
	return r
}
