// Package pagecache serves whole public pages from Redis to visitors who
// have no session, so the commonest view of the blog costs one Redis GET.
// Anyone with a session cookie (signed in, or mid-way through signing in)
// always gets a freshly rendered page: their view is never served from, or
// stored into, the shared cache.
package pagecache

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/sessions"
)

// maxPage caps what is cached; larger pages are served but not stored.
const maxPage = 1 << 20

// Cache is one service's page cache.
type Cache struct {
	rdb     *redis.Client
	keys    cache.Namespace
	service string
	version string
	ttl     time.Duration
	results *prometheus.CounterVec
}

// New returns the page cache of service; ttl 0 turns it off. version (the
// static files' version) is part of every key, so pages cached by another
// release, which link other stylesheet URLs, are never served. Its metrics
// are registered on reg.
func New(rdb *redis.Client, keys cache.Namespace, service, version string, ttl time.Duration, reg prometheus.Registerer) *Cache {
	c := &Cache{rdb: rdb, keys: keys, service: service, version: version, ttl: ttl,
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "page_cache_requests_total",
			Help: "Page requests by page-cache result: hit, miss (rendered and stored) or bypass (session, method, off).",
		}, []string{"result"})}
	reg.MustRegister(c.results)
	return c
}

// Middleware serves cached pages to visitors without a session and stores
// the 200 HTML pages rendered for them (unless the page sets a cookie).
// Requests asking for JSON (fediverse servers asking for a post as an
// ActivityStreams document) are never answered from it.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.ttl <= 0 || (r.Method != http.MethodGet && r.Method != http.MethodHead) || hasSession(r) ||
			strings.Contains(r.Header.Get("Accept"), "json") {
			c.results.WithLabelValues("bypass").Inc()
			next.ServeHTTP(w, r)
			return
		}
		key := c.keys.Key("page", c.service, c.version, r.URL.RequestURI())
		if b, err := c.rdb.Get(r.Context(), key).Bytes(); err == nil {
			ctype, body, _ := bytes.Cut(b, []byte("\n"))
			c.results.WithLabelValues("hit").Inc()
			w.Header().Set("Content-Type", string(ctype))
			w.Header().Set("X-Cache", "HIT")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
			return
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		c.results.WithLabelValues("miss").Inc()
		ctype := w.Header().Get("Content-Type")
		if rec.status == http.StatusOK && r.Method == http.MethodGet && !rec.overflow &&
			strings.HasPrefix(ctype, "text/html") && w.Header().Get("Set-Cookie") == "" {
			val := append([]byte(ctype+"\n"), rec.body.Bytes()...)
			// Stored after the response: a Redis hiccup costs nothing but the cache.
			_ = c.rdb.Set(context.WithoutCancel(r.Context()), key, val, c.ttl).Err()
		}
	})
}

// Purge drops every cached page of service; call it after a change to
// anything the service's public pages show (content, navigation, events).
func Purge(ctx context.Context, rdb *redis.Client, keys cache.Namespace, service string) error {
	iter := rdb.Scan(ctx, 0, keys.Key("page", service, "*"), 500).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := rdb.Del(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return rdb.Del(ctx, batch...).Err()
	}
	return nil
}

func hasSession(r *http.Request) bool {
	for _, name := range sessions.CookieNames {
		if _, err := r.Cookie(name); err == nil {
			return true
		}
	}
	return false
}

// recorder passes the response through while keeping a copy of the body.
type recorder struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.overflow {
		if r.body.Len()+len(b) > maxPage {
			r.overflow = true
			r.body.Reset()
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Purge drops every cached page of this cache's service.
func (c *Cache) Purge(ctx context.Context) error { return Purge(ctx, c.rdb, c.keys, c.service) }
