package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/servicetest"
)

func seeded(t *testing.T) *servicetest.Service {
	t.Helper()
	dir := t.TempDir()
	s := servicetest.Start(t, "blog", run, servicetest.Options{Env: map[string]string{"MEDIA_DIR": dir}})
	store, err := media.NewDiskStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := demo.Seed(context.Background(), pool, store); err != nil {
		t.Fatal(err)
	}
	return s
}

// A reader finds the seeded posts on the home page, reads one with its meta
// for sharing and search engines, follows tags, searches, and subscribes.
func TestReadingTheBlog(t *testing.T) {
	s := seeded(t)
	code, _, home := s.Get(t, "/")
	if code != 200 || !strings.Contains(home, `post-summary"`) {
		t.Fatalf("home: %d, no post summaries", code)
	}
	if !strings.Contains(home, `type="application/rss+xml"`) || !strings.Contains(home, `type="application/atom+xml"`) {
		t.Error("home does not advertise its feeds")
	}
	i := strings.Index(home, `<h3 class="card-title"><a href="/`)
	if i < 0 {
		t.Fatal("no post link on the home page")
	}
	href := home[i+len(`<h3 class="card-title"><a href="`):]
	href = href[:strings.IndexByte(href, '"')]

	code, _, post := s.Get(t, href)
	if code != 200 {
		t.Fatalf("GET %s = %d", href, code)
	}
	for _, want := range []string{`property="og:title"`, `rel="canonical" href="` + s.BaseURL + href + `"`, `name="twitter:card"`, `<div class="post-body">`} {
		if !strings.Contains(post, want) {
			t.Errorf("post page lacks %s", want)
		}
	}
	ld := post[strings.Index(post, `type="application/ld+json">`)+len(`type="application/ld+json">`):]
	ld = ld[:strings.Index(ld, "</script>")]
	var article map[string]any
	if err := json.Unmarshal([]byte(ld), &article); err != nil || article["@type"] != "Article" || article["headline"] == "" {
		t.Errorf("JSON-LD = %s (%v)", ld, err)
	}

	i = strings.Index(post, `href="/tag/`)
	if i < 0 {
		t.Fatal("post shows no tags")
	}
	tagHref := post[i+len(`href="`):]
	tagHref = tagHref[:strings.IndexByte(tagHref, '"')]
	if code, _, body := s.Get(t, tagHref); code != 200 || !strings.Contains(body, `post-summary"`) {
		t.Errorf("tag page %s: %d", tagHref, code)
	}

	if code, h, rss := s.Get(t, "/rss.xml"); code != 200 || !strings.Contains(h.Get("Content-Type"), "rss") || strings.Count(rss, "<item>") < 3 {
		t.Errorf("RSS: %d %s, %d items", code, h.Get("Content-Type"), strings.Count(rss, "<item>"))
	}
	if code, _, atom := s.Get(t, "/atom.xml"); code != 200 || !strings.Contains(atom, "<entry>") {
		t.Errorf("Atom: %d", code)
	}
	code, _, sm := s.Get(t, "/sitemap.xml")
	var urlset struct {
		URLs []struct {
			Loc string `xml:"loc"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal([]byte(sm), &urlset); err != nil || code != 200 || len(urlset.URLs) < 5 {
		t.Errorf("sitemap: %d, %d urls (%v)", code, len(urlset.URLs), err)
	}
	found := false
	for _, u := range urlset.URLs {
		found = found || u.Loc == s.BaseURL+href
	}
	if !found {
		t.Errorf("sitemap does not list %s", href)
	}
	if code, _, about := s.Get(t, "/about"); code != 200 || !strings.Contains(about, "<h1>") {
		t.Errorf("the about page: %d", code)
	}
}

func TestSearchFindsPostsByTheirWords(t *testing.T) {
	s := seeded(t)
	code, _, body := s.Get(t, "/search?q="+url.QueryEscape("bread"))
	if code != 200 || !strings.Contains(body, `post-summary"`) {
		t.Fatalf("search for bread: %d, no results", code)
	}
	if code, _, body := s.Get(t, "/search?q="+url.QueryEscape("zzxqv")); code != 200 || !strings.Contains(body, "Nothing matches") {
		t.Fatalf("search with no match: %d", code)
	}
	if code, _, _ := s.Get(t, "/search?q="+url.QueryEscape("<script>")); code >= 500 {
		t.Fatalf("odd search input: %d", code)
	}
}

func TestUnknownAndUnpublishedPostsAre404(t *testing.T) {
	s := seeded(t)
	for _, path := range []string{"/no-such-post", "/tag/no-such-tag", "/author/nobody", "/?page=999", "/?page=-1"} {
		if code, _, body := s.Get(t, path); code != http.StatusNotFound || !strings.Contains(body, "<html") {
			t.Errorf("GET %s = %d, want the 404 page", path, code)
		}
	}
	pool, _ := pgxpool.New(context.Background(), s.DatabaseURL)
	defer pool.Close()
	var draft string
	if err := pool.QueryRow(context.Background(), `SELECT slug FROM posts WHERE status = 'draft' LIMIT 1`).Scan(&draft); err != nil {
		t.Fatalf("the demo has no draft: %v", err)
	}
	if code, _, _ := s.Get(t, "/"+draft); code != http.StatusNotFound {
		t.Errorf("draft /%s = %d, want 404", draft, code)
	}
	if _, _, home := s.Get(t, "/"); strings.Contains(home, `href="/`+draft+`"`) {
		t.Error("the draft is listed on the home page")
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(s.BaseURL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
		t.Errorf("/admin without signing in: %d to %q, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A newcomer's blog home: an introduction for readers (not developers), a
// search box, a feed link they can see, and the posts' feature images,
// which load.
func TestHomeOffersSearchFeedsAndPictures(t *testing.T) {
	s := seeded(t)
	code, _, home := s.Get(t, "/")
	if code != 200 {
		t.Fatalf("home: %d", code)
	}
	if !regexp.MustCompile(`<form[^>]+action="[^"]*/search"`).MatchString(home) || !strings.Contains(home, `name="q"`) {
		t.Error("the blog home has no search form")
	}
	if !regexp.MustCompile(`<a[^>]+href="[^"]*/rss\.xml"[^>]*>[^<]*RSS`).MatchString(home) {
		t.Error("the blog home has no visible RSS link")
	}
	for _, dev := range []string{"Editors write", "navigation lives", "fragment"} {
		if strings.Contains(home, dev) {
			t.Errorf("the blog home speaks to developers: %q", dev)
		}
	}
	imgs := regexp.MustCompile(`<img src="(/media/[^"]+)"[^>]*class="feature-image"`).FindAllStringSubmatch(home, -1)
	if len(imgs) < 4 {
		t.Fatalf("the blog home shows %d feature images, want the demo posts' pictures", len(imgs))
	}
	for _, m := range imgs {
		code, h, body := s.Get(t, m[1])
		if code != 200 || h.Get("Content-Type") != "image/jpeg" || len(body) < 1000 || len(body) > 64<<10 {
			t.Errorf("GET %s: %d %s, %d bytes", m[1], code, h.Get("Content-Type"), len(body))
		}
	}
}
