package scrape

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the corpus's expected extractions (testdata/*.json)")

// corpusPage is one saved supplier page of testdata/.
type corpusPage struct {
	name string // file name without extension
	file string
	body []byte // as saved, in its own encoding
	sel  Selectors
}

// pageURL is the address a corpus page is extracted as if fetched from.
func (c corpusPage) pageURL() string { return "https://shop.example/catalogue/" + c.file }

func mustCorpus(tb testing.TB) []corpusPage {
	tb.Helper()
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		tb.Fatal(err)
	}
	var out []corpusPage
	for _, f := range files {
		ext := filepath.Ext(f)
		if ext != ".html" && ext != ".xml" {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		c := corpusPage{name: strings.TrimSuffix(filepath.Base(f), ext), file: filepath.Base(f), body: body}
		if raw, err := os.ReadFile(strings.TrimSuffix(f, ext) + ".selectors.json"); err == nil {
			if err := json.Unmarshal(raw, &c.sel); err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
		}
		out = append(out, c)
	}
	if len(out) < 15 {
		tb.Fatalf("the corpus has %d pages; testdata/ is incomplete", len(out))
	}
	return out
}

// extraction is what a corpus page's golden file holds.
type goldenExtraction struct {
	Page  *Page        `json:"page,omitempty"`
	Error *goldenError `json:"error,omitempty"`
}

type goldenError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func extractCorpusPage(c corpusPage) (*Page, error) {
	body, err := UTF8(c.body, "")
	if err != nil {
		return nil, err
	}
	return Extract(body, c.pageURL(), c.sel)
}

// Every saved page extracts as its golden file says (go test -update
// rewrites them; read the diff before committing it).
func TestScrapeExtractCorpus(t *testing.T) {
	for _, c := range mustCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			page, err := extractCorpusPage(c)
			got := goldenExtraction{Page: page}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not a *scrape.Error", err)
				}
				got.Error = &goldenError{Code: e.Code, Message: e.Error()}
			}
			out, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, '\n')
			golden := filepath.Join("testdata", c.name+".json")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no expected extraction (run go test -update and check it): %v", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("extraction of %s differs from %s:\n got: %s\nwant: %s", c.file, golden, out, want)
			}
		})
	}
}

// What a user would notice on each corpus page, stated independently of
// the golden files so that a careless -update cannot bless a regression.
func TestScrapeExtractCorpusFacts(t *testing.T) {
	pages := map[string]corpusPage{}
	for _, c := range mustCorpus(t) {
		pages[c.name] = c
	}
	extract := func(t *testing.T, name string) *Page {
		t.Helper()
		page, err := extractCorpusPage(pages[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return page
	}
	first := func(t *testing.T, name string) (Product, Variant) {
		t.Helper()
		p := extract(t, name)
		if len(p.Products) != 1 || len(p.Products[0].Variants) == 0 {
			t.Fatalf("%s: products %+v, want one with a price", name, p.Products)
		}
		return p.Products[0], p.Products[0].Variants[0]
	}
	for _, tc := range []struct {
		page                     string
		name, source, currency   string
		price, high              int64
		availability, firstImage string
	}{
		{"jsonld_graph", "Heather Honey 340g", MethodJSONLD, "GBP", 1250, 0, InStock, "https://shop.example/wp-content/uploads/2024/07/heather-honey.jpg"},
		{"jsonld_productgroup", "Wildflower Seed Mix", MethodJSONLD, "GBP", 450, 0, InStock, "https://cdn.example/files/wsm-10g.jpg"},
		{"jsonld_aggregateoffer", "Beeswax Food Wraps", MethodJSONLD, "GBP", 900, 2400, InStock, "https://cdn.example/s/files/beeswax-wraps.jpg?v=1700000000"},
		{"jsonld_aggregate_offers", "Oak Chopping Board", MethodJSONLD, "USD", 3500, 0, InStock, "https://shop.example/img/oak-board.jpg"},
		{"jsonld_decimal_comma", "Bergkäse 12 Monate", MethodJSONLD, "EUR", 725, 0, InStock, "https://shop.example/catalogue/bilder/bergkaese.jpg"},
		{"jsonld_jpy", "煎茶 100g", MethodJSONLD, "JPY", 1200, 0, InStock, "https://shop.example/img/sencha.jpg"},
		{"microdata", "Damson Jam", MethodMicrodata, "GBP", 595, 0, InStock, "https://shop.example/images/damson-jam.jpg"},
		{"rdfa", "Blue Cheshire", MethodRDFa, "GBP", 1480, 0, OutOfStock, "https://shop.example/cheese/blue-cheshire.jpg"},
		{"opengraph", "Linen Tea Towel", MethodOpenGraph, "GBP", 1600, 0, InStock, "https://shop.example/media/linen-towel.jpg"},
		{"broken_jsonld", "Cold Pressed Rapeseed Oil", MethodMicrodata, "GBP", 650, 0, InStock, ""},
		{"latin1", "Crème brûlée", MethodJSONLD, "EUR", 390, 0, InStock, ""},
		{"selectors", "White Sourdough Loaf", MethodSelectors, "GBP", 420, 0, InStock, "https://shop.example/photos/sourdough.jpg"},
		{"conflict", "Smoked Salmon 200g", MethodJSONLD, "GBP", 950, 0, InStock, ""},
	} {
		t.Run(tc.page, func(t *testing.T) {
			p, v := first(t, tc.page)
			if p.Name != tc.name || p.Source != tc.source || v.Currency != tc.currency || v.PriceMinor != tc.price ||
				v.HighPriceMinor != tc.high || v.Availability != tc.availability {
				t.Errorf("got %q by %s, %s %d-%d %s; want %q by %s, %s %d-%d %s", p.Name, p.Source, v.Currency, v.PriceMinor, v.HighPriceMinor,
					v.Availability, tc.name, tc.source, tc.currency, tc.price, tc.high, tc.availability)
			}
			if tc.firstImage != "" && (len(p.Images) == 0 || p.Images[0] != tc.firstImage) {
				t.Errorf("images %q, want %q first", p.Images, tc.firstImage)
			}
		})
	}

	t.Run("variants", func(t *testing.T) {
		p, _ := first(t, "jsonld_productgroup")
		want := []Variant{
			{Name: "Wildflower Seed Mix - 10 g", SKU: "WSM-10G", PriceMinor: 450, Currency: "GBP", Availability: InStock},
			{Name: "Wildflower Seed Mix - 50 g", SKU: "WSM-50G", PriceMinor: 1800, Currency: "GBP", Availability: OutOfStock},
			{Name: "Wildflower Seed Mix - 1 kg", SKU: "WSM-1KG", PriceMinor: 24900, Currency: "GBP", Availability: Backorder},
		}
		if !equalVariants(p.Variants, want) {
			t.Errorf("variants %+v, want %+v", p.Variants, want)
		}
		g, _ := first(t, "jsonld_group_and_variants")
		want = []Variant{
			{Name: "Raw Honey Jar 227g", SKU: "RHJ-227", PriceMinor: 550, Currency: "GBP", Availability: InStock},
			{Name: "Raw Honey Jar 454g", SKU: "RHJ-454", PriceMinor: 900, Currency: "GBP", Availability: InStock},
		}
		if !equalVariants(g.Variants, want) || g.Description != "Raw, unheated honey. Spoon or squeeze." {
			t.Errorf("group with variants by @id: %+v, want %+v and the description without HTML", g, want)
		}
		d, _ := first(t, "jsonld_decimal_comma")
		if len(d.Variants) != 2 || d.Variants[1].PriceMinor != 123450 || d.Variants[1].Availability != Preorder {
			t.Errorf("decimal comma offers %+v, want the second at EUR 1234.50, pre-order", d.Variants)
		}
		o, _ := first(t, "jsonld_aggregate_offers")
		if len(o.Variants) != 2 || o.Variants[1].PriceMinor != 123450 || o.Variants[1].SKU != "OCB-XL" {
			t.Errorf("aggregate offers %+v, want the second at USD 1234.50", o.Variants)
		}
	})
	t.Run("broken JSON-LD is kept with its error", func(t *testing.T) {
		p := extract(t, "broken_jsonld")
		if p.Blocks[0].Method != MethodJSONLD || !strings.Contains(p.Blocks[0].Error, "invalid JSON") {
			t.Errorf("blocks %+v, want the broken JSON-LD first with its error", p.Blocks)
		}
	})
	t.Run("conflicts are flagged with every block kept", func(t *testing.T) {
		p := extract(t, "conflict")
		if len(p.Products) != 1 {
			t.Errorf("products %+v, want the theme's one (the duplicate dropped)", p.Products)
		}
		joined := strings.Join(p.Conflicts, "\n")
		if len(p.Conflicts) < 2 || !strings.Contains(joined, "GBP 9.50") || !strings.Contains(joined, "GBP 8.75") || !strings.Contains(joined, "out of stock") {
			t.Errorf("conflicts %q, want the 9.50/8.75 prices and the in/out of stock disagreement", p.Conflicts)
		}
		if len(p.Blocks) != 3 || !strings.Contains(p.Blocks[1].Raw, `"8.75"`) || p.Blocks[2].Method != MethodMicrodata {
			t.Errorf("blocks %+v, want both JSON-LD scripts and the microdata", p.Blocks)
		}
	})
	t.Run("listings", func(t *testing.T) {
		want := map[string][]string{
			"itemlist": {"https://shop.example/product/heather-honey/", "https://shop.example/product/borage-honey/", "https://shop.example/product/comb-honey/"},
			"sitemap":  {"https://shop.example/products/wildflower-seed-mix", "https://shop.example/products/beeswax-wraps", "https://shop.example/products/oak-board"},
		}
		for name, urls := range want {
			if got := extract(t, name).ProductURLs; strings.Join(got, " ") != strings.Join(urls, " ") {
				t.Errorf("%s: product URLs %q, want %q", name, got, urls)
			}
		}
		if got := extract(t, "sitemap_index").Sitemaps; len(got) != 2 || got[0] != "https://shop.example/sitemap_products_1.xml?from=1&to=999" {
			t.Errorf("sitemap index: %q", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for name, code := range map[string]Code{"no_product": CodeNoProduct, "bad_price": CodeBadPrice} {
			_, err := extractCorpusPage(pages[name])
			if ErrorCode(err) != code || !strings.Contains(err.Error(), "https://shop.example/catalogue/"+name) {
				t.Errorf("%s: %v, want %s naming the page", name, err, code)
			}
		}
	})
}

func equalVariants(a, b []Variant) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A page past 16 MiB is refused with a clear error, not parsed.
func TestScrapeExtractRefusesHugePage(t *testing.T) {
	body := bytes.Repeat([]byte("<p>filler</p>\n"), 20<<20/14)
	_, err := Extract(body, "https://shop.example/huge", Selectors{})
	if ErrorCode(err) != CodeTooLarge || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Fatalf("20 MB page: %v, want %s", err, CodeTooLarge)
	}
}

// Text that is not HTML, and selectors that do not parse, give coded errors.
func TestScrapeExtractErrors(t *testing.T) {
	if _, err := Extract([]byte("<html><body><h1>x</h1></body></html>"), "https://shop.example/x", Selectors{Name: "h1[", Price: ".p"}); ErrorCode(err) != CodeBadSelector {
		t.Errorf("bad selector: %v", err)
	}
	if _, err := Extract([]byte("%PDF-1.4 binary"), "https://shop.example/x.pdf", Selectors{}); ErrorCode(err) != CodeNoProduct {
		t.Errorf("not a product page: %v", err)
	}
	if _, err := Extract([]byte("<html></html>"), "ftp://shop.example/", Selectors{}); ErrorCode(err) != CodeFetch {
		t.Errorf("ftp address: %v", err)
	}
}

func TestScrapeParseMinor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		exp  int
		want int64
		bad  bool
	}{
		{"7.25", 2, 725, false},
		{"7,25", 2, 725, false},
		{"1.234,50", 2, 123450, false},
		{"1,234.50", 2, 123450, false},
		{"1 234,50", 2, 123450, false},
		{"1\u00a0234,50 €", 2, 123450, false},
		{"1'234.50", 2, 123450, false},
		{"1,234", 2, 123400, false},
		{"12.9", 2, 1290, false},
		{"12.9900", 2, 1299, false},
		{"£4.20 each", 2, 420, false},
		{"From £9", 2, 900, false},
		{"1200", 0, 1200, false},
		{"1,200", 0, 1200, false},
		{"0.125", 3, 125, false},
		{"0", 2, 0, false},
		{"1.234.567", 2, 123456700, false},
		{"7.255", 2, 0, true},
		{"-5.00", 2, 0, true},
		{"Call for price", 2, 0, true},
		{"", 2, 0, true},
		{"1e3", 2, 0, true},
		{"99999999999999999999", 2, 0, true},
	} {
		got, err := ParseMinor(tc.in, tc.exp)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseMinor(%q, %d) = %d, %v; want %d (error %v)", tc.in, tc.exp, got, err, tc.want, tc.bad)
		}
	}
	if s := FormatMinor(725, "GBP"); s != "7.25" {
		t.Errorf("FormatMinor(725, GBP) = %s", s)
	}
	if s := FormatMinor(5, "EUR"); s != "0.05" {
		t.Errorf("FormatMinor(5, EUR) = %s", s)
	}
	if s := FormatMinor(1200, "JPY"); s != "1200" {
		t.Errorf("FormatMinor(1200, JPY) = %s", s)
	}
}

func TestScrapePlainText(t *testing.T) {
	for in, want := range map[string]string{
		"Set of three.": "Set of three.",
		"<p>Ling heather honey,</p><p>cold extracted &amp; <strong>unfiltered</strong>.</p>": "Ling heather honey, cold extracted & unfiltered.",
		"3 < 4": "3 < 4",
	} {
		if got := plainText(in); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrapeNormalizeAvailability(t *testing.T) {
	for in, want := range map[string]string{
		"https://schema.org/InStock": InStock, "http://schema.org/OutOfStock": OutOfStock, "InStock": InStock,
		"OutOfStock": OutOfStock, "PreOrder": Preorder, "BackOrder": Backorder, "schema:SoldOut": OutOfStock,
		"instock": InStock, "oos": OutOfStock, "In stock": InStock, "Out of stock": OutOfStock, "LimitedAvailability": InStock,
		"whenever": "",
	} {
		if got := normalizeAvailability(in); got != want {
			t.Errorf("normalizeAvailability(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkExtract extracts every corpus page on one core and reports
// pages per second.
func BenchmarkExtract(b *testing.B) {
	corpus := mustCorpus(b)
	bodies := make([][]byte, len(corpus))
	for i, c := range corpus {
		var err error
		if bodies[i], err = UTF8(c.body, ""); err != nil {
			b.Fatal(err)
		}
	}
	var size int64
	for _, body := range bodies {
		size += int64(len(body))
	}
	b.SetBytes(size) // MB/s says what a page larger than the corpus's would cost
	b.ReportAllocs()
	b.ResetTimer()
	pages := 0
	for b.Loop() {
		for i, c := range corpus {
			Extract(bodies[i], c.pageURL(), c.sel)
			pages++
		}
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}

// BenchmarkExtractLargePage extracts a product page of the size shops
// really serve (about 300 KB: a related-products grid, inline scripts
// and styles around the product), on one core.
func BenchmarkExtractLargePage(b *testing.B) {
	var page corpusPage
	for _, c := range mustCorpus(b) {
		if c.name == "jsonld_graph" {
			page = c
		}
	}
	var grid strings.Builder
	grid.WriteString(`<script>window.theme={"strings":{"addToCart":"Add to basket","soldOut":"Sold out"},"moneyFormat":"£{{amount}}"};</script>`)
	grid.WriteString(`<style>` + strings.Repeat(".grid__item{display:flex;flex-direction:column;margin:0 0 1rem}", 200) + `</style><ul class="grid">`)
	for i := range 400 {
		fmt.Fprintf(&grid, `<li class="grid__item"><a href="/products/item-%d" class="card"><img src="//cdn.example/files/item-%d_360x.jpg" srcset="//cdn.example/files/item-%d_180x.jpg 180w, //cdn.example/files/item-%d_360x.jpg 360w" alt="Item %d" loading="lazy" width="360" height="360"><span class="card__title">Related product number %d</span><span class="price"><span class="money">£%d.99</span></span></a></li>`, i, i, i, i, i, i, i%40)
	}
	grid.WriteString(`</ul>`)
	body := bytes.Replace(page.body, []byte("</main>"), []byte(grid.String()+"</main>"), 1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if p, err := Extract(body, page.pageURL(), Selectors{}); err != nil || len(p.Products) != 1 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(len(body))/1024, "KB/page")
}

// Whatever a page holds, Extract returns a page or an *Error, never a
// panic, and every price it returns is non-negative.
func FuzzScrapeExtract(f *testing.F) {
	for _, c := range mustCorpus(f) {
		f.Add(c.body)
	}
	f.Add([]byte(`<script type="application/ld+json">{"@type":"Product","name":"x","offers":{"price":"1e400"}}</script>`))
	f.Add([]byte(`<div itemscope itemtype="Product"><span itemprop="name">x</span><span itemprop="price">,,,</span></div>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := Extract(body, "https://shop.example/p", Selectors{Name: "h1", Price: ".price"})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("error %v is not a *scrape.Error with a message", err)
			}
			return
		}
		for _, p := range page.Products {
			for _, v := range p.Variants {
				if v.PriceMinor < 0 || v.HighPriceMinor < 0 {
					t.Fatalf("negative price %+v", v)
				}
			}
		}
	})
}
