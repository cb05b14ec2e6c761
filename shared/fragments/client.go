package fragments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
)

// maxFragment caps a fragment's size; a larger answer is an error.
const maxFragment = 256 << 10

// Client fetches fragments for one service's pages.
type Client struct {
	http     *http.Client
	rdb      *redis.Client
	keys     cache.Namespace
	secret   string
	base     map[string]string // service -> internal base URL
	deadline time.Duration
	ttl      time.Duration
	logger   *slog.Logger
	group    singleflight.Group
	// self and local are this service's name and its own renderers
	// (ServeLocally): its pages render those fragments in-process.
	self    string
	local   map[string]Renderer
	results *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// NewClient returns a fragment client for the services of cfg, caching in
// rdb under keys and registering its metrics on reg.
func NewClient(cfg *config.Config, rdb *redis.Client, keys cache.Namespace, reg prometheus.Registerer, logger *slog.Logger) *Client {
	base := map[string]string{}
	for _, name := range config.Services {
		base[name] = strings.TrimSuffix(cfg.Service(name).InternalURL, "/")
	}
	c := &Client{
		// Many small requests to a handful of hosts: keep plenty of idle
		// connections per host (Go's default of 2 makes most requests dial).
		http: &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		}},
		rdb: rdb, keys: keys, secret: Secret(cfg.SecretKey), base: base,
		deadline: cfg.Fragments.Deadline.Std(), ttl: cfg.Fragments.TTL.Std(), logger: logger,
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fragment_requests_total",
			Help: "Fragments a page asked for, by serving service, type and result (hit, miss, error, timeout).",
		}, []string{"service", "type", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fragment_fetch_seconds",
			Help:    "Time to fetch a fragment over HTTP on a cache miss.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"service", "type"}),
	}
	reg.MustRegister(c.results, c.latency)
	return c
}

// ServeLocally makes the fragments service serves with renderers (its own
// fragment server's) render in-process for its own pages, as the server
// would answer them, instead of over HTTP to itself: the blog's pages ask
// for the blog's nav-tree on every view. Caching, deadlines and metrics are
// the same. Call it before the first Fetch.
func (c *Client) ServeLocally(service string, renderers map[string]Renderer) {
	c.self, c.local = service, renderers
}

// Declare creates the metric series of the given fragments at zero, so that
// dashboards and alerts see every fragment a service uses from its start,
// not only after its first miss (a page served from the page cache fetches
// none).
func (c *Client) Declare(reqs ...Request) {
	for _, r := range reqs {
		for _, result := range []string{"hit", "miss", "error", "timeout"} {
			c.results.WithLabelValues(r.Service, r.Type, result)
		}
	}
}

// Fetch returns one component per request, in order; nil where the
// fragment could not be had in time. It never takes much longer than the
// fragment deadline, whatever the other services do.
func (c *Client) Fetch(ctx context.Context, viewer *models.User, reqs []Request) []templ.Component {
	out := make([]templ.Component, len(reqs))
	if len(reqs) == 0 {
		return out
	}
	var uid *uuid.UUID
	if viewer != nil {
		uid = &viewer.ID
	}
	keys := make([]string, len(reqs))
	for i, r := range reqs {
		switch {
		case r.Ref != "" && !r.PerUser:
			keys[i] = CacheKeyRef(c.keys, r.Service, r.Type, r.Ref)
		case r.Ref != "":
			keys[i] = CacheKey(c.keys, r.Service, r.Type, r.PerUser, uid) + ":ref:" + r.Ref
		default:
			keys[i] = CacheKey(c.keys, r.Service, r.Type, r.PerUser, uid)
		}
	}
	cached := make([]any, len(reqs))
	if c.ttl > 0 {
		got, err := c.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			c.logger.WarnContext(ctx, "fragment cache unreadable", "error", err)
		} else {
			cached = got
		}
	}
	var wg sync.WaitGroup
	for i, r := range reqs {
		if s, ok := cached[i].(string); ok {
			c.results.WithLabelValues(r.Service, r.Type, "hit").Inc()
			out[i] = templ.Raw(s)
			continue
		}
		wg.Go(func() {
			html, err := c.fetchShared(ctx, r, keys[i], viewer)
			if err != nil {
				result := "error"
				if errors.Is(err, context.DeadlineExceeded) {
					result = "timeout"
				}
				c.results.WithLabelValues(r.Service, r.Type, result).Inc()
				NoteOmission(ctx)
				c.logger.WarnContext(ctx, "fragment left out", "service", r.Service, "type", r.Type, "result", result, "error", err)
				return
			}
			c.results.WithLabelValues(r.Service, r.Type, "miss").Inc()
			out[i] = templ.Raw(html)
		})
	}
	wg.Wait()
	return out
}

// fetchShared collapses concurrent misses of one key into one HTTP fetch;
// each caller still waits no longer than its own deadline.
func (c *Client) fetchShared(ctx context.Context, r Request, key string, viewer *models.User) (string, error) {
	ch := c.group.DoChan(key, func() (any, error) {
		// The shared fetch is not tied to the first caller's request.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.deadline)
		defer cancel()
		html, err := c.fetch(fctx, r, viewer)
		if err != nil {
			return "", err
		}
		if c.ttl > 0 {
			if err := c.rdb.Set(fctx, key, html, c.ttl).Err(); err != nil {
				c.logger.WarnContext(ctx, "fragment not cached", "key", key, "error", err)
			}
		}
		return html, nil
	})
	timer := time.NewTimer(c.deadline)
	defer timer.Stop()
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-timer.C:
		return "", context.DeadlineExceeded
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Client) fetch(ctx context.Context, r Request, viewer *models.User) (string, error) {
	start := time.Now()
	defer func() { c.latency.WithLabelValues(r.Service, r.Type).Observe(time.Since(start).Seconds()) }()
	base, ok := c.base[r.Service]
	if !ok {
		return "", fmt.Errorf("fragments: unknown service %q", r.Service)
	}
	if len(r.Ref) > MaxRef {
		return "", fmt.Errorf("fragments: %s/%s ref is longer than %d bytes", r.Service, r.Type, MaxRef)
	}
	if render, ok := c.local[r.Type]; ok && r.Service == c.self {
		var u *models.User
		if r.PerUser {
			u = viewer
		}
		buf, err := renderFragment(ctx, render, u, r.Ref)
		if err != nil {
			return "", fmt.Errorf("fragments: %s/%s: %w", r.Service, r.Type, err)
		}
		return buf.String(), nil
	}
	u := base + "/internal/fragments/" + r.Type
	if r.Ref != "" {
		u += "?ref=" + url.QueryEscape(r.Ref)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set(SecretHeader, c.secret)
	if r.PerUser && viewer != nil {
		req.Header.Set(UserHeader, signUser(c.secret, *viewer, time.Now(), time.Minute))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxFragment+1))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fragments: %s/%s answered %d", r.Service, r.Type, resp.StatusCode)
	}
	if len(b) > maxFragment {
		return "", fmt.Errorf("fragments: %s/%s is larger than %d bytes", r.Service, r.Type, maxFragment)
	}
	return string(b), nil
}

// Invalidate deletes the cached fragment so the next page view fetches it
// afresh: for a per-user fragment, the given user's copy (nil: the
// signed-out copy). Call it after the change that made it stale commits.
func Invalidate(ctx context.Context, rdb *redis.Client, keys cache.Namespace, service, typ string, perUser bool, userID *uuid.UUID) error {
	return rdb.Del(ctx, CacheKey(keys, service, typ, perUser, userID)).Err()
}

// InvalidateRef deletes the cached copy of a shared fragment asked for by
// ref (CacheKeyRef), e.g. a calendar's widget after its events change.
func InvalidateRef(ctx context.Context, rdb *redis.Client, keys cache.Namespace, service, typ, ref string) error {
	return rdb.Del(ctx, CacheKeyRef(keys, service, typ, ref)).Err()
}

// Invalidate deletes a cached fragment through this client's cache (see the
// package-level Invalidate).
func (c *Client) Invalidate(ctx context.Context, service, typ string, perUser bool, userID *uuid.UUID) error {
	return Invalidate(ctx, c.rdb, c.keys, service, typ, perUser, userID)
}
