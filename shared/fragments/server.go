package fragments

import (
	"bytes"
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/models"
)

// Renderer renders one fragment type for viewer (nil when signed out).
type Renderer func(ctx context.Context, viewer *models.User) (templ.Component, error)

// Server answers GET /internal/fragments/{type} for one service.
type Server struct {
	secret     string
	publicHost string
	logger     *slog.Logger
	renderers  map[string]Renderer
	now        func() time.Time
}

// NewServer returns a fragment server. A request addressed to the service's
// public host (one that came through the reverse proxy) is refused even with
// the secret, as fragments are for the internal network; when the public and
// internal hosts are the same (some tests) that check is off.
func NewServer(secretKey, publicURL, internalURL string, logger *slog.Logger, renderers map[string]Renderer) *Server {
	host := ""
	pub, err1 := url.Parse(publicURL)
	in, err2 := url.Parse(internalURL)
	if err1 == nil && err2 == nil && !strings.EqualFold(pub.Host, in.Host) {
		host = pub.Host
	}
	return &Server{secret: Secret(secretKey), publicHost: host, logger: logger, renderers: renderers, now: time.Now}
}

// ServeHTTP serves one fragment: 403 without the secret or through the
// public host, 404 for an unknown type or when the renderer says its ref
// is not found (models.ENotFound), 500 (logged) when rendering fails. The
// request's ?ref= reaches the renderer as Ref(ctx).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := r.Header.Get(SecretHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.secret)) != 1 ||
		(s.publicHost != "" && strings.EqualFold(r.Host, s.publicHost)) {
		http.Error(w, "fragments are for Rose Ash services only", http.StatusForbidden)
		return
	}
	render, ok := s.renderers[chi.URLParam(r, "type")]
	if !ok {
		http.Error(w, "no such fragment", http.StatusNotFound)
		return
	}
	var viewer *models.User
	if h := r.Header.Get(UserHeader); h != "" {
		u, err := verifyUser(s.secret, h, s.now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		viewer = &u
	}
	ref := r.URL.Query().Get("ref")
	if len(ref) > MaxRef {
		http.Error(w, "ref too long", http.StatusBadRequest)
		return
	}
	buf, err := renderFragment(r.Context(), render, viewer, ref)
	if models.Code(err) == models.ENotFound {
		http.Error(w, models.Message(err), http.StatusNotFound)
		return
	}
	if err != nil {
		s.logger.ErrorContext(r.Context(), "fragment failed", "type", chi.URLParam(r, "type"), "error", err)
		http.Error(w, "fragment failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// renderFragment renders one fragment for viewer, with ref (if any) in its
// context: what the server answers, and what a service's own pages get
// without a round trip (Client.ServeLocally).
func renderFragment(ctx context.Context, render Renderer, viewer *models.User, ref string) (*bytes.Buffer, error) {
	if ref != "" {
		ctx = context.WithValue(ctx, refKey{}, ref)
	}
	c, err := render(ctx, viewer)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		return nil, err
	}
	return &buf, nil
}
