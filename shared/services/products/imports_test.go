package products_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/safefetch"
	"rose-ash.com/platform/shared/scrape"
	"rose-ash.com/platform/shared/services/products"
)

// supplier is a supplier's web site on loopback: product pages whose
// body the test changes, with an ETag so that conditional GETs work.
type supplier struct {
	srv *httptest.Server
	mu  sync.Mutex
	// pages maps a path to its content type and body.
	pages map[string][2]string
	// notModified counts the 304s answered.
	notModified int
}

func newSupplier(t *testing.T) *supplier {
	t.Helper()
	s := &supplier{pages: map[string][2]string{}}
	img := supplierPNG(t)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/img/honey.png" {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(img)
			return
		}
		s.mu.Lock()
		page, ok := s.pages[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := fmt.Sprintf(`"%x"`, crc32.ChecksumIEEE([]byte(page[1])))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			s.mu.Lock()
			s.notModified++
			s.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", page[0])
		_, _ = io.WriteString(w, page[1])
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *supplier) set(path, contentType, body string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = [2]string{contentType, body}
	return s.srv.URL + path
}

func supplierPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 3))
	img.Set(1, 1, color.RGBA{200, 150, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// productPage is a supplier's product page with one JSON-LD Product.
func productPage(name, sku, price, availability string) string {
	return `<!doctype html><html><head><title>` + name + `</title>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"` + name + `","sku":"` + sku + `",
 "description":"Raw honey from the heather. <img src=x onerror=alert(1)>","image":"/img/honey.png",
 "offers":{"@type":"Offer","price":"` + price + `","priceCurrency":"GBP","availability":"https://schema.org/` + availability + `"}}</script>
</head><body><h1>` + name + `</h1></body></html>`
}

// importTest is a catalogue with one market and category, a supplier on
// loopback and the importer reaching it (private addresses allowed, as
// SCRAPE_ALLOW_PRIVATE_ADDRESS does in development).
type importTest struct {
	ctx   context.Context
	st    *products.Store
	im    *products.Imports
	media *media.DiskStore
	sup   *supplier
}

func newImportTest(t *testing.T) importTest {
	t.Helper()
	ctx := context.Background()
	st := products.New(pgtest.MustPool(t))
	if _, err := st.CreateMarket(ctx, products.MarketInput{Name: "Hillside Bees"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveCategory(ctx, uuid.Nil, products.CategoryInput{Name: "Honey"}); err != nil {
		t.Fatal(err)
	}
	store, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	fetcher := scrape.NewFetcher(scrape.FetchOptions{UserAgent: scrape.UserAgent("https://blog.example"), Delay: -1, Allow: loopback, Timeout: 10 * time.Second})
	client := safefetch.New(safefetch.Options{Timeout: 10 * time.Second, MaxBody: 1 << 20, Allow: loopback})
	im := &products.Imports{Store: st, Fetcher: fetcher, Images: products.DownloadImages(client, store, 1<<20), Currency: "GBP"}
	return importTest{ctx: ctx, st: st, im: im, media: store, sup: newSupplier(t)}
}

func (it importTest) source(t *testing.T, pageURL string, trusted bool) products.Source {
	t.Helper()
	src, err := it.st.CreateSource(it.ctx, products.SourceInput{URL: pageURL, Market: "hillside-bees", Category: "honey", Trusted: trusted})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (it importTest) run(t *testing.T, src products.Source, conditional bool) products.RunResult {
	t.Helper()
	res, err := it.im.Run(it.ctx, src.ID, conditional)
	if err != nil {
		t.Fatalf("run %s: %v", src.URL, err)
	}
	return res
}

func (it importTest) pending(t *testing.T) []products.Import {
	t.Helper()
	list, _, err := it.st.PendingImports(it.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// An import queues the product for review, with the block it was read
// from; approving it creates the product, published, with the page's
// price and its image downloaded into the media store.
func TestImportWaitsForReviewThenApprovalPublishesIt(t *testing.T) {
	it := newImportTest(t)
	page := it.sup.set("/p/heather-honey", "text/html; charset=utf-8", productPage("Heather honey", "HH-340", "7.25", "InStock"))
	src := it.source(t, page, false)

	res := it.run(t, src, false)
	if res.Found != 1 || res.New != 1 || len(res.Errors) != 0 {
		t.Fatalf("run = %+v, want 1 found, 1 new, no errors", res)
	}
	if p, err := it.st.Products(it.ctx, products.Query{Drafts: true}); err != nil || p.Total != 0 {
		t.Fatalf("catalogue before review: %d products, %v; want none", p.Total, err)
	}
	queue := it.pending(t)
	if len(queue) != 1 {
		t.Fatalf("%d pending imports, want 1", len(queue))
	}
	imp := queue[0]
	if imp.Current != nil || imp.Found.Name != "Heather honey" || imp.Found.Variants[0].Price != 725 || imp.Found.Currency != "GBP" {
		t.Fatalf("pending import = %+v", imp)
	}
	block, ok := imp.FoundBlock()
	if !ok || block.Method != scrape.MethodJSONLD || !strings.Contains(block.Raw, `"price":"7.25"`) {
		t.Fatalf("provenance = %+v, %v; want the JSON-LD block with the price", block, ok)
	}
	if !strings.Contains(imp.Found.Description, "Raw honey from the heather.") || strings.Contains(imp.Found.Description, "onerror") {
		t.Errorf("description %q: want the page's text without its script handler", imp.Found.Description)
	}
	after, err := it.st.Source(it.ctx, src.ID)
	if err != nil || after.LastRunAt == nil || after.LastFound != 1 || after.LastError != "" || after.Pending != 1 {
		t.Fatalf("source after the run = %+v, %v", after, err)
	}

	applied, err := it.im.Approve(it.ctx, imp.ID, uuid.Nil)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	p, err := it.st.Product(it.ctx, applied.Product.Slug, false)
	if err != nil {
		t.Fatalf("the approved product is not published: %v", err)
	}
	if p.Name != "Heather honey" || p.MinPrice != 725 || p.MarketSlug != "hillside-bees" || p.CategorySlug != "honey" || !p.InStock {
		t.Fatalf("product = %+v", p)
	}
	if len(applied.ImageErrors) != 0 || len(p.Images) != 1 || !strings.HasPrefix(p.Images[0].URL, "/media/") {
		t.Fatalf("images = %+v (errors %v); want one stored in the media store", p.Images, applied.ImageErrors)
	}
	f, _, err := it.media.Open(it.ctx, strings.TrimPrefix(p.Images[0].URL, "/media/"))
	if err != nil {
		t.Fatalf("the image is not in the media store: %v", err)
	}
	f.Close()
	if got := it.pending(t); len(got) != 0 {
		t.Fatalf("%d pending after approval, want 0", len(got))
	}
	done, err := it.st.Import(it.ctx, imp.ID)
	if err != nil || done.Status != products.ImportApplied || done.ProductID.UUID != p.ID {
		t.Fatalf("import after approval = %+v, %v", done, err)
	}
	if _, err := it.im.Approve(it.ctx, imp.ID, uuid.Nil); models.Code(err) != models.EConflict {
		t.Fatalf("second approval: %v, want EConflict", err)
	}

	// The same page again changes nothing and queues nothing.
	res = it.run(t, src, false)
	if res.Unchanged != 1 || res.New+res.Changed != 0 {
		t.Fatalf("run of an unchanged page = %+v, want 1 unchanged", res)
	}
	if got := it.pending(t); len(got) != 0 {
		t.Fatalf("%d pending after an unchanged run, want 0", len(got))
	}
}

// A refresh that finds a new price queues the change with the
// difference; the listing keeps its price until an admin approves. A page
// that did not change answers 304 and queues nothing.
func TestRefreshQueuesAPriceChangeWithTheDifference(t *testing.T) {
	it := newImportTest(t)
	page := it.sup.set("/p/honey", "text/html", productPage("Heather honey", "HH-340", "7.25", "InStock"))
	src := it.source(t, page, false)
	it.run(t, src, false)
	if _, err := it.im.Approve(it.ctx, it.pending(t)[0].ID, uuid.Nil); err != nil {
		t.Fatal(err)
	}

	res := it.run(t, src, true)
	if !res.NotModified || res.Found != 0 || it.sup.notModified != 1 {
		t.Fatalf("conditional refresh of an unchanged page = %+v (%d 304s), want not modified", res, it.sup.notModified)
	}

	it.sup.set("/p/honey", "text/html", productPage("Heather honey", "HH-340", "7.95", "OutOfStock"))
	res = it.run(t, src, true)
	if res.Changed != 1 || res.NotModified {
		t.Fatalf("refresh after a price change = %+v, want 1 changed", res)
	}
	queue := it.pending(t)
	if len(queue) != 1 || queue[0].Current == nil {
		t.Fatalf("queue = %+v, want the change of the known product", queue)
	}
	changes := map[string]products.Change{}
	for _, c := range queue[0].Changes {
		changes[c.Field] = c
	}
	if c := changes["price"]; c.Old != "£7.25" || c.New != "£7.95" {
		t.Errorf("price change = %+v, want £7.25 → £7.95", c)
	}
	if c := changes["availability"]; c.Old != "In stock" || c.New != "Sold out" {
		t.Errorf("availability change = %+v, want In stock → Sold out", c)
	}
	if _, ok := changes["name"]; ok || len(queue[0].Changes) != 2 {
		t.Errorf("changes = %+v, want only price and availability", queue[0].Changes)
	}
	p, _ := it.st.Product(it.ctx, "heather-honey", true)
	if p.MinPrice != 725 {
		t.Fatalf("price before approval = %d, want 725 still", p.MinPrice)
	}

	// A second refresh before the review replaces the waiting change.
	it.sup.set("/p/honey", "text/html", productPage("Heather honey", "HH-340", "8.10", "OutOfStock"))
	it.run(t, src, true)
	if queue = it.pending(t); len(queue) != 1 || queue[0].Found.Variants[0].Price != 810 {
		t.Fatalf("queue after a second change = %+v, want the one import with £8.10", queue)
	}

	if _, err := it.im.Approve(it.ctx, queue[0].ID, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	p, _ = it.st.Product(it.ctx, "heather-honey", true)
	if p.MinPrice != 810 || p.Variants[0].Buyable() || len(p.Variants) != 1 {
		t.Fatalf("product after approval = %+v, want £8.10 and sold out", p)
	}
}

// A trusted source's changes are applied at once, still recorded.
func TestTrustedSourceAppliesAtOnce(t *testing.T) {
	it := newImportTest(t)
	page := it.sup.set("/p/comb", "text/html", productPage("Honey comb", "HC-1", "12.00", "InStock"))
	src := it.source(t, page, true)
	res := it.run(t, src, false)
	if res.New != 1 || res.Applied != 1 {
		t.Fatalf("run = %+v, want 1 new applied", res)
	}
	p, err := it.st.Product(it.ctx, "honey-comb", false)
	if err != nil || p.MinPrice != 1200 || len(p.Images) != 1 {
		t.Fatalf("product = %+v, %v; want it published at £12.00 with its image", p, err)
	}
	it.sup.set("/p/comb", "text/html", productPage("Honey comb", "HC-1", "13.50", "InStock"))
	if res := it.run(t, src, true); res.Changed != 1 || res.Applied != 1 {
		t.Fatalf("refresh = %+v, want 1 changed applied", res)
	}
	if p, _ = it.st.Product(it.ctx, "honey-comb", false); p.MinPrice != 1350 {
		t.Fatalf("price after a trusted refresh = %d, want 1350", p.MinPrice)
	}
	if q := it.pending(t); len(q) != 0 {
		t.Fatalf("%d pending for a trusted source, want 0", len(q))
	}
	list, err := it.st.SourceImports(it.ctx, src.ID, 10)
	if err != nil || len(list) != 2 || list[0].Status != products.ImportApplied {
		t.Fatalf("source imports = %+v, %v; want two applied", list, err)
	}
}

// Rejecting leaves the catalogue as it was.
func TestRejectLeavesTheCatalogue(t *testing.T) {
	it := newImportTest(t)
	src := it.source(t, it.sup.set("/p/wax", "text/html", productPage("Beeswax block", "", "3.00", "InStock")), false)
	it.run(t, src, false)
	imp := it.pending(t)[0]
	if err := it.st.Reject(it.ctx, imp.ID, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := it.st.Products(it.ctx, products.Query{Drafts: true}); p.Total != 0 {
		t.Fatalf("%d products after a rejection, want 0", p.Total)
	}
	if _, err := it.im.Approve(it.ctx, imp.ID, uuid.Nil); models.Code(err) != models.EConflict {
		t.Fatalf("approving a rejected import: %v, want EConflict", err)
	}
	if err := it.st.Reject(it.ctx, uuid.New(), uuid.Nil); models.Code(err) != models.ENotFound {
		t.Fatalf("rejecting no import: %v, want ENotFound", err)
	}
}

// Pages that cannot be imported leave a clear error on the source.
func TestUnreadablePagesAreTheSourcesError(t *testing.T) {
	it := newImportTest(t)
	cases := []struct{ path, ctype, body, want string }{
		{"/about", "text/html", "<html><body><p>We keep bees.</p></body></html>", "no product data"},
		{"/price.pdf", "application/pdf", "%PDF-1.4", "not an HTML page"},
		{"/bad-price", "text/html", productPage("Odd honey", "OH-1", "call us", "InStock"), "price"},
		{"/gone", "", "", "404"},
	}
	for _, c := range cases {
		u := it.sup.srv.URL + c.path
		if c.ctype != "" {
			u = it.sup.set(c.path, c.ctype, c.body)
		}
		src := it.source(t, u, false)
		res := it.run(t, src, false)
		after, err := it.st.Source(it.ctx, src.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) == 0 || !strings.Contains(after.LastError, c.want) || after.LastRunAt == nil {
			t.Errorf("%s: errors %q, last error %q; want one mentioning %q", c.path, res.Errors, after.LastError, c.want)
		}
	}
	if q := it.pending(t); len(q) != 0 {
		t.Fatalf("%d pending from unreadable pages, want 0", len(q))
	}
}

// A page with two Product blocks that disagree is queued with the
// conflict, for the admin to see.
func TestConflictingBlocksAreFlagged(t *testing.T) {
	it := newImportTest(t)
	body := `<html><head>
<script type="application/ld+json">{"@type":"Product","name":"Clover honey","sku":"CL-1","offers":{"price":"5.00","priceCurrency":"GBP"}}</script>
<script type="application/ld+json">{"@type":"Product","name":"Clover honey","sku":"CL-1","offers":{"price":"5.50","priceCurrency":"GBP"}}</script>
</head><body></body></html>`
	src := it.source(t, it.sup.set("/p/clover", "text/html", body), false)
	it.run(t, src, false)
	q := it.pending(t)
	if len(q) != 1 || len(q[0].Conflicts) == 0 || len(q[0].Raw) != 2 {
		t.Fatalf("queue = %+v, want one import with a conflict and both blocks", q)
	}
}

// Sources are validated, and the refresh finds those that are due.
func TestSourcesValidateAndFallDue(t *testing.T) {
	it := newImportTest(t)
	bad := []products.SourceInput{
		{URL: "", Market: "hillside-bees"},
		{URL: "ftp://example.com/x", Market: "hillside-bees"},
		{URL: "https://example.com/x"},
		{URL: "https://example.com/x", Market: "hillside-bees", RefreshInterval: time.Minute},
		{URL: "https://example.com/x", Market: "hillside-bees", Selectors: scrape.Selectors{Name: "h1[", Price: ".p"}},
		{URL: "https://example.com/x", Market: "hillside-bees", Selectors: scrape.Selectors{Price: ".p"}},
	}
	for _, in := range bad {
		if _, err := it.st.CreateSource(it.ctx, in); models.Code(err) != models.EInvalid {
			t.Errorf("CreateSource(%+v) = %v, want EInvalid", in, err)
		}
	}
	if _, err := it.st.CreateSource(it.ctx, products.SourceInput{URL: "https://example.com/x", Market: "nowhere"}); models.Code(err) != models.ENotFound {
		t.Errorf("unknown market: %v, want ENotFound", err)
	}
	src := it.source(t, it.sup.srv.URL+"/x", false)
	if _, err := it.st.CreateSource(it.ctx, products.SourceInput{URL: src.URL, Market: "hillside-bees"}); models.Code(err) != models.EConflict {
		t.Errorf("duplicate source: %v, want EConflict", err)
	}
	if src.RefreshInterval != products.DefaultRefreshInterval {
		t.Errorf("refresh interval = %s, want the default", src.RefreshInterval)
	}
	due, err := it.st.DueSources(it.ctx, time.Now(), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due = %d, %v; want the source never run", len(due), err)
	}
	upd, err := it.st.UpdateSource(it.ctx, src.ID, products.SourceInput{URL: src.URL, Market: "hillside-bees", RefreshInterval: 2 * time.Hour, Trusted: true})
	if err != nil || upd.RefreshInterval != 2*time.Hour || !upd.Trusted || upd.CategorySlug != "" {
		t.Fatalf("update = %+v, %v", upd, err)
	}
	it.run(t, upd, true) // a 404: an error, but a run
	if due, _ = it.st.DueSources(it.ctx, time.Now(), 10); len(due) != 0 {
		t.Fatalf("due right after a run = %d, want 0", len(due))
	}
	if due, _ = it.st.DueSources(it.ctx, time.Now().Add(2*time.Hour+time.Second), 10); len(due) != 1 {
		t.Fatalf("due after the interval = %d, want 1", len(due))
	}
	if err := it.st.DeleteSource(it.ctx, src.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := it.st.Source(it.ctx, src.ID); models.Code(err) != models.ENotFound {
		t.Fatalf("deleted source: %v", err)
	}
}

// The difference pairs variants by SKU, then name, says each price and
// availability change per variant, a variant the listing lacks, and a new
// image; a page that does not say the availability agrees with any.
func TestDiffPerVariant(t *testing.T) {
	current := models.Product{Name: "Honey", Currency: "GBP", Description: "<p>Runny &amp; raw.</p>",
		Images: []models.ProductImage{{URL: "/media/ab/old.png"}},
		Variants: []models.Variant{
			{Name: "340 g", SKU: "H-340", Price: 500},
			{Name: "1 kg", SKU: "H-1K", Price: 1200, TrackStock: true, Stock: 0},
		}}
	found := products.Found{Name: "Honey", Currency: "GBP", Description: "<p>Runny &amp; raw.</p>", Images: []string{"https://s.example/new.png"},
		Variants: []products.FoundVariant{
			{Name: "1 kg", SKU: "H-1K", Price: 1200, Availability: scrape.InStock},
			{Name: "340 g", SKU: "H-340", Price: 550},
			{Name: "2 kg", SKU: "H-2K", Price: 2000, Availability: scrape.InStock},
		}}
	got := map[string]string{}
	for _, c := range products.Diff(found, current, []string{"https://s.example/old.png"}) {
		got[c.Label] = c.Old + " → " + c.New
	}
	want := map[string]string{
		"Price (340 g)":       "£5.00 → £5.50",
		"Availability (1 kg)": "Sold out → In stock",
		"New variant 2 kg":    " → £20.00, In stock",
		"Image":               "/media/ab/old.png → https://s.example/new.png",
	}
	if len(got) != len(want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	found.Images = []string{"https://s.example/old.png"}
	found.Variants = found.Variants[:2]
	found.Variants[0].Availability = ""
	found.Variants[1].Price = 500
	if d := products.Diff(found, current, []string{"https://s.example/old.png"}); len(d) != 0 {
		t.Errorf("the same product differs: %+v", d)
	}
}

// A category page's products are followed and each queued; when the
// category page has not changed (304), its known product pages are still
// fetched, so a price change on one of them is found.
func TestListingSourceFollowsItsProductPages(t *testing.T) {
	it := newImportTest(t)
	it.sup.set("/p/heather", "text/html", productPage("Heather honey", "HH-1", "7.25", "InStock"))
	it.sup.set("/p/borage", "text/html", productPage("Borage honey", "BH-1", "6.00", "InStock"))
	list := it.sup.set("/honey", "text/html", `<html><head><script type="application/ld+json">
{"@context":"https://schema.org","@type":"ItemList","itemListElement":[
 {"@type":"ListItem","position":1,"url":"/p/heather"},{"@type":"ListItem","position":2,"url":"/p/borage"}]}</script></head></html>`)
	src := it.source(t, list, true)
	res := it.run(t, src, true)
	if res.Found != 2 || res.New != 2 || res.Applied != 2 || res.Pages != 3 {
		t.Fatalf("run of a listing = %+v, want 3 pages, 2 new products applied", res)
	}
	it.sup.set("/p/borage", "text/html", productPage("Borage honey", "BH-1", "6.40", "InStock"))
	res = it.run(t, src, true)
	if !res.NotModified || res.Changed != 1 || res.Unchanged != 1 {
		t.Fatalf("refresh of an unchanged listing = %+v, want its pages fetched: 1 changed, 1 unchanged", res)
	}
	if p, _ := it.st.Product(it.ctx, "borage-honey", false); p.MinPrice != 640 {
		t.Fatalf("borage honey at %d, want 640", p.MinPrice)
	}
}
