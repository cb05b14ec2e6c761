package oauth_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// slowGrants answers only when the request's context ends, like a database
// that is still working when the client hangs up.
type slowGrants struct{}

func (slowGrants) CheckAccessToken(ctx context.Context, _ string) (models.User, error) {
	<-ctx.Done()
	return models.User{}, ctx.Err()
}

func (slowGrants) SignOut(context.Context, string) error { return nil }

// newTestClient returns the sign-in client of service, with its session
// manager on the test Redis under a fresh namespace, checking grants with
// slowGrants and never caching a check.
func newTestClient(t *testing.T, service string) (*oauth.Client, *scs.SessionManager, *redis.Client, cache.Namespace) {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"CONFIG_FILE": filepath.Join(servicetest.RepoRoot(t), config.DefaultFile),
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("k", 32),
			"AUTH_GRANT_CHECK_CACHE": "0s"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	rdb := servicetest.MustRedis(t)
	keys := cache.Namespace(fmt.Sprintf("oauthtest%d", time.Now().UnixNano()))
	logger := slog.New(slog.DiscardHandler)
	site := &web.Site{Service: service, Config: cfg, Logger: logger}
	sm := sessions.New(rdb, keys, service, false, time.Hour, logger, func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), 500)
	})
	return oauth.NewClient(site, sm, slowGrants{}, http.DefaultClient), sm, rdb, keys
}

// A visitor who hangs up while their session is being checked keeps their
// session: only a real answer about the grant may end it.
func TestHangingUpDoesNotDropTheSession(t *testing.T) {
	client, sm, rdb, keys := newTestClient(t, "blog")

	// A signed-in session, as a callback would leave it.
	var cookie *http.Cookie
	seed := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user_id", uuid.NewString())
		sm.Put(r.Context(), "access_token", "tok")
	}))
	rec := httptest.NewRecorder()
	seed.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie = rec.Result().Cookies()[0]

	h := client.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "page") }))
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
	req.AddCookie(cookie)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	for _, c := range rec.Result().Cookies() {
		if c.Name == cookie.Name && c.MaxAge < 0 {
			t.Fatal("hanging up cleared the session cookie")
		}
	}
	n, err := rdb.Exists(context.Background(), keys.Key("session", "blog")+":"+cookie.Value).Result()
	if err != nil || n != 1 {
		t.Fatalf("session data gone after the client hung up (exists=%d, %v)", n, err)
	}
}

// A session that names a user but holds no grant token (legacy or
// corrupt) is cleared, never trusted: the original system's security fix.
func TestSessionWithUserButNoGrantIsCleared(t *testing.T) {
	client, sm, rdb, keys := newTestClient(t, "cart")

	rec := httptest.NewRecorder()
	sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user_id", uuid.NewString()) // no access_token
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := rec.Result().Cookies()[0]

	var signedIn bool
	h := client.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, signedIn = web.Viewer(r.Context())
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if signedIn {
		t.Fatal("a session without a grant token signed someone in")
	}
	cleared := false
	for _, c := range rec.Result().Cookies() {
		cleared = cleared || (c.Name == cookie.Name && c.MaxAge < 0)
	}
	if !cleared {
		t.Fatal("the session cookie was not cleared")
	}
	if n, _ := rdb.Exists(context.Background(), keys.Key("session", "cart")+":"+cookie.Value).Result(); n != 0 {
		t.Fatal("the session data is still stored")
	}
}
