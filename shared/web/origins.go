package web

import (
	"net/http"
	"net/url"
	"strings"

	"rose-ash.com/platform/shared/config"
)

// PlatformOrigins returns the public origins (scheme://host[:port]) of the
// platform's six services, in config.Services order, skipping any whose
// public URL is not an http(s) URL.
func (s *Site) PlatformOrigins() []string {
	var out []string
	for _, name := range config.Services {
		u, err := url.Parse(s.Config.Service(name).PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}

// crossOriginProtection refuses cross-origin form posts, except from the
// platform's own services: a product page on the market posts its
// add-to-cart form to the cart. A sibling subdomain that is not one of the
// services (a same-site request whose Origin is not listed) is still
// refused, and so is a same-site request without an Origin header.
func (s *Site) crossOriginProtection() *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	for _, o := range s.PlatformOrigins() {
		if err := p.AddTrustedOrigin(strings.ToLower(o)); err != nil {
			s.Logger.Warn("origin not trusted for form posts", "origin", o, "error", err)
		}
	}
	return p
}
