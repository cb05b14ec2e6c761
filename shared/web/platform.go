package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/fragments"
)

// FragmentServer returns the handler of GET /internal/fragments/{type} for
// this service, serving the given renderers to callers with the internal
// secret.
func (s *Site) FragmentServer(renderers map[string]fragments.Renderer) http.Handler {
	svc := s.Config.Service(s.Service)
	return fragments.NewServer(s.Config.SecretKey, svc.PublicURL, svc.InternalURL, s.Logger, renderers)
}

// MountPlatform adds the machine routes every service has, outside any
// session: /healthz, /readyz, /metrics, /static/* and, when renderers is
// not nil, GET /internal/fragments/{type} serving them (FragmentServer),
// which this service's own pages render in-process (Client.ServeLocally).
func (s *Site) MountPlatform(r chi.Router, renderers map[string]fragments.Renderer) {
	r.Get("/healthz", s.Healthz)
	r.Get("/readyz", s.Readyz)
	r.Handle("/metrics", s.Metrics.Handler())
	r.Handle("/static/*", s.Assets)
	if renderers != nil {
		r.Handle("/internal/fragments/{type}", s.FragmentServer(renderers))
		if s.Fragments != nil {
			s.Fragments.ServeLocally(s.Service, renderers)
		}
	}
}
