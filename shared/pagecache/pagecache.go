// Package pagecache serves whole public pages from Redis to visitors who
// have no session, so the commonest view of the blog costs one Redis GET.
// Anyone with a session cookie (signed in, or mid-way through signing in)
// always gets a freshly rendered page: their view is never served from, or
// stored into, the shared cache.
//
// Besides the page, each anonymous page that rendered in full is kept as a
// saved copy for a day (ServeSaved serves it, with a notice, when the page
// cannot be rendered because PostgreSQL is away), and the pages this
// process rendered are kept in process too, used only while Redis cannot
// answer (see local.go).
package pagecache

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/sessions"
)

// maxPage caps what is cached; larger pages are served but not stored.
const maxPage = 1 << 20

// DegradedTTL is how long a page rendered with a fragment left out (its
// service down or late) is kept, instead of the cache's TTL: long enough
// to spare the blog a render per view during the outage, short enough that
// visitors see the whole page again within seconds of the service's return.
// Such a page never becomes a saved copy.
const DegradedTTL = 2 * time.Second

// SavedTTL is how long the saved copy of a page is kept (Purge drops it
// with the page).
const SavedTTL = 24 * time.Hour

// SavedNotice is the notice a saved copy is served with.
const SavedNotice = "Signing in is unavailable for a moment, and this is a saved copy of the page: it may be a little out of date."

// Cache is one service's page cache.
type Cache struct {
	rdb     *redis.Client
	keys    cache.Namespace
	service string
	version string
	ttl     time.Duration
	local   *local
	results *prometheus.CounterVec
}

// New returns the page cache of service; ttl 0 turns it off (saved copies
// and the in-process copies included). version (the static files' version)
// is part of every key, so pages cached by another release, which link
// other stylesheet URLs, are never served. Its metrics are registered on
// reg.
func New(rdb *redis.Client, keys cache.Namespace, service, version string, ttl time.Duration, reg prometheus.Registerer) *Cache {
	c := &Cache{rdb: rdb, keys: keys, service: service, version: version, ttl: ttl, local: newLocal(localBudget),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "page_cache_requests_total",
			Help: "Page requests by page-cache result: hit, miss (rendered), bypass (session, method, off), " +
				"local (Redis away: served from this process's copy), degraded (rendered with a fragment left out: kept for seconds), " +
				"saved (PostgreSQL away: the saved copy served).",
		}, []string{"result"})}
	reg.MustRegister(c.results)
	return c
}

func (c *Cache) pageKey(r *http.Request) string {
	return c.keys.Key("page", c.service, c.version, r.URL.RequestURI())
}

// savedKey is under the same "page:<service>:" prefix as the pages, so
// Purge drops both.
func (c *Cache) savedKey(r *http.Request) string {
	return c.keys.Key("page", c.service, "saved", c.version, r.URL.RequestURI())
}

// Middleware serves cached pages to visitors without a session and stores
// the 200 HTML pages rendered for them (unless the page sets a cookie or
// says no-store). Requests asking for JSON (fediverse servers asking for a
// post as an ActivityStreams document) are never answered from it. A page
// rendered with a fragment left out is kept only DegradedTTL. While Redis
// cannot answer, pages this process rendered are served from memory for
// the cache's TTL.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.ttl <= 0 || (r.Method != http.MethodGet && r.Method != http.MethodHead) || hasSession(r) ||
			strings.Contains(r.Header.Get("Accept"), "json") {
			c.results.WithLabelValues("bypass").Inc()
			next.ServeHTTP(w, r)
			return
		}
		key := c.pageKey(r)
		b, err := c.rdb.Get(r.Context(), key).Bytes()
		if err == nil {
			ctype, body, _ := bytes.Cut(b, []byte("\n"))
			c.results.WithLabelValues("hit").Inc()
			writePage(w, string(ctype), body, "HIT")
			return
		}
		if !errors.Is(err, redis.Nil) {
			// Redis is away: this process's own copy, while it is fresh.
			if p, ok := c.local.page(key, time.Now()); ok {
				c.results.WithLabelValues("local").Inc()
				writePage(w, p.ctype, p.body, "LOCAL")
				return
			}
		}
		ctx, omitted := fragments.TrackOmissions(r.Context())
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		h := w.Header()
		ctype := h.Get("Content-Type")
		if rec.status != http.StatusOK || r.Method != http.MethodGet || rec.overflow ||
			!strings.HasPrefix(ctype, "text/html") || h.Get("Set-Cookie") != "" ||
			strings.Contains(h.Get("Cache-Control"), "no-store") || strings.Contains(h.Get("Cache-Control"), "private") {
			c.results.WithLabelValues("miss").Inc()
			return
		}
		degraded := omitted() > 0
		ttl := c.ttl
		if degraded {
			ttl = DegradedTTL
			c.results.WithLabelValues("degraded").Inc()
		} else {
			c.results.WithLabelValues("miss").Inc()
		}
		body := bytes.Clone(rec.body.Bytes())
		c.local.put(key, cachedPage{ctype: ctype, body: body}, ttl, !degraded, time.Now())
		val := append([]byte(ctype+"\n"), body...)
		// Stored after the response: a Redis hiccup costs nothing but the cache.
		_, _ = c.rdb.Pipelined(context.WithoutCancel(r.Context()), func(p redis.Pipeliner) error {
			p.Set(context.WithoutCancel(r.Context()), key, val, ttl)
			if !degraded {
				p.Set(context.WithoutCancel(r.Context()), c.savedKey(r), val, SavedTTL)
			}
			return nil
		})
	})
}

// ServeSaved answers r with the saved copy of the anonymous page it asks
// for, with SavedNotice in the page's notice slot, and reports whether it
// did (false: no saved copy, a request that is not a GET or HEAD of a
// page, or the cache is off). It is for a page that cannot be rendered
// because the database is away, and is used whoever asks (a signed-in
// member whose session cannot be checked gets the anonymous copy). The
// copy comes from Redis, or from this process's memory while Redis is
// away too. It is served with Cache-Control no-store, so it is never
// stored as a fresh page.
func (c *Cache) ServeSaved(w http.ResponseWriter, r *http.Request) bool {
	if c.ttl <= 0 || (r.Method != http.MethodGet && r.Method != http.MethodHead) || strings.Contains(r.Header.Get("Accept"), "json") {
		return false
	}
	var p cachedPage
	b, err := c.rdb.Get(r.Context(), c.savedKey(r)).Bytes()
	switch {
	case err == nil:
		ctype, body, _ := bytes.Cut(b, []byte("\n"))
		p = cachedPage{ctype: string(ctype), body: body}
	case errors.Is(err, redis.Nil):
		return false
	default:
		var ok bool
		if p, ok = c.local.saved(c.pageKey(r), time.Now()); !ok {
			return false
		}
	}
	c.results.WithLabelValues("saved").Inc()
	body := bytes.Replace(p.body, []byte(layout.NoticeMarker), []byte(layout.NoticeHTML(SavedNotice)), 1)
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, p.ctype, body, "SAVED")
	return true
}

func writePage(w http.ResponseWriter, ctype string, body []byte, result string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Cache", result)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// Purge drops every cached page of service, with their saved copies; call
// it after a change to anything the service's public pages show (content,
// navigation, events). Copies kept in the memory of the service's
// processes are not reached: they are served only while Redis is away,
// for at most the cache's TTL (see local.go).
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

// Purge drops every cached page of this cache's service, in Redis and in
// this process's memory; it returns Redis's error (the memory is cleared
// regardless).
func (c *Cache) Purge(ctx context.Context) error {
	c.local.clear()
	return Purge(ctx, c.rdb, c.keys, c.service)
}
