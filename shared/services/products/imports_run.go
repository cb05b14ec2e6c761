package products

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/safefetch"
	"rose-ash.com/platform/shared/scrape"
)

// ImageFetcher downloads an image a supplier page shows and stores it in
// the media store, returning the address it is served at ("/media/...").
type ImageFetcher func(ctx context.Context, imageURL string) (string, error)

// DownloadImages returns an ImageFetcher that gets images with client (the
// SSRF-safe client, safefetch) and stores them in store (JPEG, PNG, GIF
// or WebP of at most maxBytes; media.Save checks the content).
func DownloadImages(client *http.Client, store media.Store, maxBytes int64) ImageFetcher {
	return func(ctx context.Context, imageURL string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, imageURL, nil)
		if err != nil {
			return "", models.Errorf(models.EInvalid, "The image address %q cannot be fetched.", imageURL)
		}
		req.Header.Set("Accept", "image/*")
		resp, err := client.Do(req)
		if err != nil {
			return "", models.Wrap(models.EUnavailable, "The image at "+imageURL+" cannot be fetched.", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", models.Errorf(models.EUnavailable, "The image at %s answered %s.", imageURL, resp.Status)
		}
		name, err := media.Save(ctx, store, resp.Body, maxBytes)
		if err != nil {
			return "", models.Wrap(models.Code(err), "The image at "+imageURL+": "+models.Message(err), err)
		}
		return media.URL(name), nil
	}
}

// ImportCurrency is assumed for supplier pages that give prices without a
// currency: the cooperative's.
const ImportCurrency = "GBP"

// NewImports sets up importing from supplier pages into store with cfg's
// scraper settings (scrape.ConfigOptions): pages through the polite
// fetcher, images through the SSRF-safe client into mediaStore (at most
// media.max_bytes each).
func NewImports(cfg *config.Config, store *Store, mediaStore media.Store) *Imports {
	opts := scrape.ConfigOptions(cfg)
	maxImage := cfg.Media.MaxBytes
	images := safefetch.New(safefetch.Options{Timeout: 30 * time.Second, MaxBody: maxImage, UserAgent: opts.UserAgent, Allow: opts.Allow})
	return &Imports{Store: store, Fetcher: scrape.NewFetcher(opts), Currency: ImportCurrency,
		Images: DownloadImages(images, mediaStore, maxImage)}
}

// Imports brings products from supplier pages into the catalogue: it runs
// a source (fetch, extract, record each product in the review queue),
// applies what an admin approves, and applies a trusted source's findings
// at once.
type Imports struct {
	Store *Store
	// Fetcher fetches supplier pages politely through the SSRF-safe client.
	Fetcher *scrape.Fetcher
	// Images downloads the images of an applied import into the media store.
	Images ImageFetcher
	// Currency is assumed for a page that gives prices without one ("" to
	// refuse such pages).
	Currency string
	// MaxPages bounds the pages one run of a listing fetches
	// (scrape.DefaultMaxPages).
	MaxPages int
}

// Sink returns the scrape.Sink that records products found for src in the
// review queue (applied at once when src is trusted).
func (im *Imports) Sink(src Source) scrape.Sink { return &sourceSink{im: im, src: src} }

type sourceSink struct {
	im  *Imports
	src Source
	// applied counts the imports applied by this sink (trusted sources).
	applied int
}

// Record matches a found product with the catalogue (an earlier applied
// import of the same page, or a variant's SKU), compares it with the
// current listing and queues a pending import when it is new or changed;
// for a trusted source the import is applied at once. An unchanged product
// queues nothing.
func (k *sourceSink) Record(ctx context.Context, item scrape.Item) (scrape.Outcome, error) {
	st := k.im.Store
	f, err := normalize(item)
	if err != nil {
		return 0, err
	}
	id, err := st.matchProduct(ctx, item.Page.URL, f, len(item.Page.Products))
	if err != nil {
		return 0, err
	}
	if f.Currency == "" {
		// Prices without a currency are in the matched product's, else
		// the configured one.
		if err := k.assumeCurrency(ctx, &f, id, item.Page.URL); err != nil {
			return 0, err
		}
	}
	cur, changes, err := st.current(ctx, id, f)
	if err != nil {
		return 0, err
	}
	outcome := scrape.New
	if cur != nil {
		if len(changes) == 0 {
			return scrape.Unchanged, nil
		}
		outcome = scrape.Changed
	} else {
		id = uuid.NullUUID{}
	}
	importID, queued, err := st.queue(ctx, k.src.ID, item.Page.URL, id, f, item.Page.Blocks, item.Page.Conflicts)
	if err != nil {
		return 0, err
	}
	if k.src.Trusted {
		if _, err := k.im.apply(ctx, importID, uuid.Nil); err != nil {
			return 0, fmt.Errorf("%q is queued for review: %s", f.Name, errorText(err))
		}
		k.applied++
		return outcome, nil
	}
	if !queued {
		return scrape.Unchanged, nil
	}
	return outcome, nil
}

// assumeCurrency sets the currency of a page that gives none.
func (k *sourceSink) assumeCurrency(ctx context.Context, f *Found, id uuid.NullUUID, pageURL string) error {
	if id.Valid {
		err := k.im.Store.db.QueryRow(ctx, `SELECT currency FROM products WHERE id = $1`, id.UUID).Scan(&f.Currency)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return internal("product currency", err)
		}
	}
	if f.Currency == "" {
		f.Currency = k.im.Currency
	}
	if f.Currency == "" {
		return models.Errorf(models.EInvalid, "The page %s does not say the currency of %q's price.", pageURL, f.Name)
	}
	return nil
}

// Applied is what applying an import did.
type Applied struct {
	Product models.Product
	// ImageErrors say which images could not be downloaded (the product
	// was saved without them).
	ImageErrors []string
}

// Approve applies a pending import as adminID: a new product is created
// (published) in the source's market and category with its images
// downloaded into the media store; a known product gets the page's name,
// description, prices, availability and image. Errors: ENotFound,
// EConflict (decided already, or the product was saved meanwhile), EInvalid
// (the source has no market any more, a SKU taken by another product),
// EInternal.
func (im *Imports) Approve(ctx context.Context, importID, adminID uuid.UUID) (Applied, error) {
	return im.apply(ctx, importID, adminID)
}

func (im *Imports) apply(ctx context.Context, importID, adminID uuid.UUID) (Applied, error) {
	st := im.Store
	by := uuid.NullUUID{UUID: adminID, Valid: adminID != uuid.Nil}
	// Claimed first, so that two admins approving at once apply it once.
	tag, err := st.db.Exec(ctx, `
UPDATE product_imports SET status = 'approved', decided_at = $3, decided_by = $2
WHERE id = $1 AND status = 'pending'`, importID, by, st.now())
	if err != nil {
		return Applied{}, internal("approve import", err)
	}
	if tag.RowsAffected() == 0 {
		return Applied{}, st.decided(ctx, importID)
	}
	res, err := im.write(ctx, importID)
	if err != nil {
		if _, e := st.db.Exec(context.WithoutCancel(ctx), `
UPDATE product_imports SET status = 'pending', decided_at = NULL, decided_by = NULL WHERE id = $1 AND status = 'approved'`,
			importID); e != nil {
			return Applied{}, internal("release import", e)
		}
		return Applied{}, err
	}
	_, err = st.db.Exec(ctx, `UPDATE product_imports SET status = 'applied', product_id = $2 WHERE id = $1`, importID, res.Product.ID)
	if err != nil {
		return Applied{}, internal("mark import applied", err)
	}
	return res, nil
}

// write creates or updates the product an import describes.
func (im *Imports) write(ctx context.Context, importID uuid.UUID) (Applied, error) {
	st := im.Store
	imp, err := st.Import(ctx, importID)
	if err != nil {
		return Applied{}, err
	}
	var res Applied
	f := imp.Found
	if imp.Current == nil {
		src, err := st.importSource(ctx, imp)
		if err != nil {
			return Applied{}, err
		}
		in := ProductInput{Market: src.MarketSlug, Category: src.CategorySlug, Name: f.Name, Description: f.Description,
			Currency: f.Currency, Publish: true}
		if in.Slug, err = st.freeSlug(ctx, f.Name); err != nil {
			return Applied{}, err
		}
		for _, v := range f.Variants {
			in.Variants = append(in.Variants, variantFrom(v, nil))
		}
		in.Images, res.ImageErrors = im.download(ctx, f)
		res.Product, err = st.CreateProduct(ctx, in)
		return res, err
	}
	p := *imp.Current
	in := ProductInput{Market: p.MarketSlug, Category: p.CategorySlug, Slug: p.Slug, Name: f.Name, Summary: p.Summary,
		Description: p.Description, Currency: f.Currency, VATRateBP: p.VATRateBP, Featured: p.Featured,
		Publish: p.Status == models.ProductPublished, Images: p.Images}
	if f.Description != "" {
		in.Description = f.Description
	}
	pairs := matchVariants(f.Variants, p.Variants)
	updated := map[int]VariantInput{}
	var added []VariantInput
	for i, v := range f.Variants {
		if pairs[i] < 0 {
			added = append(added, variantFrom(v, nil))
			continue
		}
		updated[pairs[i]] = variantFrom(v, &p.Variants[pairs[i]])
	}
	for j, c := range p.Variants {
		if u, ok := updated[j]; ok {
			in.Variants = append(in.Variants, u)
			continue
		}
		in.Variants = append(in.Variants, VariantInput{ID: c.ID, Name: c.Name, SKU: c.SKU, Price: c.Price,
			TrackStock: c.TrackStock, Stock: c.Stock, AllowBackorder: c.AllowBackorder})
	}
	in.Variants = append(in.Variants, added...)
	if len(in.Variants) > 1 {
		for i := range in.Variants {
			if in.Variants[i].Name == "" {
				in.Variants[i].Name = cmpOr(in.Variants[i].SKU, "Option "+itoa(i+1))
			}
		}
	}
	for _, c := range imp.Changes {
		if c.Field == "image" {
			imgs, errs := im.download(ctx, f)
			res.ImageErrors = errs
			if len(imgs) > 0 {
				in.Images = imgs
			}
		}
	}
	res.Product, err = st.UpdateProduct(ctx, p.ID, p.Version, in)
	return res, err
}

// variantFrom is a found variant as catalogue input: the price, and stock
// as the page says it (in stock: not tracked; sold out: tracked at zero;
// backorder or pre-order: tracked at zero with backorders). A variant
// whose availability did not change keeps its stock settings.
func variantFrom(v FoundVariant, old *models.Variant) VariantInput {
	in := VariantInput{Name: v.Name, SKU: v.SKU, Price: v.Price}
	if old != nil {
		in.ID, in.TrackStock, in.Stock, in.AllowBackorder = old.ID, old.TrackStock, old.Stock, old.AllowBackorder
		in.Name = cmpOr(v.Name, old.Name)
		in.SKU = cmpOr(v.SKU, old.SKU)
		if sameAvailability(v.Availability, *old) {
			return in
		}
	}
	switch v.Availability {
	case scrape.OutOfStock:
		in.TrackStock, in.Stock, in.AllowBackorder = true, 0, false
	case scrape.Backorder, scrape.Preorder:
		in.TrackStock, in.Stock, in.AllowBackorder = true, 0, true
	default:
		in.TrackStock, in.Stock, in.AllowBackorder = false, 0, false
	}
	return in
}

// download stores the found product's images in the media store; images
// that cannot be had are left out and said.
func (im *Imports) download(ctx context.Context, f Found) ([]models.ProductImage, []string) {
	var out []models.ProductImage
	var errs []string
	for _, u := range f.Images {
		if im.Images == nil {
			errs = append(errs, "Images cannot be downloaded here: "+u+" was left out.")
			continue
		}
		local, err := im.Images(ctx, u)
		if err != nil {
			errs = append(errs, errorText(err))
			continue
		}
		out = append(out, models.ProductImage{URL: local, Alt: f.Name})
	}
	return out, errs
}

// importSource returns the source of an import about a new product, which
// says where the product goes.
func (s *Store) importSource(ctx context.Context, imp Import) (Source, error) {
	if !imp.SourceID.Valid {
		return Source{}, models.Errorf(models.EInvalid, "The source of this import was deleted, so there is no market to put the product in.")
	}
	src, err := s.Source(ctx, imp.SourceID.UUID)
	if err != nil {
		return Source{}, err
	}
	if src.MarketSlug == "" {
		return Source{}, models.Errorf(models.EInvalid, "The source has no market any more: choose one on the source's page, then approve again.")
	}
	return src, nil
}

// freeSlug returns an unused product address made from name: "honey",
// else "honey-2", "honey-3"...
func (s *Store) freeSlug(ctx context.Context, name string) (string, error) {
	base := models.Slugify(name)
	if len(base) > 90 {
		base = strings.TrimRight(base[:90], "-")
	}
	if base == "" {
		base = "product"
	}
	rows, err := s.db.Query(ctx, `SELECT slug FROM products WHERE slug = $1 OR slug LIKE $1 || '-%'`, base)
	if err != nil {
		return "", internal("free slug", err)
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", internal("free slug", err)
	}
	used := map[string]bool{}
	for _, t := range taken {
		used[t] = true
	}
	slug := base
	for n := 2; used[slug]; n++ {
		slug = base + "-" + itoa(n)
	}
	return slug, nil
}

// RunResult is what one run of a source did.
type RunResult struct {
	// Pages is how many pages were fetched.
	Pages int
	// Found is how many products the pages had; New, Changed and Unchanged
	// split them against the catalogue.
	Found, New, Changed, Unchanged int
	// Applied is how many were applied at once (a trusted source).
	Applied int
	// NotModified is set when the source's page answered 304 to a
	// conditional GET.
	NotModified bool
	// Errors are what went wrong, in words (also the source's last error).
	Errors []string
	// Conflicts are the pages' disagreeing product blocks.
	Conflicts []string
}

func (r *RunResult) add(sum scrape.Summary) {
	r.Pages += sum.Pages
	r.Found += sum.Found
	r.New += sum.New
	r.Changed += sum.Changed
	r.Unchanged += sum.Unchanged
	r.Conflicts = append(r.Conflicts, sum.Conflicts...)
	for _, f := range sum.Failures {
		r.Errors = append(r.Errors, errorText(f.Err))
	}
}

// Run fetches a source and records what it finds: each product page's
// products go to the review queue (applied at once for a trusted source);
// a listing's product pages are followed. With conditional, the page is
// asked for only if it changed since the last run (ETag, Last-Modified):
// a product page that did not is nothing to do; a listing that did not has
// its known product pages fetched again. What went wrong (a page that is
// not HTML, has no product or an unreadable price, a site that cannot be
// reached) is in RunResult.Errors and the source's last error; the error
// is only for the source missing (ENotFound) or the database (EInternal).
func (im *Imports) Run(ctx context.Context, sourceID uuid.UUID, conditional bool) (RunResult, error) {
	src, err := im.Store.Source(ctx, sourceID)
	if err != nil {
		return RunResult{}, err
	}
	res, etag, lastModified := im.run(ctx, src, conditional)
	if ctx.Err() != nil {
		res.Errors = append(res.Errors, fmt.Sprintf("The run stopped after %d pages: it took too long.", res.Pages))
	}
	return res, im.Store.saveRun(context.WithoutCancel(ctx), src.ID, res, etag, lastModified)
}

func (im *Imports) run(ctx context.Context, src Source, conditional bool) (res RunResult, etag, lastModified string) {
	if src.MarketSlug == "" {
		res.Errors = append(res.Errors, "The source has no market: choose the market its products go to.")
		return res, "", ""
	}
	sink := &sourceSink{im: im, src: src}
	defer func() { res.Applied = sink.applied }()
	req := scrape.Request{URL: src.URL}
	if conditional {
		req.ETag, req.LastModified = src.ETag, src.LastModified
	}
	res.Pages++
	resp, err := im.Fetcher.Fetch(ctx, req)
	if err != nil {
		res.Errors = append(res.Errors, errorText(err))
		return res, "", ""
	}
	importer := &scrape.Importer{Fetcher: im.Fetcher, Sink: sink, Selectors: src.Selectors, MaxPages: im.MaxPages}
	if resp.NotModified {
		res.NotModified = true
		known, err := im.Store.knownPages(ctx, src)
		if err != nil {
			res.Errors = append(res.Errors, errorText(err))
		} else if len(known) > 0 {
			sum, _ := importer.Import(ctx, known...)
			res.add(sum)
		}
		return res, resp.ETag, resp.LastModified
	}
	page, err := scrape.Extract(resp.Body, resp.URL, src.Selectors)
	if err != nil {
		res.Errors = append(res.Errors, errorText(err))
		return res, "", ""
	}
	page.ETag, page.LastModified = resp.ETag, resp.LastModified
	for _, c := range page.Conflicts {
		res.Conflicts = append(res.Conflicts, page.URL+": "+c)
	}
	for _, p := range page.Products {
		res.Found++
		out, err := sink.Record(ctx, scrape.Item{SourceURL: src.URL, Page: page, Product: p})
		if err != nil {
			res.Errors = append(res.Errors, errorText(err))
			continue
		}
		switch out {
		case scrape.New:
			res.New++
		case scrape.Changed:
			res.Changed++
		case scrape.Unchanged:
			res.Unchanged++
		}
	}
	if next := append(page.Sitemaps, page.ProductURLs...); len(next) > 0 {
		sum, _ := importer.Import(ctx, next...)
		res.add(sum)
	}
	return res, resp.ETag, resp.LastModified
}

// knownPages are the product pages a listing source's earlier imports came
// from (its own address left out).
func (s *Store) knownPages(ctx context.Context, src Source) ([]string, error) {
	rows, err := s.db.Query(ctx, `
SELECT page_url FROM product_imports WHERE source_id = $1 AND page_url <> $2
GROUP BY page_url ORDER BY max(created_at) DESC LIMIT $3`, src.ID, src.URL, scrape.DefaultMaxPages)
	if err != nil {
		return nil, internal("known pages", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, internal("known pages", err)
	}
	return out, nil
}

// RunDue runs, with conditional GETs, up to limit sources whose refresh is
// due, one after another, each for at most perSource. It returns the
// results by source. Errors: EInternal (the runs already done are
// recorded).
func (im *Imports) RunDue(ctx context.Context, limit int, perSource time.Duration) (map[uuid.UUID]RunResult, error) {
	due, err := im.Store.DueSources(ctx, im.Store.now(), limit)
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID]RunResult{}
	for _, src := range due {
		if ctx.Err() != nil {
			return out, nil
		}
		runCtx, cancel := context.WithTimeout(ctx, perSource)
		res, err := im.Run(runCtx, src.ID, true)
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) && models.Code(err) != models.ENotFound {
			return out, err
		}
		out[src.ID] = res
	}
	return out, nil
}
