// Package sessions gives each service its own first-party session cookie,
// host-only (no Domain attribute, so sibling subdomains never share it),
// HttpOnly and SameSite=Lax, with the session data in Redis under a
// per-service prefix (a cookie from one service means nothing to another).
package sessions

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/models"
)

// CookieNames are the names a session cookie may have (plain, and with the
// __Host- prefix used over https).
var CookieNames = []string{"roseash_session", "__Host-roseash_session"}

// New returns the session manager of the named service. secure marks the
// cookie Secure (when the public URL is https); lifetime bounds a session.
// onError renders the page shown when a session cannot be saved.
func New(rdb *redis.Client, keys cache.Namespace, service string, secure bool, lifetime time.Duration, logger *slog.Logger,
	onError func(http.ResponseWriter, *http.Request, error)) *scs.SessionManager {
	sm := scs.New()
	sm.Store = failSafeStore{inner: goredisstore.NewWithPrefix(rdb, keys.Key("session", service)+":"), logger: logger}
	sm.Codec = jsonCodec{}
	sm.Lifetime = lifetime
	sm.IdleTimeout = 0
	sm.Cookie.Name = CookieNames[0]
	if secure {
		sm.Cookie.Name = CookieNames[1] // the prefix makes browsers enforce host-only, Secure, Path=/
	}
	sm.Cookie.Domain = ""
	sm.Cookie.Path = "/"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Persist = true
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		onError(w, r, models.Wrap(models.EUnavailable,
			"Your session could not be saved just now. Please try again in a moment.", err))
	}
	return sm
}

// jsonCodec stores session data as JSON: several times cheaper to decode
// than scs's default gob, which matters because every request of a
// signed-in user decodes its session. Values must be strings (all the
// platform stores are).
type jsonCodec struct{}

type jsonSession struct {
	Deadline time.Time         `json:"d"`
	Values   map[string]string `json:"v"`
}

func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	s := jsonSession{Deadline: deadline, Values: make(map[string]string, len(values))}
	for k, v := range values {
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("sessions: value of %q is a %T; only strings are stored", k, v)
		}
		s.Values[k] = str
	}
	return json.Marshal(s)
}

func (jsonCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var s jsonSession
	if err := json.Unmarshal(b, &s); err != nil {
		return time.Time{}, nil, err
	}
	values := make(map[string]any, len(s.Values))
	for k, v := range s.Values {
		values[k] = v
	}
	return s.Deadline, values, nil
}

type unreadableKey struct{}

// LoadAndSave is sm.LoadAndSave, plus: it records whether the browser's
// session could not be read (Redis unreachable), which Unreadable reports.
// Such a session is empty for the request, but the browser keeps its cookie,
// so that once Redis answers again the session (whose grant is checked as on
// every request) is there again. Use it instead of sm.LoadAndSave.
func LoadAndSave(sm *scs.SessionManager) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		inner := sm.LoadAndSave(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), unreadableKey{}, new(bool))))
		})
	}
}

// Unreadable reports whether the request carried a session cookie whose
// session could not be read (the store was unreachable), under LoadAndSave.
func Unreadable(ctx context.Context) bool {
	failed, _ := ctx.Value(unreadableKey{}).(*bool)
	return failed != nil && *failed
}

// failSafeStore makes Redis trouble mean "not signed in for this request",
// never an error page for every visitor: a session that cannot be read is
// empty (and marked, see Unreadable), and one that cannot be deleted (a
// sign-out) is still forgotten by the browser, whose grant is revoked in
// PostgreSQL anyway (scs clears the cookie once Delete returns).
type failSafeStore struct {
	inner  *goredisstore.RedisStore
	logger *slog.Logger
}

func (s failSafeStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s failSafeStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s failSafeStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

func (s failSafeStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	b, ok, err := s.inner.FindCtx(ctx, token)
	if err != nil {
		s.logger.WarnContext(ctx, "session store unreadable; serving the request as a visitor's, session kept", "error", err)
		if failed, _ := ctx.Value(unreadableKey{}).(*bool); failed != nil {
			*failed = true
		}
		return nil, false, nil
	}
	return b, ok, nil
}

func (s failSafeStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.inner.CommitCtx(ctx, token, b, expiry)
}

func (s failSafeStore) DeleteCtx(ctx context.Context, token string) error {
	if err := s.inner.DeleteCtx(ctx, token); err != nil {
		s.logger.WarnContext(ctx, "session store delete failed at sign-out; the cookie is cleared anyway", "error", err)
	}
	return nil
}
