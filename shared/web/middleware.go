package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"rose-ash.com/platform/shared/logging"
	"rose-ash.com/platform/shared/models"
)

// RequestID gives every request an id: the X-Request-Id a trusted proxy
// sent when it is well formed, a new random one otherwise. The id goes into
// the request's context (and so onto every log line) and back to the client.
func RequestID(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-Id")
			if !validRequestID(id) || !fromTrusted(r.RemoteAddr, trusted) {
				id = newRequestID()
			}
			w.Header().Set("X-Request-Id", id)
			next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
		})
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RealIP replaces r.RemoteAddr with the client's address taken from
// X-Forwarded-For, but only when the connection comes from a trusted proxy:
// it walks the header from the right, skipping trusted hops, and takes the
// first untrusted address. Anyone else cannot spoof their address.
func RealIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fromTrusted(r.RemoteAddr, trusted) {
				if ip, ok := clientFromForwarded(r.Header.Values("X-Forwarded-For"), trusted); ok {
					r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func clientFromForwarded(values []string, trusted []netip.Prefix) (netip.Addr, bool) {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: believe nothing left of it
		}
		last = ip.Unmap()
		if !inPrefixes(last, trusted) {
			return last, true
		}
	}
	return last, last.IsValid()
}

func fromTrusted(remoteAddr string, trusted []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	return inPrefixes(ap.Addr().Unmap(), trusted)
}

func inPrefixes(ip netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Recover turns a panic in a handler into a logged internal error and a 500
// page, instead of a dropped connection.
func (s *Site) Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.Error(w, r, models.Wrap(models.EInternal, "", fmt.Errorf("panic: %v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// SecurityHeaders sets the headers every response carries: a strict
// content security policy (no inline script or style, nothing from other
// origins but images from imageOrigins: the platform's own services, whose
// fragments show their images on each other's pages, such as a product
// card in a blog post), no framing, no MIME sniffing, a conservative
// referrer policy, and HSTS in production.
func SecurityHeaders(production bool, imageOrigins ...string) func(http.Handler) http.Handler {
	img := "'self' data:"
	for _, o := range imageOrigins {
		if !strings.ContainsAny(o, " ;,'\"\r\n") {
			img += " " + o
		}
	}
	csp := "default-src 'self'; img-src " + img + "; style-src 'self'; script-src 'self'; " +
		"object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if production {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// AccessLog writes one log line per request: method, path, route pattern,
// status, bytes, duration and client address. A path holding a {token}
// (a signed media link, say) is logged as its route pattern: tokens are
// not written to logs. Machine routes (health, metrics, fragments) are
// logged at debug level unless they fail.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			route, path := routePattern(r), r.URL.Path
			level := slog.LevelInfo
			if machineRoutes[route] {
				// Other services' fragment fetches (several per page view)
				// and health probes: counted in the metrics, logged only
				// when debugging, or when they fail.
				level = slog.LevelDebug
			}
			if ww.Status() >= 500 {
				level = slog.LevelWarn
			}
			if strings.Contains(route, "{token}") {
				path = route
			}
			logger.Log(r.Context(), level, "request",
				"method", r.Method, "path", path, "route", route,
				"status", statusOf(ww), "bytes", ww.BytesWritten(),
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr)
		})
	}
}

// machineRoutes are the routes machines call many times a second: logged
// at debug level unless they fail.
var machineRoutes = map[string]bool{
	"/healthz": true, "/readyz": true, "/metrics": true, "/internal/fragments/{type}": true,
}

func statusOf(ww middleware.WrapResponseWriter) int {
	if ww.Status() == 0 {
		return http.StatusOK
	}
	return ww.Status()
}
