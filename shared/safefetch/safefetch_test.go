package safefetch

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestLoopbackIsRefusedUnlessAllowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") }))
	defer srv.Close()

	if _, err := New(Options{}).Get(srv.URL); err == nil || !strings.Contains(err.Error(), "prohibited IP") {
		t.Fatalf("fetching %s: err = %v, want a prohibited address", srv.URL, err)
	}
	c := New(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "secret" {
		t.Fatalf("body %q", b)
	}
}

func TestPrivateAndMetadataAddressesAreRefused(t *testing.T) {
	c := New(Options{Timeout: 2e9})
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:8080/", "http://0.0.0.0/", "http://192.168.1.1/"} {
		if _, err := c.Get(u); err == nil || !strings.Contains(err.Error(), "prohibited") {
			t.Errorf("GET %s: err = %v, want prohibited", u, err)
		}
	}
}

func TestOnlyHTTPAndHTTPS(t *testing.T) {
	c := New(Options{})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/", "gopher://example.com/"} {
		if _, err := c.Get(u); err == nil {
			t.Errorf("GET %s succeeded", u)
		}
	}
}

func TestRedirectToAPrivateAddressIsRefused(t *testing.T) {
	inner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "internal") }))
	defer inner.Close()
	// The first server is allowed (as a fake remote on 127.0.0.2 would be);
	// it redirects to another loopback address that is not.
	outer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := url.Parse(inner.URL)
		http.Redirect(w, r, "http://[::1]:"+u.Port()+"/", http.StatusFound)
	}))
	defer outer.Close()
	c := New(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if _, err := c.Get(outer.URL); err == nil || !strings.Contains(err.Error(), "prohibited") {
		t.Fatalf("redirect followed to a refused address: err = %v", err)
	}
}

func TestBodyIsCapped(t *testing.T) {
	big := strings.Repeat("x", 2000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		io.WriteString(w, big)
	}))
	defer srv.Close()
	c := New(Options{MaxBody: 1000, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if _, err := c.Get(srv.URL + "/"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("declared length over the cap: err = %v", err)
	}
	resp, err := c.Get(srv.URL + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, ErrTooLarge) || len(b) != 1000 {
		t.Fatalf("streamed body: read %d bytes, err = %v; want 1000 and ErrTooLarge", len(b), err)
	}

	exact := New(Options{MaxBody: 2000, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	resp, err = exact.Get(srv.URL + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 2000 {
		t.Fatalf("body at the cap: %d bytes, %v", len(b), err)
	}
}

func TestPlatformHostsAreRoutedInside(t *testing.T) {
	var host string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		io.WriteString(w, "blog")
	}))
	defer srv.Close()
	hosts, err := PlatformHosts(map[string]string{"http://blog.localhost:8001": srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Platform: hosts})
	resp, err := c.Get("http://blog.localhost:8001/users/blog")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if host != "blog.localhost:8001" {
		t.Fatalf("Host header %q, want the public host", host)
	}
	// Another port of the same name is not the platform's.
	if _, err := c.Get("http://blog.localhost:9/"); err == nil {
		t.Fatal("a host outside the platform map was fetched")
	}
}
