package scrape

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func productPage(name, price string) string {
	return fmt.Sprintf(`<html><head><script type="application/ld+json">{"@type":"Product","name":%q,"offers":{"price":%q,"priceCurrency":"GBP"}}</script></head></html>`, name, price)
}

// Importing a category page fetches each product it lists and records it
// in the sink; a product page that fails is reported and the rest go on;
// importing again finds the products unchanged, or changed.
func TestScrapeImportListing(t *testing.T) {
	s := startShop(t)
	s.page("/honey/", `<html><head><script type="application/ld+json">{"@type":"ItemList","itemListElement":[
		{"@type":"ListItem","position":1,"url":"/p/heather"},{"@type":"ListItem","position":2,"url":"/p/borage"},
		{"@type":"ListItem","position":3,"url":"/p/gone"}]}</script></head></html>`)
	s.page("/p/heather", productPage("Heather Honey", "7.25"))
	s.page("/p/borage", productPage("Borage Honey", "6,00"))
	sink := NewMemorySink()
	var progress []Progress
	im := &Importer{Fetcher: testFetcher(FetchOptions{}), Sink: sink, Progress: func(p Progress) { progress = append(progress, p) }}
	sum, err := im.Import(context.Background(), s.URL+"/honey/")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pages != 4 || sum.Found != 2 || sum.New != 2 || sum.Errors() != 1 || ErrorCode(sum.Failures[0].Err) != CodeHTTPStatus ||
		!strings.HasSuffix(sum.Failures[0].URL, "/p/gone") {
		t.Fatalf("summary %+v, want 4 pages, 2 new products and /p/gone's 404", sum)
	}
	if got := sink.Items(); len(got) != 2 || got[0].Product.Name != "Heather Honey" || got[0].SourceURL != s.URL+"/honey/" ||
		got[1].Product.Variants[0].PriceMinor != 600 {
		t.Errorf("sink holds %+v", got)
	}
	if len(progress) != 5 || progress[0].Total != 1 || progress[1].Total != 4 || progress[4].Done != 4 {
		t.Errorf("progress %+v, want 1 page known, then the listing's 3 more, then done", progress)
	}

	s.page("/p/borage", productPage("Borage Honey", "6.50"))
	sum, err = im.Import(context.Background(), s.URL+"/honey/")
	if err != nil || sum.Unchanged != 1 || sum.Changed != 1 || sum.New != 0 {
		t.Fatalf("second import: %+v, %v; want heather unchanged and borage changed", sum, err)
	}

	// The bound holds: a listing longer than MaxPages is cut short.
	im.MaxPages = 2
	if sum, _ = im.Import(context.Background(), s.URL+"/honey/"); sum.Pages != 2 || sum.Skipped != 2 {
		t.Errorf("with MaxPages 2: %d pages, %d skipped; want 2 and 2", sum.Pages, sum.Skipped)
	}
}

// An import that finds nothing says why.
func TestScrapeImportNothing(t *testing.T) {
	s := startShop(t)
	s.page("/about", `<html><head><title>About us</title></head><body>We keep bees.</body></html>`)
	im := &Importer{Fetcher: testFetcher(FetchOptions{}), Sink: NewMemorySink()}
	sum, err := im.Import(context.Background(), s.URL+"/about")
	if ErrorCode(err) != CodeNoProduct || sum.Found != 0 || !strings.Contains(err.Error(), "has no product data") {
		t.Fatalf("page without products: %v", err)
	}
	s.handle("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>%s/p/honey</loc></url></urlset>`, s.URL)
	})
	s.page("/p/honey", productPage("Clover Honey", "5"))
	if sum, err = im.Import(context.Background(), s.URL+"/sitemap.xml"); err != nil || sum.Found != 1 || sum.Items[0].Product.Variants[0].PriceMinor != 500 {
		t.Fatalf("sitemap import: %+v, %v", sum, err)
	}
}

// A sink that remembers validators gets conditional GETs: an unchanged
// page is not read again, and that is not a failure.
func TestScrapeImportConditional(t *testing.T) {
	s := startShop(t)
	s.handle("/p/honey", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"honey-1"`)
		if r.Header.Get("If-None-Match") == `"honey-1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, productPage("Heather Honey", "7.25"))
	})
	im := &Importer{Fetcher: testFetcher(FetchOptions{}), Sink: NewMemorySink()}
	if sum, err := im.Import(context.Background(), s.URL+"/p/honey"); err != nil || sum.New != 1 {
		t.Fatalf("first import: %+v, %v", sum, err)
	}
	sum, err := im.Import(context.Background(), s.URL+"/p/honey")
	if err != nil || sum.NotModified != 1 || sum.Found != 0 {
		t.Fatalf("second import: %+v, %v; want the page not modified", sum, err)
	}
}

// From a sitemap index, only the product sitemaps are followed when their
// names say which they are.
func TestScrapeProductSitemaps(t *testing.T) {
	all := []string{"https://s.example/sitemap_pages_1.xml", "https://s.example/sitemap_products_1.xml", "https://s.example/sitemap_blogs_1.xml"}
	if got := productSitemaps(all); len(got) != 1 || got[0] != all[1] {
		t.Errorf("productSitemaps = %q", got)
	}
	plain := []string{"https://s.example/sitemap-1.xml", "https://s.example/sitemap-2.xml"}
	if got := productSitemaps(plain); len(got) != 2 {
		t.Errorf("productSitemaps(unnamed) = %q, want both", got)
	}
}
