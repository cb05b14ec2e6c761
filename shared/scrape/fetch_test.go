package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.dny.dev/ssrf"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

const testUA = "RoseAshBot/1.0 (+https://blog.example)"

// shop is a fake supplier site on loopback: robots.txt and pages, with a
// log of the paths requested.
type shop struct {
	*httptest.Server
	mu       sync.Mutex
	robots   string // "" serves 404
	robotsSt int
	pages    map[string]http.HandlerFunc
	hits     []string
}

func startShop(t *testing.T) *shop {
	t.Helper()
	s := &shop{pages: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits = append(s.hits, r.URL.RequestURI())
		robots, status, h := s.robots, s.robotsSt, s.pages[r.URL.Path]
		s.mu.Unlock()
		if r.Header.Get("User-Agent") != testUA {
			http.Error(w, "no User-Agent naming the bot: "+r.Header.Get("User-Agent"), http.StatusForbidden)
			return
		}
		if r.URL.Path == "/robots.txt" {
			switch {
			case status != 0:
				w.WriteHeader(status)
			case robots == "":
				http.NotFound(w, r)
			default:
				fmt.Fprint(w, robots)
			}
			return
		}
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *shop) page(path, html string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	}
}

func (s *shop) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = h
}

func (s *shop) hitCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hits {
		if h == path {
			n++
		}
	}
	return n
}

func testFetcher(o FetchOptions) *Fetcher {
	if o.UserAgent == "" {
		o.UserAgent = testUA
	}
	if o.Delay == 0 {
		o.Delay = -1
	}
	if o.Allow == nil {
		o.Allow = loopback
	}
	return NewFetcher(o)
}

const honeyPage = `<html><head><script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebPage"},
{"@type":"Product","name":"Heather Honey 123","sku":"HH-123","image":"/honey.png","offers":{"price":"7,25","priceCurrency":"GBP","availability":"InStock"}}]}</script></head><body></body></html>`

// robots.txt is read once per host and obeyed; a disallowed page is never
// requested.
func TestScrapeFetchHonoursRobots(t *testing.T) {
	s := startShop(t)
	s.robots = "User-agent: *\nDisallow: /private/\n\nUser-agent: RoseAshBot\nDisallow: /wholesale/\n"
	s.page("/honey.html", honeyPage)
	s.page("/wholesale/honey.html", honeyPage)
	f := testFetcher(FetchOptions{})
	ctx := context.Background()
	resp, err := f.Fetch(ctx, Request{URL: s.URL + "/honey.html"})
	if err != nil || !bytes.Contains(resp.Body, []byte("Heather Honey 123")) {
		t.Fatalf("allowed page: %v", err)
	}
	_, err = f.Fetch(ctx, Request{URL: s.URL + "/wholesale/honey.html"})
	if ErrorCode(err) != CodeDisallowed || !strings.Contains(err.Error(), "robots.txt") {
		t.Fatalf("page robots.txt disallows for RoseAshBot: %v, want %s", err, CodeDisallowed)
	}
	if s.hitCount("/wholesale/honey.html") != 0 {
		t.Error("the disallowed page was requested")
	}
	if n := s.hitCount("/robots.txt"); n != 1 {
		t.Errorf("robots.txt fetched %d times, want once (cached per host)", n)
	}

	// No robots.txt allows everything; a robots.txt that answers 5xx
	// stops the site being scraped, with a clear error.
	s2 := startShop(t)
	s2.page("/honey.html", honeyPage)
	if _, err := f.Fetch(ctx, Request{URL: s2.URL + "/honey.html"}); err != nil {
		t.Fatalf("site without robots.txt: %v", err)
	}
	s3 := startShop(t)
	s3.robotsSt = http.StatusServiceUnavailable
	s3.page("/honey.html", honeyPage)
	_, err = f.Fetch(ctx, Request{URL: s3.URL + "/honey.html"})
	if ErrorCode(err) != CodeRobotsUnavailable || !strings.Contains(err.Error(), "503") || s3.hitCount("/honey.html") != 0 {
		t.Fatalf("robots.txt answering 503: %v, want %s and the page not requested", err, CodeRobotsUnavailable)
	}
}

// A 429 with Retry-After is waited out and retried; one asking for too
// long a wait fails at once with a clear error.
func TestScrapeFetchHonoursRetryAfter(t *testing.T) {
	s := startShop(t)
	var calls atomic.Int32
	s.handle("/busy.html", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, honeyPage)
	})
	s.handle("/closed.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(2*time.Hour).UTC().Format(http.TimeFormat))
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	f := testFetcher(FetchOptions{})
	start := time.Now()
	if _, err := f.Fetch(context.Background(), Request{URL: s.URL + "/busy.html"}); err != nil {
		t.Fatalf("429 then 200: %v", err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond || calls.Load() != 2 {
		t.Errorf("retried after %v with %d calls; want a wait of Retry-After's 1s and 2 calls", waited, calls.Load())
	}
	start = time.Now()
	_, err := f.Fetch(context.Background(), Request{URL: s.URL + "/closed.html"})
	if ErrorCode(err) != CodeRateLimited || !strings.Contains(err.Error(), "try again later") || time.Since(start) > 5*time.Second {
		t.Fatalf("503 with Retry-After in two hours: %v after %v, want %s at once", err, time.Since(start), CodeRateLimited)
	}
	if s.hitCount("/closed.html") != 1 {
		t.Errorf("/closed.html requested %d times, want 1", s.hitCount("/closed.html"))
	}
}

func TestScrapeRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"1": time.Second, "120": 2 * time.Minute, "Sat, 05 Dec 2026 12:00:30 GMT": 30 * time.Second,
		"Sat, 05 Dec 2026 11:00:00 GMT": 0,
	} {
		if got, ok := retryAfter(in, now); !ok || got != want {
			t.Errorf("retryAfter(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	if _, ok := retryAfter("soon", now); ok {
		t.Error("retryAfter(soon) accepted")
	}
}

// A conditional GET gets "not modified" and the validators back.
func TestScrapeFetchConditional(t *testing.T) {
	s := startShop(t)
	s.handle("/honey.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v2"`)
		w.Header().Set("Last-Modified", "Fri, 04 Dec 2026 10:00:00 GMT")
		if r.Header.Get("If-None-Match") == `"v2"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, honeyPage)
	})
	f := testFetcher(FetchOptions{})
	first, err := f.Fetch(context.Background(), Request{URL: s.URL + "/honey.html", ETag: `"v1"`})
	if err != nil || first.NotModified || first.ETag != `"v2"` || len(first.Body) == 0 {
		t.Fatalf("changed page: %+v, %v", first, err)
	}
	again, err := f.Fetch(context.Background(), Request{URL: s.URL + "/honey.html", ETag: first.ETag, LastModified: first.LastModified})
	if err != nil || !again.NotModified || again.Body != nil || again.ETag != `"v2"` || again.LastModified != "Fri, 04 Dec 2026 10:00:00 GMT" {
		t.Fatalf("unchanged page: %+v, %v; want not modified with the validators", again, err)
	}
}

// However many imports run at once, a host gets one request at a time,
// with the delay between them.
func TestScrapeFetchOneRequestPerHost(t *testing.T) {
	s := startShop(t)
	var inFlight, most atomic.Int32
	var mu sync.Mutex
	var starts []time.Time
	s.handle("/slow.html", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, honeyPage)
	})
	const delay = 50 * time.Millisecond
	f := testFetcher(FetchOptions{Delay: delay})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := f.Fetch(context.Background(), Request{URL: s.URL + "/slow.html"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d requests to one host at once, want 1", most.Load())
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < delay+30*time.Millisecond-5*time.Millisecond {
			t.Errorf("request %d started %v after the previous one, want the 30ms it took plus the %v delay", i, gap, delay)
		}
	}
}

// Without Allow, loopback, private, link-local (cloud metadata) addresses
// and a redirect to loopback are all refused before any connection.
func TestScrapeFetchRefusesPrivateAddresses(t *testing.T) {
	s := startShop(t)
	s.page("/honey.html", honeyPage)
	f := testFetcher(FetchOptions{Allow: []netip.Prefix{}, Timeout: 3 * time.Second})
	for _, u := range []string{
		s.URL + "/honey.html",
		"http://10.0.0.1/product",
		"http://192.168.1.1/product",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:8080/",
		"http://localhost:" + s.Listener.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1:"):] + "/honey.html",
	} {
		_, err := f.Fetch(context.Background(), Request{URL: u})
		if ErrorCode(err) != CodeFetch || !errors.Is(err, ssrf.ErrProhibitedIP) {
			t.Errorf("%s: %v, want %s refused as a prohibited address", u, err, CodeFetch)
		}
	}
	if len(s.hits) != 0 {
		t.Errorf("the loopback server was reached: %q", s.hits)
	}

	// A site allowed for the test redirects to another loopback address,
	// which is not.
	// (Linux routes all of 127.0.0.0/8 to loopback.)
	inner, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal("listen on 127.0.0.2:", err)
	}
	var reached atomic.Bool
	go http.Serve(inner, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(true) }))
	t.Cleanup(func() { inner.Close() })
	s.handle("/moved.html", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+inner.Addr().String()+"/admin", http.StatusFound)
	})
	f = testFetcher(FetchOptions{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	_, err = f.Fetch(context.Background(), Request{URL: s.URL + "/moved.html"})
	if ErrorCode(err) != CodeFetch || !errors.Is(err, ssrf.ErrProhibitedIP) || reached.Load() {
		t.Fatalf("redirect to 127.0.0.2: %v (reached: %v), want it refused", err, reached.Load())
	}
}

// A 20 MB page is refused at 16 MiB, whether or not it says its length.
func TestScrapeFetchRefusesHugePage(t *testing.T) {
	s := startShop(t)
	chunk := bytes.Repeat([]byte("<p>filler filler filler</p>\n"), 1<<15)
	serve := func(withLength bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			if withLength {
				w.Header().Set("Content-Length", fmt.Sprint(20<<20))
			}
			for sent := 0; sent < 20<<20; sent += len(chunk) {
				if _, err := w.Write(chunk[:min(len(chunk), 20<<20-sent)]); err != nil {
					return
				}
			}
		}
	}
	s.handle("/huge.html", serve(true))
	s.handle("/huge-chunked.html", serve(false))
	f := testFetcher(FetchOptions{})
	for _, p := range []string{"/huge.html", "/huge-chunked.html"} {
		_, err := f.Fetch(context.Background(), Request{URL: s.URL + p})
		if ErrorCode(err) != CodeTooLarge || !strings.Contains(err.Error(), "larger than 16 MiB") {
			t.Errorf("%s: %v, want %s", p, err, CodeTooLarge)
		}
	}
}

// The charset of the Content-Type header is honoured; what is not HTML is
// refused.
func TestScrapeFetchCharsetAndType(t *testing.T) {
	s := startShop(t)
	s.handle("/latin1.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=ISO-8859-1")
		w.Write([]byte("<html><head><meta property=\"og:type\" content=\"product\"><meta property=\"og:title\" content=\"Cr\xe8me br\xfbl\xe9e\"></head></html>"))
	})
	s.handle("/price-list.pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Write([]byte("%PDF-1.4"))
	})
	f := testFetcher(FetchOptions{})
	resp, err := f.Fetch(context.Background(), Request{URL: s.URL + "/latin1.html"})
	if err != nil || !bytes.Contains(resp.Body, []byte("Crème brûlée")) {
		t.Fatalf("ISO-8859-1 page: %v, %q", err, resp.Body)
	}
	_, err = f.Fetch(context.Background(), Request{URL: s.URL + "/price-list.pdf"})
	if ErrorCode(err) != CodeNotHTML || !strings.Contains(err.Error(), "application/pdf") {
		t.Fatalf("PDF: %v, want %s", err, CodeNotHTML)
	}
}
