package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"rose-ash.com/platform/shared/models"
)

// Router returns a chi router with the platform's middleware in order:
// request id, real client address (from trusted proxies only), access log,
// panic recovery, security headers, metrics, cross-origin form protection
// (trusting the platform's own services' origins) and the request timeout;
// plus the platform's 404 and 405 pages.
func (s *Site) Router() chi.Router {
	trusted := s.Config.TrustedProxyPrefixes()
	r := chi.NewRouter()
	r.Use(RealIP(trusted), RequestID(trusted), AccessLog(s.Logger), s.Recover,
		SecurityHeaders(s.Config.Production(), s.PlatformOrigins()...), s.Metrics.Middleware,
		s.crossOriginProtection().Handler,
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
