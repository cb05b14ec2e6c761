package web_test

import (
	"io"
	"net/http"
	"slices"
	"testing"
)

// A form on one of the platform's services may post to another (the
// market's Add to cart posts to the cart); a sibling subdomain that is not
// a service, or a same-site post that does not say where it comes from, is
// still refused.
func TestFormPostsFromThePlatformsOwnServicesAreAccepted(t *testing.T) {
	site := testSite(t, io.Discard)
	origins := site.PlatformOrigins()
	market := site.URL("market", "")
	if len(origins) != 6 || !slices.Contains(origins, market) {
		t.Fatalf("platform origins = %v, want the six services' (the market's %s among them)", origins, market)
	}
	r := site.Router()
	r.Post("/items", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	for _, c := range []struct {
		site, origin string
		want         int
	}{
		{"same-site", market, 204},
		{"cross-site", market, 204}, // *.localhost hosts are separate sites to a browser
		{"same-site", "http://evil.localhost:8002", http.StatusForbidden},
		{"cross-site", "https://evil.example", http.StatusForbidden},
		{"same-site", "", http.StatusForbidden},
	} {
		hdr := map[string]string{"Sec-Fetch-Site": c.site}
		if c.origin != "" {
			hdr["Origin"] = c.origin
		}
		if rec := do(r, "POST", "/items", hdr); rec.Code != c.want {
			t.Errorf("%s POST from %q = %d, want %d", c.site, c.origin, rec.Code, c.want)
		}
	}
}
