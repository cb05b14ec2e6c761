package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/servicetest"
)

// supplierSite serves robots.txt and a honey page on loopback, as a
// supplier's shop would.
func supplierSite(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nAllow: /\n")
		case "/honey.html":
			if !strings.HasPrefix(r.Header.Get("User-Agent"), "RoseAshBot/1.0 (+http://blog.localhost:8001)") {
				http.Error(w, "who are you?", http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<html><head><script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebPage"},
				{"@type":"Product","name":"Heather Honey 123","sku":"HH-123","image":"/honey.png",
				 "offers":{"price":"7,25","priceCurrency":"GBP","availability":"InStock"}}]}</script></head><body></body></html>`)
		case "/about.html":
			fmt.Fprint(w, "<html><head><title>About us</title></head><body>We keep bees.</body></html>")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// scrapeEnv is the environment of a developer's shell: no DATABASE_URL
// needed, since the dry run stores nothing.
func scrapeEnv(t *testing.T) map[string]string {
	return map[string]string{
		"CONFIG_FILE":                  filepath.Join(servicetest.RepoRoot(t), config.DefaultFile),
		"ROSEASH_STATE":                t.TempDir(),
		"SCRAPE_ALLOW_PRIVATE_ADDRESS": "true",
		"SCRAPE_DELAY":                 "0s",
	}
}

// `roseash scrape URL` lists the products found with their prices after
// a summary of what it did.
func TestScrapeCommand(t *testing.T) {
	site := supplierSite(t)
	env := scrapeEnv(t)
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"scrape", site.URL + "/honey.html"}, func(k string) string { return env[k] }, &out, &errOut)
	if err != nil {
		t.Fatalf("scrape: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"[1/1] fetching " + site.URL + "/honey.html\n",
		"found  new  changed  unchanged  errors",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !regexp.MustCompile(`(?m)^1 +1 +0 +0 +0 *$`).MatchString(got) {
		t.Errorf("summary row is not found 1, new 1, changed 0, unchanged 0, errors 0:\n%s", got)
	}
	if !regexp.MustCompile(`(?m)^Heather Honey 123 +GBP 7\.25 +in stock +new$`).MatchString(got) {
		t.Errorf("no line for the product with its price and stock:\n%s", got)
	}
}

// Nothing extracted is a failure, with each page's error printed; a page
// on loopback is refused without SCRAPE_ALLOW_PRIVATE_ADDRESS, and that
// setting is refused in production.
func TestScrapeCommandFailures(t *testing.T) {
	site := supplierSite(t)
	env := scrapeEnv(t)
	getenv := func(k string) string { return env[k] }
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"scrape", site.URL + "/about.html"}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "has no product data") || !regexp.MustCompile(`(?m)^0 +0 +0 +0 +1 *$`).MatchString(out.String()) {
		t.Errorf("page without products: %v\n%s", err, out.String())
	}

	out.Reset()
	env["SCRAPE_ALLOW_PRIVATE_ADDRESS"] = ""
	err = run(context.Background(), []string{"scrape", site.URL + "/honey.html"}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "SCRAPE_ALLOW_PRIVATE_ADDRESS=true") || !strings.Contains(out.String(), "private or reserved address") {
		t.Errorf("loopback supplier without SCRAPE_ALLOW_PRIVATE_ADDRESS: %v\n%s", err, out.String())
	}

	env["SCRAPE_ALLOW_PRIVATE_ADDRESS"] = "true"
	env["APP_ENV"] = "production"
	env["DATABASE_URL"], env["REDIS_URL"], env["SECRET_KEY"] = "postgres://x@127.0.0.1/x", "redis://127.0.0.1:6379/0", strings.Repeat("k", 32)
	err = scrapeCmd(context.Background(), []string{site.URL + "/honey.html"}, getenv, &out, drySink)
	if err == nil || !strings.Contains(err.Error(), "scrape.allow_private_address") {
		t.Errorf("SCRAPE_ALLOW_PRIVATE_ADDRESS in production: %v", err)
	}

	if err := scrapeCmd(context.Background(), nil, getenv, &out, drySink); err == nil || !strings.Contains(err.Error(), "needs the address") {
		t.Errorf("no URL: %v", err)
	}
}

// `roseash scrape -market SLUG URL` puts what it finds in that market's
// review queue, under a source for the address (made once), as the
// admin's importer does; an unknown market is refused before fetching.
func TestScrapeCommandQueuesForReview(t *testing.T) {
	site := supplierSite(t)
	dbURL := pgtest.MustDatabaseURL(t)
	env := scrapeEnv(t)
	env["DATABASE_URL"], env["MEDIA_DIR"] = dbURL, t.TempDir()
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	pool, err := cliPool(ctx, dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := products.New(pool)
	if _, err := store.CreateMarket(ctx, products.MarketInput{Slug: "hill-farm", Name: "Hill Farm"}); err != nil {
		t.Fatal(err)
	}

	var out, errOut strings.Builder
	err = run(ctx, []string{"scrape", "-market", "nowhere", site.URL + "/honey.html"}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "-market nowhere") {
		t.Errorf("an unknown market: %v", err)
	}
	// The second run finds what the first queued: nothing new to review.
	for _, outcome := range []string{"new", "unchanged"} {
		out.Reset()
		if err := run(ctx, []string{"scrape", "-market", "hill-farm", site.URL + "/honey.html"}, getenv, &out, &errOut); err != nil {
			t.Fatalf("scrape -market: %v\n%s", err, out.String())
		}
		if !regexp.MustCompile(`(?m)^Heather Honey 123 +GBP 7\.25 +in stock +` + outcome + `$`).MatchString(out.String()) {
			t.Errorf("the product is not reported %s:\n%s", outcome, out.String())
		}
	}
	pending, total, err := store.PendingImports(ctx)
	if err != nil || total != 1 || pending[0].Found.Name != "Heather Honey 123" || pending[0].SourceURL != site.URL+"/honey.html" {
		t.Fatalf("review queue after two runs: %d %+v %v", total, pending, err)
	}
	sources, err := store.Sources(ctx)
	if err != nil || len(sources) != 1 || sources[0].MarketSlug != "hill-farm" || sources[0].Trusted {
		t.Errorf("sources: %+v %v", sources, err)
	}
	// Nothing is published before an admin approves it.
	if page, err := store.Search(ctx, "heather", 1, 10); err != nil || page.Total != 0 {
		t.Errorf("the scraped product is listed before review: %d %v", page.Total, err)
	}
}
