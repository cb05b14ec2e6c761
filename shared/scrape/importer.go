package scrape

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// DefaultMaxPages bounds the product pages one import of a listing fetches.
const DefaultMaxPages = 200

// Outcome is what a Sink did with a product.
type Outcome int

// Outcomes.
const (
	// New: the product was not known from this source.
	New Outcome = iota + 1
	// Changed: the product was known and differs (price, stock, text...).
	Changed
	// Unchanged: the product was known and is the same.
	Unchanged
)

// String returns "new", "changed" or "unchanged".
func (o Outcome) String() string {
	switch o {
	case New:
		return "new"
	case Changed:
		return "changed"
	case Unchanged:
		return "unchanged"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Item is one product handed to a Sink, with the page it came from.
type Item struct {
	// SourceURL is the address the import was started with (a product
	// page, a category page or a sitemap).
	SourceURL string
	// Page is the page the product is on: its URL, its raw blocks
	// (Product.Block indexes them), its conflicts and validators.
	Page *Page
	// Product is the product.
	Product Product
}

// Sink receives the products an import found. The products domain
// implements it to put them in the market's review queue.
type Sink interface {
	// Record stores or queues item and says whether it is new, changed or
	// unchanged for its source. It is called by Importer.Import, one item
	// at a time; an error counts against the item and the import goes on
	// with the next.
	Record(ctx context.Context, item Item) (Outcome, error)
}

// ValidatorSink is a Sink that remembers the validators (ETag,
// Last-Modified) of the pages it recorded. The Importer then fetches each
// page conditionally, and a page answered "not modified" is counted in
// Summary.NotModified without being read again.
type ValidatorSink interface {
	Sink
	// Validators returns the validators recorded for pageURL, both empty
	// when the page is unknown. An error is a failure of the store; the
	// page is then fetched unconditionally.
	Validators(ctx context.Context, pageURL string) (etag, lastModified string, err error)
}

// MemorySink is a Sink that keeps products in memory, for a dry run and
// tests: a product is new the first time, then changed or unchanged.
type MemorySink struct {
	mu         sync.Mutex
	items      map[string]Item
	order      []string
	validators map[string][2]string
}

// NewMemorySink returns an empty MemorySink.
func NewMemorySink() *MemorySink {
	return &MemorySink{items: map[string]Item{}, validators: map[string][2]string{}}
}

// Validators returns the ETag and Last-Modified of the page last recorded
// at pageURL; it never fails.
func (s *MemorySink) Validators(_ context.Context, pageURL string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.validators[pageURL]
	return v[0], v[1], nil
}

// Record keeps item under its page URL and SKU (or name); it never fails.
func (s *MemorySink) Record(_ context.Context, item Item) (Outcome, error) {
	key := item.Page.URL + "\x00" + sinkKey(item.Product)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validators[item.Page.URL] = [2]string{item.Page.ETag, item.Page.LastModified}
	old, ok := s.items[key]
	s.items[key] = item
	switch {
	case !ok:
		s.order = append(s.order, key)
		return New, nil
	case reflect.DeepEqual(old.Product, item.Product):
		return Unchanged, nil
	}
	return Changed, nil
}

// Items returns what was recorded, in the order first recorded.
func (s *MemorySink) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Item, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.items[k])
	}
	return out
}

// productSitemaps keeps, of a sitemap index's sitemaps, those of products
// when their names say so (Shopify's sitemap_products_1.xml, WooCommerce's
// product-sitemap.xml), so that the shop's pages and posts are not
// fetched as products; all of them otherwise.
func productSitemaps(sitemaps []string) []string {
	var products []string
	for _, s := range sitemaps {
		if strings.Contains(strings.ToLower(s), "product") {
			products = append(products, s)
		}
	}
	if len(products) == 0 {
		return sitemaps
	}
	return products
}

// sinkKey tells products on one page apart: by SKU, or else by name.
func sinkKey(p Product) string {
	if p.SKU != "" {
		return "sku:" + p.SKU
	}
	return "name:" + p.Name
}

// Progress is reported before each page is fetched, and once at the end
// with Done equal to Total and no URL.
type Progress struct {
	// Done is how many pages were fetched so far, Total how many are known
	// to be fetched (it grows when a listing is read).
	Done, Total int
	// URL is the page about to be fetched.
	URL string
}

// Importer fetches pages, extracts their products and records them in a
// Sink.
type Importer struct {
	// Fetcher fetches every page (required).
	Fetcher *Fetcher
	// Sink records each product (required).
	Sink Sink
	// Selectors are the source's CSS selectors, if any.
	Selectors Selectors
	// MaxPages bounds the pages fetched per import, listings and sitemaps
	// included (DefaultMaxPages).
	MaxPages int
	// Progress, when set, is called before each page is fetched and once
	// at the end.
	Progress func(Progress)
}

// Summary is what an import did.
type Summary struct {
	// Pages is how many pages were fetched.
	Pages int
	// Found is how many products were extracted; New, Changed and
	// Unchanged split the recorded ones by Sink outcome.
	Found, New, Changed, Unchanged int
	// Items are the products recorded, in order, with their outcomes.
	Items []RecordedItem
	// Failures are the pages (or products) that failed, with why.
	Failures []Failure
	// Conflicts are the pages' flagged conflicts, prefixed with their URL.
	Conflicts []string
	// Skipped is how many listed pages were left out past MaxPages.
	Skipped int
	// NotModified is how many pages a ValidatorSink knew and the site
	// answered "not modified": their products are as last recorded.
	NotModified int
}

// RecordedItem is a product and what the Sink did with it.
type RecordedItem struct {
	Item
	Outcome Outcome
}

// Failure is a page or product that could not be imported.
type Failure struct {
	URL string
	Err error
}

// Errors returns how many pages or products failed.
func (s Summary) Errors() int { return len(s.Failures) }

// Import fetches each URL (a product page, a category page with a JSON-LD
// ItemList, a sitemap or a sitemap index), extracts its products, follows
// a listing's product links up to MaxPages pages, and records every product
// in the Sink. A page that fails is listed in Summary.Failures and the
// import goes on. The error is non-nil only when ctx ends, or when no
// product at all was found: then it joins the failures (a
// CodeNoProduct *Error when none failed).
func (im *Importer) Import(ctx context.Context, urls ...string) (Summary, error) {
	maxPages := im.MaxPages
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	type job struct{ url, source string }
	queue := make([]job, 0, len(urls))
	seen := map[string]bool{}
	for _, u := range urls {
		if !seen[u] {
			seen[u] = true
			queue = append(queue, job{u, u})
		}
	}
	var sum Summary
	for i := 0; i < len(queue); i++ {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		j := queue[i]
		if im.Progress != nil {
			im.Progress(Progress{Done: i, Total: len(queue), URL: j.url})
		}
		sum.Pages++
		req := Request{URL: j.url}
		if vs, ok := im.Sink.(ValidatorSink); ok {
			if etag, lastModified, err := vs.Validators(ctx, j.url); err == nil {
				req.ETag, req.LastModified = etag, lastModified
			}
		}
		resp, err := im.Fetcher.Fetch(ctx, req)
		if err == nil && resp.NotModified {
			sum.NotModified++
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			sum.Failures = append(sum.Failures, Failure{URL: j.url, Err: err})
			continue
		}
		page, err := Extract(resp.Body, resp.URL, im.Selectors)
		if err != nil {
			sum.Failures = append(sum.Failures, Failure{URL: j.url, Err: err})
			continue
		}
		page.ETag, page.LastModified = resp.ETag, resp.LastModified
		for _, c := range page.Conflicts {
			sum.Conflicts = append(sum.Conflicts, page.URL+": "+c)
		}
		if len(page.Products) == 0 {
			// A listing: its product pages (or a sitemap index's sitemaps)
			// join the queue, up to the bound.
			for _, next := range append(productSitemaps(page.Sitemaps), page.ProductURLs...) {
				if seen[next] {
					continue
				}
				seen[next] = true
				if len(queue) >= maxPages {
					sum.Skipped++
					continue
				}
				queue = append(queue, job{next, j.source})
			}
			continue
		}
		for _, p := range page.Products {
			sum.Found++
			item := Item{SourceURL: j.source, Page: page, Product: p}
			outcome, err := im.Sink.Record(ctx, item)
			if err != nil {
				sum.Failures = append(sum.Failures, Failure{URL: page.URL, Err: fmt.Errorf("record %q: %w", p.Name, err)})
				continue
			}
			switch outcome {
			case New:
				sum.New++
			case Changed:
				sum.Changed++
			case Unchanged:
				sum.Unchanged++
			}
			sum.Items = append(sum.Items, RecordedItem{Item: item, Outcome: outcome})
		}
	}
	if im.Progress != nil {
		im.Progress(Progress{Done: len(queue), Total: len(queue)})
	}
	if sum.Found == 0 && sum.NotModified == 0 {
		if len(sum.Failures) == 0 {
			return sum, errorf(CodeNoProduct, "", nil, "No product was found at %v", urls)
		}
		errs := make([]error, 0, len(sum.Failures))
		for _, f := range sum.Failures {
			errs = append(errs, f.Err)
		}
		return sum, errors.Join(errs...)
	}
	return sum, nil
}
