package oauth_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// Mount gives a service its sign-in routes and makes its pages send
// visitors to its own login: sign-in goes on to federation, sign-out to
// federation's end-session endpoint.
func TestMountServesTheSignInRoutes(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"CONFIG_FILE": filepath.Join(servicetest.RepoRoot(t), config.DefaultFile),
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("k", 32)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	rdb := servicetest.MustRedis(t)
	keys := cache.Namespace(fmt.Sprintf("oauthmount%d", time.Now().UnixNano()))
	logger := slog.New(slog.DiscardHandler)
	assets, err := web.NewAssets("/static/", fstest.MapFS{"site.css": {Data: []byte("body{}")}, "favicon.svg": {Data: []byte("<svg/>")}})
	if err != nil {
		t.Fatal(err)
	}
	site := &web.Site{Service: "market", Config: cfg, Logger: logger, Assets: assets, Metrics: web.NewMetrics()}
	sm := sessions.New(rdb, keys, "market", false, time.Hour, logger, func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), 500)
	})
	c := oauth.NewClient(site, sm, slowGrants{}, http.DefaultClient)
	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(c.Middleware)
		c.Mount(r)
	})
	if site.SignInPath != oauth.LoginPath {
		t.Errorf("SignInPath %q after Mount, want %q", site.SignInPath, oauth.LoginPath)
	}
	fed := strings.TrimSuffix(cfg.Service("federation").PublicURL, "/")
	for _, tc := range []struct {
		method, path, wantPrefix string
	}{
		{http.MethodGet, oauth.LoginPath + "?next=/basket", fed + "/oauth/authorize?"},
		{http.MethodPost, oauth.LogoutPath, fed + oauth.EndSessionPath},
	} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, tc.wantPrefix) {
			t.Errorf("%s %s: %d to %q, want 303 to %s...", tc.method, tc.path, rec.Code, loc, tc.wantPrefix)
		}
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, oauth.CallbackPath, nil))
	// Without the state sign-in began with, the callback refuses.
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("GET %s without a sign-in under way: %d, want 422", oauth.CallbackPath, rec.Code)
	}
}
