// Package safefetch is the one HTTP client for URLs that a user or a remote
// server chose: remote ActivityPub actors and objects, deliveries to remote
// inboxes, a Ghost site's API. It is safe against server-side request
// forgery: only http and https, the address checked when it is dialled (no
// loopback, private, link-local, multicast or cloud metadata ranges, with
// code.dny.dev/ssrf), every redirect checked again, timeouts, and a cap on
// the response body.
//
// In development the platform's own public hosts (blog.localhost:8001...)
// resolve to loopback; Options.Platform routes those hosts to their internal
// addresses so the services can federate with each other. Production never
// passes it: there the platform's hosts are reached like any other server.
package safefetch

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"code.dny.dev/ssrf"

	"rose-ash.com/platform/shared/config"
)

// Defaults for Options left zero.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBody      = 1 << 20
	DefaultMaxRedirects = 5
)

// ErrTooLarge is returned while reading a response body longer than
// Options.MaxBody.
var ErrTooLarge = errors.New("safefetch: response body too large")

// Options configure a client.
type Options struct {
	// Timeout bounds a whole request, body included (DefaultTimeout).
	Timeout time.Duration
	// MaxBody caps a response body in bytes (DefaultMaxBody).
	MaxBody int64
	// MaxRedirects is how many redirects are followed (DefaultMaxRedirects);
	// negative follows none.
	MaxRedirects int
	// UserAgent is sent when a request has none.
	UserAgent string
	// Platform maps the platform's own public hosts ("blog.localhost:8001";
	// a host without a port means port 80 for http and 443 for https) to
	// the base URL they are reached at internally. Development only.
	Platform map[string]*url.URL
	// Allow lists address ranges that are reachable although private, for
	// tests that run fake remote servers on loopback.
	Allow []netip.Prefix
}

// New returns a client following o.
func New(o Options) *http.Client {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	var v4, v6 []netip.Prefix
	for _, p := range o.Allow {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	guard := ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: guard.Safe}
	outside := &http.Transport{
		Proxy:                 nil, // a proxy would be dialled instead of the checked address
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
	}
	t := &transport{outside: outside, opts: o}
	if len(o.Platform) > 0 {
		inside := &net.Dialer{Timeout: 5 * time.Second}
		t.inside = &http.Transport{DialContext: inside.DialContext, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}
	}
	return &http.Client{
		Timeout:   o.Timeout,
		Transport: t,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("safefetch: more than %d redirects", max(o.MaxRedirects, 0))
			}
			return nil // the transport checks the scheme and the address
		},
	}
}

type transport struct {
	outside, inside *http.Transport
	opts            Options
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
		return nil, fmt.Errorf("safefetch: %q URLs are not fetched", r.URL.Scheme)
	}
	if r.URL.User != nil {
		return nil, errors.New("safefetch: URLs with credentials are not fetched")
	}
	if t.opts.UserAgent != "" && r.Header.Get("User-Agent") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", t.opts.UserAgent)
	}
	next := t.outside
	if in, ok := t.opts.Platform[hostPort(r.URL)]; ok && t.inside != nil {
		r = r.Clone(r.Context())
		r.Host = r.URL.Host // the public host, for virtual hosting and signatures
		r.URL.Scheme, r.URL.Host = in.Scheme, in.Host
		next = t.inside
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.opts.MaxBody {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, resp.ContentLength)
	}
	resp.Body = &capped{r: resp.Body, left: t.opts.MaxBody}
	return resp, nil
}

// capped fails a read that goes past the cap instead of truncating quietly.
type capped struct {
	r    io.ReadCloser
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n - 1, ErrTooLarge
	}
	return n, err
}

func (c *capped) Close() error { return c.r.Close() }

// hostPort is u's host with its port, the default port filled in.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Hostname() + ":443"
	}
	return u.Hostname() + ":80"
}

// PlatformHosts turns public and internal base URLs of the platform's
// services into Options.Platform.
func PlatformHosts(publicToInternal map[string]string) (map[string]*url.URL, error) {
	m := map[string]*url.URL{}
	for pub, in := range publicToInternal {
		p, err := url.Parse(pub)
		if err != nil {
			return nil, err
		}
		i, err := url.Parse(in)
		if err != nil {
			return nil, err
		}
		m[hostPort(p)] = i
	}
	return m, nil
}

// ForConfig returns Options.Platform for cfg: the services' public hosts
// routed to their internal URLs in development, nil in production.
func ForConfig(cfg *config.Config) map[string]*url.URL {
	if cfg.Production() {
		return nil
	}
	m := map[string]string{}
	for _, name := range config.Services {
		s := cfg.Service(name)
		m[s.PublicURL] = s.InternalURL
	}
	hosts, err := PlatformHosts(m)
	if err != nil {
		return nil // Load validated every URL
	}
	return hosts
}
