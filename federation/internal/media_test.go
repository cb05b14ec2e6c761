package internal

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hubMediaTimeout is the media proxy's timeout in tests: short, so that a
// remote server that never answers costs the test little.
const hubMediaTimeout = 2 * time.Second

// origin is a fake remote server for images: each path answers with a
// status, a declared type and a body, after a delay; it counts the
// requests each path gets.
type origin struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string]originFile
	hits  map[string]*atomic.Int32
}

type originFile struct {
	status int
	ctype  string
	body   []byte
	delay  time.Duration
}

func newOrigin(t *testing.T) *origin {
	t.Helper()
	o := &origin{files: map[string]originFile{}, hits: map[string]*atomic.Int32{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		f, ok := o.files[r.URL.Path]
		hits := o.hits[r.URL.Path]
		o.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
		if f.ctype != "" {
			w.Header().Set("Content-Type", f.ctype)
		}
		w.WriteHeader(cmpOr(f.status, http.StatusOK))
		_, _ = w.Write(f.body)
	}))
	t.Cleanup(o.Close)
	return o
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// serve makes path answer with f; it returns the file's URL (with a query,
// as signed URLs on object stores have).
func (o *origin) serve(path string, f originFile) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[path] = f
	o.hits[path] = &atomic.Int32{}
	return o.URL + path + "?sig=remote-secret"
}

// hitsOf is how many requests path got.
func (o *origin) hitsOf(path string) int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path].Load()
}

// mediaPath is the proxy path the hub's pages would link u with.
func (e *hubEnv) mediaPath(u string) string {
	return "/hub/media/" + newMediaSigner(e.site.Config.SecretKey).token(u)
}

// testPNG is a small real PNG.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var avatarSrc = regexp.MustCompile(`<img class="hub-avatar" src="([^"]*)"`)

// A followed remote actor's avatar shows on the timeline and their profile
// as a /hub/media/ link, never the remote address; that link serves the
// image with its type, nosniff and a sandbox CSP; the second view comes
// from the cache (one request to the remote server), and the browser may
// revalidate with the ETag. Hub pages allow images from the platform only.
func TestHubMediaProxiesAvatars(t *testing.T) {
	e := startHub(t)
	o := newOrigin(t)
	img := testPNG(t)
	icon := o.serve("/avatars/bob.png", originFile{ctype: "image/png", body: img})
	b := e.browser()
	e.signIn(b, "carol")
	me := e.actorID("carol")
	bob := "https://social.example/users/bob"
	e.remoteActor(bob, "social.example", "bob", "Bob", "")
	e.exec(`UPDATE ap_actors SET icon_url = $2 WHERE uri = $1`, bob, icon)
	e.exec(`INSERT INTO ap_following (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $3, 'accepted')`, me, bob, me+"/follows/1")
	e.remotePost(bob, "<p>Hello from Bob</p>")

	var src string
	for _, path := range []string{"/hub", actorPath(bob)} {
		p := b.get(path)
		m := avatarSrc.FindStringSubmatch(p.Body)
		if p.Status != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "/hub/media/") {
			t.Fatalf("GET %s = %d, avatar %q, want a /hub/media/ link:\n%s", path, p.Status, m, p.Body)
		}
		if strings.Contains(p.Body, o.Listener.Addr().String()) {
			t.Errorf("GET %s links the remote server directly", path)
		}
		if csp := p.Header.Get("Content-Security-Policy"); !platformImagesOnly(csp) || strings.Contains(csp, o.Listener.Addr().String()) {
			t.Errorf("GET %s CSP %q: images should come from the platform only", path, csp)
		}
		src = m[1]
	}
	if src != e.mediaPath(icon) {
		t.Errorf("avatar link %q, want the signed link of %s", src, icon)
	}
	if n := o.hitsOf("/avatars/bob.png"); n != 0 {
		t.Fatalf("rendering pages fetched the avatar %d times", n)
	}

	var etag string
	for i := range 2 {
		p := b.get(src)
		h := p.Header
		if p.Status != http.StatusOK || p.Body != string(img) {
			t.Fatalf("view %d: %d, %d bytes, want the %d bytes of the avatar", i+1, p.Status, len(p.Body), len(img))
		}
		for k, want := range map[string]string{
			"Content-Type":            "image/png",
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "default-src 'none'; sandbox",
			"Cache-Control":           "private, max-age=86400",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("view %d: %s = %q, want %q", i+1, k, got, want)
			}
		}
		etag = h.Get("ETag")
	}
	if n := o.hitsOf("/avatars/bob.png"); n != 1 {
		t.Errorf("the remote server got %d requests for two views, want 1 (the second from the cache)", n)
	}
	if etag == "" {
		t.Fatal("no ETag")
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL+src, nil)
	req.Header.Set("If-None-Match", etag)
	if p := b.read(b.c.Do(req)); p.Status != http.StatusNotModified {
		t.Errorf("revalidating with the ETag: %d, want 304", p.Status)
	}

	// An image too large for the cache is still served, fetched each time.
	big := append(append([]byte{}, img...), make([]byte, mediaCacheMax)...)
	large := o.serve("/banners/large.png", originFile{ctype: "image/png", body: big})
	for range 2 {
		if p := b.get(e.mediaPath(large)); p.Status != http.StatusOK || len(p.Body) != len(big) {
			t.Fatalf("large image: %d, %d bytes, want %d", p.Status, len(p.Body), len(big))
		}
	}
	if n := o.hitsOf("/banners/large.png"); n != 2 {
		t.Errorf("a %d-byte image was fetched %d times for two views, want 2 (not cached)", len(big), n)
	}
}

// Viewers asking for an image nobody has fetched yet, at the same time,
// cause one request to the remote server.
func TestHubMediaFetchesOnceForConcurrentViewers(t *testing.T) {
	e := startHub(t)
	o := newOrigin(t)
	img := testPNG(t)
	u := o.serve("/slow.png", originFile{ctype: "image/png", body: img, delay: 300 * time.Millisecond})
	b := e.browser()
	e.signIn(b, "carol")

	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			resp, err := b.c.Get(e.URL + e.mediaPath(u))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("viewer %d: %d", i, s)
		}
	}
	if n := o.hitsOf("/slow.png"); n != 1 {
		t.Errorf("%d concurrent views made %d remote requests, want 1", len(statuses), n)
	}
}

// Only raster images are served, with the type sniffed from their bytes:
// SVG, HTML and mislabelled documents are refused with 415; a remote
// error, a timeout or a body over the cap is a 502.
func TestHubMediaServesOnlyRasterImages(t *testing.T) {
	e := startHub(t)
	o := newOrigin(t)
	b := e.browser()
	e.signIn(b, "carol")
	pad := bytes.Repeat([]byte{0}, 64)
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	for _, c := range []struct {
		name   string
		file   originFile
		status int
		ctype  string
	}{
		{"png", originFile{ctype: "image/png", body: testPNG(t)}, http.StatusOK, "image/png"},
		{"jpeg", originFile{ctype: "image/jpeg", body: append([]byte("\xFF\xD8\xFF\xE0"), pad...)}, http.StatusOK, "image/jpeg"},
		{"gif", originFile{ctype: "image/gif", body: append([]byte("GIF89a"), pad...)}, http.StatusOK, "image/gif"},
		{"webp", originFile{ctype: "image/webp", body: append([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), pad...)}, http.StatusOK, "image/webp"},
		{"avif", originFile{ctype: "image/avif", body: append([]byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), pad...)}, http.StatusOK, "image/avif"},
		{"png as octet-stream", originFile{ctype: "application/octet-stream", body: testPNG(t)}, http.StatusOK, "image/png"},
		{"png labelled jpeg", originFile{ctype: "image/jpeg", body: testPNG(t)}, http.StatusOK, "image/png"},
		{"svg", originFile{ctype: "image/svg+xml", body: svg}, http.StatusUnsupportedMediaType, ""},
		{"svg labelled png", originFile{ctype: "image/png", body: svg}, http.StatusUnsupportedMediaType, ""},
		{"html", originFile{ctype: "text/html; charset=utf-8", body: []byte("<!doctype html><script>alert(1)</script>")}, http.StatusUnsupportedMediaType, ""},
		{"png labelled html", originFile{ctype: "text/html", body: testPNG(t)}, http.StatusUnsupportedMediaType, ""},
		{"plain text, no type", originFile{body: []byte("just text")}, http.StatusUnsupportedMediaType, ""},
		{"remote 500", originFile{status: http.StatusInternalServerError, ctype: "image/png", body: testPNG(t)}, http.StatusBadGateway, ""},
		{"remote 404", originFile{status: http.StatusNotFound, ctype: "text/html", body: []byte("gone")}, http.StatusBadGateway, ""},
		{"timeout", originFile{ctype: "image/png", body: testPNG(t), delay: hubMediaTimeout + 3*time.Second}, http.StatusBadGateway, ""},
		{"over 8 MB", originFile{ctype: "image/png", body: append(testPNG(t), make([]byte, mediaMaxBody)...)}, http.StatusBadGateway, ""},
	} {
		u := o.serve("/"+strings.ReplaceAll(c.name, " ", "-"), c.file)
		p := b.get(e.mediaPath(u))
		if p.Status != c.status {
			t.Errorf("%s: %d, want %d (%.80q)", c.name, p.Status, c.status, p.Body)
			continue
		}
		if c.status != http.StatusOK {
			if strings.HasPrefix(p.Header.Get("Content-Type"), "image/") || strings.Contains(p.Body, "<script") {
				t.Errorf("%s: refused, but served as %q: %.80q", c.name, p.Header.Get("Content-Type"), p.Body)
			}
			continue
		}
		if got := p.Header.Get("Content-Type"); got != c.ctype || p.Body != string(c.file.body) {
			t.Errorf("%s: served as %q (%d bytes), want %q (%d bytes)", c.name, got, len(p.Body), c.ctype, len(c.file.body))
		}
	}
}

// Only links the hub minted are fetched: a token altered, made for
// another URL, or signed with another key is 404 and reaches no remote
// server; visitors who are not signed in are sent to sign in.
func TestHubMediaTokens(t *testing.T) {
	e := startHub(t)
	o := newOrigin(t)
	u := o.serve("/a.png", originFile{ctype: "image/png", body: testPNG(t)})
	other := o.serve("/b.png", originFile{ctype: "image/png", body: testPNG(t)})
	good := e.mediaPath(u)
	b := e.browser()
	e.signIn(b, "carol")
	if p := b.get(good); p.Status != http.StatusOK {
		t.Fatalf("the genuine link: %d", p.Status)
	}

	mac, rest, _ := strings.Cut(strings.TrimPrefix(good, "/hub/media/"), ".")
	otherMAC, otherURL, _ := strings.Cut(strings.TrimPrefix(e.mediaPath(other), "/hub/media/"), ".")
	flipped := []byte(rest)
	flipped[len(flipped)/2] ^= 1
	for name, token := range map[string]string{
		"altered URL":     mac + "." + string(flipped),
		"another URL":     mac + "." + otherURL,
		"another MAC":     otherMAC + "." + rest,
		"unsigned":        rest,
		"empty MAC":       "." + rest,
		"other secret":    newMediaSigner(strings.Repeat("z", 32)).token(u),
		"unsigned, plain": url.PathEscape(u),
		"garbage":         "x.y",
	} {
		if p := b.get("/hub/media/" + token); p.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, p.Status)
		}
	}
	if n := o.hitsOf("/b.png"); n != 0 {
		t.Errorf("forged tokens reached the remote server %d times", n)
	}

	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := anon.Get(e.URL + good)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/auth/signin?next="+url.QueryEscape(good) {
		t.Errorf("signed out: %d to %q, want 303 to sign in", resp.StatusCode, loc)
	}
	if n := o.hitsOf("/a.png"); n != 1 {
		t.Errorf("the remote server got %d requests, want 1 (the signed-in view)", n)
	}
}

// mediaURL links only http(s) URLs, and only on hub pages (where the
// signer is in the context).
func TestMediaURL(t *testing.T) {
	s := newMediaSigner(strings.Repeat("k", 32))
	ctx := context.WithValue(t.Context(), mediaSignerKey{}, s)
	for u, want := range map[string]bool{
		"https://social.example/a.png":                               true,
		"http://social.example/a.png?x=1":                            true,
		"javascript:alert(1)":                                        false,
		"data:image/png;base64,AAAA":                                 false,
		"/relative.png":                                              false,
		"https://user:pw@social.example/a":                           false,
		"https://social.example/" + strings.Repeat("a", mediaMaxURL): false,
		"": false,
	} {
		got := mediaURL(ctx, u)
		if (got != "") != want {
			t.Errorf("mediaURL(%.60q) = %q, want a link: %v", u, got, want)
			continue
		}
		if want {
			if back, ok := s.verify(strings.TrimPrefix(got, "/hub/media/")); !ok || back != u {
				t.Errorf("mediaURL(%q) = %q, which names %q", u, got, back)
			}
		}
	}
	if got := mediaURL(t.Context(), "https://social.example/a.png"); got != "" {
		t.Errorf("outside the hub, mediaURL = %q, want none", got)
	}
}
