// Package internalnet gives server-side code one HTTP client for reaching
// the platform's own services by their public URLs: a request to a public
// host (blog.localhost:8001, blog.rose-ash.com) is dialled at that service's
// internal address (127.0.0.1:8001, blog:8000), because Go's resolver does
// not resolve *.localhost and, in production, traffic between services
// should stay on the internal network. Other hosts are refused: this client
// is not for the outside world.
package internalnet

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"rose-ash.com/platform/shared/config"
)

// Client returns the HTTP client for the services of cfg. Requests to https
// public URLs are sent as plain HTTP to the internal address (TLS ends at the
// reverse proxy), so the URL's scheme is rewritten as well.
func Client(cfg *config.Config) *http.Client {
	routes := map[string]*url.URL{} // public host:port -> internal base URL
	for _, name := range config.Services {
		s := cfg.Service(name)
		pub, err1 := url.Parse(s.PublicURL)
		in, err2 := url.Parse(s.InternalURL)
		if err1 != nil || err2 != nil {
			continue // Load validated both
		}
		routes[hostPort(pub)] = in
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &rewriter{routes: routes, next: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type rewriter struct {
	routes map[string]*url.URL
	next   http.RoundTripper
}

func (t *rewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	in, ok := t.routes[hostPort(r.URL)]
	if !ok {
		return nil, fmt.Errorf("internalnet: %s is not one of the platform's services", r.URL.Host)
	}
	r = r.Clone(r.Context())
	r.Host = r.URL.Host // keep the public Host header for virtual hosting and issuer checks
	r.URL.Scheme = in.Scheme
	r.URL.Host = in.Host
	return t.next.RoundTrip(r)
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Hostname() + ":443"
	}
	return u.Hostname() + ":80"
}
