package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/safefetch"
	"rose-ash.com/platform/shared/scrape"
	"rose-ash.com/platform/shared/services/products"
)

// The scheduled refresh runs the sources that are due, with conditional
// GETs: a price change is queued for review, and a source just run waits
// for its interval.
func TestRefreshRunsDueSources(t *testing.T) {
	ctx := context.Background()
	price := atomic.Value{}
	price.Store("4.00")
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jam" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		p := price.Load().(string)
		w.Header().Set("ETag", `"`+p+`"`)
		if r.Header.Get("If-None-Match") == `"`+p+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<html><head><script type="application/ld+json">{"@type":"Product","name":"Plum jam","sku":"PJ-1",
"offers":{"price":"`+p+`","priceCurrency":"GBP","availability":"InStock"}}</script></head></html>`)
	}))
	defer srv.Close()

	store := products.New(pgtest.MustPool(t))
	if _, err := store.CreateMarket(ctx, products.MarketInput{Name: "Orchard"}); err != nil {
		t.Fatal(err)
	}
	ms, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := &refreshWorker{}
	if err := w.Work(ctx, nil); err != nil {
		t.Fatalf("a job before the server is built: %v", err)
	}
	w.imports.Store(&products.Imports{Store: store, Currency: products.ImportCurrency,
		Fetcher: scrape.NewFetcher(scrape.FetchOptions{Delay: -1, Allow: scrape.PrivateNetworks, Timeout: 10 * time.Second}),
		Images:  products.DownloadImages(safefetch.New(safefetch.Options{Allow: scrape.PrivateNetworks}), ms, 1<<20)})
	src, err := store.CreateSource(ctx, products.SourceInput{URL: srv.URL + "/jam", Market: "orchard", Trusted: true, RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	p, err := store.Product(ctx, "plum-jam", false)
	if err != nil || p.MinPrice != 400 {
		t.Fatalf("after the first refresh: %+v, %v; want the trusted source's product at £4.00", p, err)
	}
	before := fetches.Load()
	if err := w.Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if fetches.Load() != before {
		t.Fatal("a source run a moment ago was fetched again before its interval")
	}

	// An hour later, with a new price: the page is fetched (not a 304) and
	// the change applied (the source is trusted).
	store.Now = func() time.Time { return time.Now().Add(time.Hour + time.Minute) }
	price.Store("4.50")
	if err := w.Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if p, _ = store.Product(ctx, "plum-jam", false); p.MinPrice != 450 {
		t.Fatalf("price after the refresh = %d, want 450", p.MinPrice)
	}
	got, _ := store.Source(ctx, src.ID)
	if got.ETag != `"4.50"` || got.LastError != "" {
		t.Fatalf("source after the refresh = %+v", got)
	}
}
