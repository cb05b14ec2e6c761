package products

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/scrape"
)

// Found is a product as an import read it from a supplier page,
// normalized for the catalogue: one currency, prices in minor units, a
// sanitized description. It is kept as JSON with the import.
type Found struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"` // sanitized HTML
	SKU         string `json:"sku,omitempty"`
	Brand       string `json:"brand,omitempty"`
	// URL is the product's canonical address on the supplier's site.
	URL string `json:"url,omitempty"`
	// Images are the supplier's image addresses (downloaded when the
	// import is applied, never hot-linked).
	Images   []string       `json:"images,omitempty"`
	Currency string         `json:"currency"`
	Variants []FoundVariant `json:"variants"`
	// Method is how the product was read (scrape.MethodJSONLD...); Block
	// indexes the import's Raw: the data it came from.
	Method string `json:"method"`
	Block  int    `json:"block"`
}

// FoundVariant is one offer of a Found product.
type FoundVariant struct {
	Name  string `json:"name,omitempty"`
	SKU   string `json:"sku,omitempty"`
	Price int64  `json:"price"` // minor units of Found.Currency
	// Availability is scrape.InStock, OutOfStock, Backorder, Preorder or
	// "" when the page does not say.
	Availability string `json:"availability,omitempty"`
}

// Import is one entry of the review queue: what a supplier page showed of
// a product, against the product it matches (if any).
type Import struct {
	ID        uuid.UUID
	SourceID  uuid.NullUUID
	SourceURL string // "" when the source was deleted
	Trusted   bool   // the source is trusted
	PageURL   string
	ProductID uuid.NullUUID
	Status    string
	Found     Found
	// Raw is the structured data the page carried, each block with the
	// method that read it (provenance); Found.Block indexes it.
	Raw []scrape.Block
	// Conflicts describe product blocks of the page that disagree.
	Conflicts []string
	CreatedAt time.Time
	DecidedAt *time.Time
	// Current is the matched product as it stands now; nil for a new
	// product (or one deleted since).
	Current *models.Product
	// Changes are the differences between Found and Current (nil for a
	// new product).
	Changes []Change
}

// FoundBlock returns the raw block the product was read from, if known.
func (im Import) FoundBlock() (scrape.Block, bool) {
	if im.Found.Block < 0 || im.Found.Block >= len(im.Raw) {
		return scrape.Block{}, false
	}
	return im.Raw[im.Found.Block], true
}

// Change is one difference between a supplier page and the current
// listing, as words: "Price (500 g)": "£4.50" → "£4.95".
type Change struct {
	// Field is "name", "description", "currency", "price",
	// "availability", "variant" (a variant the listing lacks) or "image".
	Field    string
	Label    string
	Old, New string
}

// maxImages bounds the images an import keeps of a product; maxRawBlock
// and maxRawBlocks bound the provenance it keeps of a page.
const (
	maxImages    = 8
	maxRawBlock  = 64 << 10
	maxRawBlocks = 20
)

// normalize turns a scraped product into a Found: the page's one
// currency ("" when the page names none), variant names and SKUs that fit
// the catalogue, a sanitized description. An error says why the product
// cannot be imported, in words for the source's page.
func normalize(item scrape.Item) (Found, error) {
	p := item.Product
	f := Found{Name: strings.TrimSpace(p.Name), SKU: fitSKU(p.SKU), Brand: strings.TrimSpace(p.Brand), URL: p.URL,
		Method: p.Source, Block: p.Block}
	page := item.Page.URL
	if f.Name == "" {
		return f, models.Errorf(models.EInvalid, "A product on %s has no name.", page)
	}
	if len(f.Name) > 200 {
		f.Name = strings.ToValidUTF8(f.Name[:200], "")
	}
	if len(p.Variants) == 0 {
		return f, models.Errorf(models.EInvalid, "The page %s shows no price for %q.", page, f.Name)
	}
	for _, v := range p.Variants {
		c := strings.ToUpper(strings.TrimSpace(v.Currency))
		switch {
		case c == "":
		case f.Currency == "":
			f.Currency = c
		case f.Currency != c:
			return f, models.Errorf(models.EInvalid, "%q on %s has prices in several currencies (%s and %s).", f.Name, page, f.Currency, c)
		}
	}
	for i, v := range p.Variants {
		if i == MaxVariants {
			break
		}
		if v.PriceMinor < 0 {
			return f, models.Errorf(models.EInvalid, "The price of %q on %s is negative.", f.Name, page)
		}
		fv := FoundVariant{Name: strings.TrimSpace(v.Name), SKU: fitSKU(v.SKU), Price: v.PriceMinor, Availability: v.Availability}
		if fv.Name == f.Name {
			fv.Name = ""
		}
		if len(fv.Name) > 120 {
			fv.Name = strings.ToValidUTF8(fv.Name[:120], "")
		}
		f.Variants = append(f.Variants, fv)
	}
	if len(f.Variants) == 1 && f.Variants[0].SKU == "" {
		f.Variants[0].SKU = f.SKU
	}
	if len(f.Variants) > 1 {
		seen := map[string]bool{}
		for i := range f.Variants {
			v := &f.Variants[i]
			if v.Name == "" || seen[strings.ToLower(v.Name)] {
				v.Name = strings.TrimSpace(v.Name + " " + cmpOr(v.SKU, "option "+itoa(i+1)))
			}
			seen[strings.ToLower(v.Name)] = true
		}
	}
	f.Description = descriptionHTML(p.Description)
	for _, img := range p.Images {
		if len(f.Images) == maxImages {
			break
		}
		if img != "" && !slices.Contains(f.Images, img) {
			f.Images = append(f.Images, img)
		}
	}
	return f, nil
}

func fitSKU(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return ""
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

var looksLikeHTML = regexp.MustCompile(`<(p|br|ul|ol|li|b|strong|em|i|h[1-6]|div|span|a)[\s/>]`)

// descriptionHTML makes a supplier's description catalogue HTML: markup
// is sanitized, plain text becomes escaped paragraphs.
func descriptionHTML(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !looksLikeHTML.MatchString(s) {
		var b strings.Builder
		for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
			if para = strings.TrimSpace(para); para != "" {
				b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(para), "\n", "<br/>") + "</p>")
			}
		}
		s = b.String()
	}
	return SanitizeDescription(s)
}

// availabilityOf is a variant's stock state as a page would say it.
func availabilityOf(v models.Variant) string {
	switch v.StockState() {
	case models.StockSoldOut:
		return scrape.OutOfStock
	case models.StockBackorder:
		return scrape.Backorder
	default:
		return scrape.InStock
	}
}

// sameAvailability says whether a page's availability agrees with the
// variant's state; a page that does not say agrees with anything.
func sameAvailability(found string, v models.Variant) bool {
	if found == scrape.Preorder {
		found = scrape.Backorder
	}
	return found == "" || found == availabilityOf(v)
}

// AvailabilityText says an availability for the review page.
func AvailabilityText(a string) string {
	switch a {
	case scrape.InStock:
		return "In stock"
	case scrape.OutOfStock:
		return "Sold out"
	case scrape.Backorder:
		return "Available to order"
	case scrape.Preorder:
		return "Pre-order"
	}
	return "Not said"
}

// matchVariants pairs each found variant with the index of the current
// variant it updates (-1 for one the listing lacks): by SKU, then by
// name, then a single variant with a single variant.
func matchVariants(found []FoundVariant, current []models.Variant) []int {
	out := make([]int, len(found))
	used := make([]bool, len(current))
	for i := range out {
		out[i] = -1
	}
	pair := func(same func(FoundVariant, models.Variant) bool) {
		for i, f := range found {
			if out[i] >= 0 {
				continue
			}
			for j, c := range current {
				if !used[j] && same(f, c) {
					out[i], used[j] = j, true
					break
				}
			}
		}
	}
	pair(func(f FoundVariant, c models.Variant) bool { return f.SKU != "" && f.SKU == c.SKU })
	pair(func(f FoundVariant, c models.Variant) bool { return f.Name != "" && strings.EqualFold(f.Name, c.Name) })
	if len(found) == 1 && len(current) == 1 && out[0] < 0 && !used[0] {
		out[0] = 0
	}
	return out
}

// Diff lists how found differs from the current product: name,
// description, currency, each variant's price and availability, variants
// the listing lacks, and the image (lastImages are the supplier's images
// when the product was last imported, to tell a new image from the one
// already downloaded).
func Diff(found Found, current models.Product, lastImages []string) []Change {
	var out []Change
	if found.Name != current.Name {
		out = append(out, Change{Field: "name", Label: "Name", Old: current.Name, New: found.Name})
	}
	// Compared as text: sanitizing the same HTML twice need not give the
	// same markup.
	if found.Description != "" && plainText(found.Description, maxCompared) != plainText(current.Description, maxCompared) {
		out = append(out, Change{Field: "description", Label: "Description", Old: plainText(current.Description, 200), New: plainText(found.Description, 200)})
	}
	if found.Currency != current.Currency {
		out = append(out, Change{Field: "currency", Label: "Currency", Old: current.Currency, New: found.Currency})
	}
	pairs := matchVariants(found.Variants, current.Variants)
	for i, f := range found.Variants {
		label := cmpOr(f.Name, "")
		newPrice := models.Money{Minor: f.Price, Currency: found.Currency}.String()
		if pairs[i] < 0 {
			out = append(out, Change{Field: "variant", Label: "New variant " + cmpOr(label, f.SKU),
				New: newPrice + ", " + AvailabilityText(f.Availability)})
			continue
		}
		c := current.Variants[pairs[i]]
		if label == "" || len(current.Variants) == 1 {
			label = c.Name
		}
		suffix := ""
		if label != "" && (len(found.Variants) > 1 || len(current.Variants) > 1) {
			suffix = " (" + label + ")"
		}
		if f.Price != c.Price || found.Currency != current.Currency {
			out = append(out, Change{Field: "price", Label: "Price" + suffix,
				Old: models.Money{Minor: c.Price, Currency: current.Currency}.String(), New: newPrice})
		}
		if !sameAvailability(f.Availability, c) {
			out = append(out, Change{Field: "availability", Label: "Availability" + suffix,
				Old: AvailabilityText(availabilityOf(c)), New: AvailabilityText(f.Availability)})
		}
	}
	if len(found.Images) > 0 && (len(current.Images) == 0 || len(lastImages) == 0 || lastImages[0] != found.Images[0]) {
		out = append(out, Change{Field: "image", Label: "Image", Old: current.Image(), New: found.Images[0]})
	}
	return out
}

var tags = regexp.MustCompile(`<[^>]*>`)

// maxCompared is more text than a description may have: plainText keeps
// all of it.
const maxCompared = 200000

// plainText is HTML as at most n characters of text.
func plainText(s string, n int) string {
	s = strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(s, " "))), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// matchProduct finds the product a found product updates: one an earlier
// applied import from the same page brought (the only one, or the one with
// the same SKU or name), else one with a variant of the same SKU.
func (s *Store) matchProduct(ctx context.Context, pageURL string, f Found, productsOnPage int) (uuid.NullUUID, error) {
	rows, err := s.db.Query(ctx, `
SELECT DISTINCT ON (i.product_id) i.product_id, coalesce(i.found->>'sku', ''), coalesce(i.found->>'name', '')
FROM product_imports i JOIN products p ON p.id = i.product_id
WHERE i.page_url = $1 AND i.status = 'applied'
ORDER BY i.product_id, i.created_at DESC`, pageURL)
	if err != nil {
		return uuid.NullUUID{}, internal("match product", err)
	}
	type earlier struct {
		id        uuid.UUID
		sku, name string
	}
	before, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (earlier, error) {
		var e earlier
		return e, r.Scan(&e.id, &e.sku, &e.name)
	})
	if err != nil {
		return uuid.NullUUID{}, internal("match product", err)
	}
	if len(before) == 1 && productsOnPage == 1 {
		return uuid.NullUUID{UUID: before[0].id, Valid: true}, nil
	}
	for _, e := range before {
		if f.SKU != "" && e.sku == f.SKU {
			return uuid.NullUUID{UUID: e.id, Valid: true}, nil
		}
	}
	for _, e := range before {
		if strings.EqualFold(e.name, f.Name) {
			return uuid.NullUUID{UUID: e.id, Valid: true}, nil
		}
	}
	var skus []string
	for _, v := range f.Variants {
		if v.SKU != "" {
			skus = append(skus, v.SKU)
		}
	}
	if f.SKU != "" {
		skus = append(skus, f.SKU)
	}
	if len(skus) == 0 {
		return uuid.NullUUID{}, nil
	}
	var id uuid.NullUUID
	err = s.db.QueryRow(ctx, `SELECT product_id FROM product_variants WHERE sku = ANY($1) ORDER BY created_at LIMIT 1`, skus).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return uuid.NullUUID{}, internal("match product by SKU", err)
	}
	return id, nil
}

// lastImages returns the supplier's images of the product's last applied
// import.
func (s *Store) lastImages(ctx context.Context, productID uuid.UUID) ([]string, error) {
	var raw []byte
	err := s.db.QueryRow(ctx, `
SELECT coalesce(found->'images', '[]'::jsonb) FROM product_imports
WHERE product_id = $1 AND status = 'applied' ORDER BY decided_at DESC NULLS LAST, created_at DESC LIMIT 1`, productID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, internal("last imported images", err)
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, internal("last imported images", err)
	}
	return out, nil
}

// current returns the product an import matched as it stands, with how
// found differs from it; nil when there is none (a new product, or one
// deleted since).
func (s *Store) current(ctx context.Context, id uuid.NullUUID, f Found) (*models.Product, []Change, error) {
	if !id.Valid {
		return nil, nil, nil
	}
	p, err := s.ProductByID(ctx, id.UUID, true)
	if models.Code(err) == models.ENotFound {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	last, err := s.lastImages(ctx, p.ID)
	if err != nil {
		return nil, nil, err
	}
	return &p, Diff(f, p, last), nil
}

// rawBlocks bounds the provenance kept of a page.
func rawBlocks(blocks []scrape.Block) []scrape.Block {
	out := make([]scrape.Block, 0, min(len(blocks), maxRawBlocks))
	for i, b := range blocks {
		if i == maxRawBlocks {
			break
		}
		if len(b.Raw) > maxRawBlock {
			b.Raw = strings.ToValidUTF8(b.Raw[:maxRawBlock], "") + "\n… (cut: the block is longer)"
		}
		out = append(out, b)
	}
	return out
}

// queue records what a page showed of a product as a pending import,
// replacing an older pending one for the same page and product (a refresh
// before the review). It returns the import's id, and whether the queue
// changed (false when the same finding was already waiting).
func (s *Store) queue(ctx context.Context, sourceID uuid.UUID, pageURL string, productID uuid.NullUUID, f Found,
	raw []scrape.Block, conflicts []string) (uuid.UUID, bool, error) {
	found, err := json.Marshal(f)
	if err != nil {
		return uuid.Nil, false, internal("queue import", err)
	}
	rawJSON, err := json.Marshal(rawBlocks(raw))
	if err != nil {
		return uuid.Nil, false, internal("queue import", err)
	}
	if conflicts == nil {
		conflicts = []string{}
	}
	var id uuid.UUID
	changed := true
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var old []byte
		err := tx.QueryRow(ctx, `
SELECT id, found FROM product_imports
WHERE status = 'pending' AND source_id = $1 AND page_url = $2 AND product_id IS NOT DISTINCT FROM $3
  AND ($3::uuid IS NOT NULL OR CASE WHEN $4 <> '' THEN found->>'sku' = $4 ELSE lower(found->>'name') = lower($5) END)
ORDER BY created_at DESC LIMIT 1 FOR UPDATE`, sourceID, pageURL, productID, f.SKU, f.Name).Scan(&id, &old)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			err = tx.QueryRow(ctx, `
INSERT INTO product_imports (source_id, page_url, product_id, found, raw, conflicts)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, sourceID, pageURL, productID, found, rawJSON, conflicts).Scan(&id)
			if err != nil {
				return internal("queue import", err)
			}
			return nil
		case err != nil:
			return internal("queue import", err)
		}
		var was Found
		if json.Unmarshal(old, &was) == nil {
			again, _ := json.Marshal(was)
			changed = !bytes.Equal(again, found)
		}
		_, err = tx.Exec(ctx, `UPDATE product_imports SET found = $2, raw = $3, conflicts = $4, created_at = now() WHERE id = $1`,
			id, found, rawJSON, conflicts)
		if err != nil {
			return internal("queue import", err)
		}
		return nil
	})
	return id, changed, err
}

const importColumns = `
SELECT i.id, i.source_id, coalesce(s.url, ''), coalesce(s.trusted, false), i.page_url, i.product_id, i.status,
       i.found, i.raw, i.conflicts, i.created_at, i.decided_at
FROM product_imports i LEFT JOIN product_sources s ON s.id = i.source_id`

func scanImport(r pgx.Row) (Import, error) {
	var im Import
	var found, raw []byte
	err := r.Scan(&im.ID, &im.SourceID, &im.SourceURL, &im.Trusted, &im.PageURL, &im.ProductID, &im.Status,
		&found, &raw, &im.Conflicts, &im.CreatedAt, &im.DecidedAt)
	if err != nil {
		return im, err
	}
	if err := json.Unmarshal(found, &im.Found); err != nil {
		return im, err
	}
	if err := json.Unmarshal(raw, &im.Raw); err != nil {
		return im, err
	}
	return im, nil
}

// withCurrent fills an import's Current and Changes.
func (s *Store) withCurrent(ctx context.Context, im *Import) error {
	var err error
	im.Current, im.Changes, err = s.current(ctx, im.ProductID, im.Found)
	return err
}

// MaxPendingShown bounds the review queue's page.
const MaxPendingShown = 100

// PendingImports returns the review queue, oldest first (at most
// MaxPendingShown), each with the product it matches as it stands and the
// differences; total is the queue's whole length. Errors: EInternal.
func (s *Store) PendingImports(ctx context.Context) (list []Import, total int, err error) {
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM product_imports WHERE status = 'pending'`).Scan(&total); err != nil {
		return nil, 0, internal("count pending imports", err)
	}
	rows, err := s.db.Query(ctx, importColumns+` WHERE i.status = 'pending' ORDER BY i.created_at, i.id LIMIT $1`, MaxPendingShown)
	if err != nil {
		return nil, 0, internal("pending imports", err)
	}
	list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Import, error) { return scanImport(r) })
	if err != nil {
		return nil, 0, internal("pending imports", err)
	}
	for i := range list {
		if err := s.withCurrent(ctx, &list[i]); err != nil {
			return nil, 0, err
		}
	}
	return list, total, nil
}

// Import returns an import with the product it matches as it stands and
// the differences. Errors: ENotFound, EInternal.
func (s *Store) Import(ctx context.Context, id uuid.UUID) (Import, error) {
	im, err := scanImport(s.db.QueryRow(ctx, importColumns+` WHERE i.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Import{}, models.Errorf(models.ENotFound, "There is no such import.")
	}
	if err != nil {
		return Import{}, internal("import", err)
	}
	if err := s.withCurrent(ctx, &im); err != nil {
		return Import{}, err
	}
	return im, nil
}

// SourceImports returns a source's latest imports, newest first.
// Errors: EInternal.
func (s *Store) SourceImports(ctx context.Context, sourceID uuid.UUID, limit int) ([]Import, error) {
	rows, err := s.db.Query(ctx, importColumns+` WHERE i.source_id = $1 ORDER BY i.created_at DESC, i.id LIMIT $2`, sourceID, limit)
	if err != nil {
		return nil, internal("source imports", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Import, error) { return scanImport(r) })
	if err != nil {
		return nil, internal("source imports", err)
	}
	return out, nil
}

// decided explains a decision on an import that changed nothing: there is
// none (ENotFound) or it was decided already (EConflict).
func (s *Store) decided(ctx context.Context, id uuid.UUID) error {
	var status string
	err := s.db.QueryRow(ctx, `SELECT status FROM product_imports WHERE id = $1`, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Errorf(models.ENotFound, "There is no such import.")
	}
	if err != nil {
		return internal("import", err)
	}
	switch status {
	case ImportApproved:
		return models.Errorf(models.EConflict, "This import is being applied by someone else.")
	case ImportApplied:
		return models.Errorf(models.EConflict, "This import was already approved and applied.")
	case ImportRejected:
		return models.Errorf(models.EConflict, "This import was already rejected.")
	}
	return models.Errorf(models.EConflict, "This import changed meanwhile: reload the page.")
}

// Reject turns down a pending import: nothing changes in the catalogue.
// Errors: ENotFound, EConflict (decided already), EInternal.
func (s *Store) Reject(ctx context.Context, id, adminID uuid.UUID) error {
	tag, err := s.db.Exec(ctx, `
UPDATE product_imports SET status = 'rejected', decided_at = $3, decided_by = $2
WHERE id = $1 AND status = 'pending'`, id, uuid.NullUUID{UUID: adminID, Valid: adminID != uuid.Nil}, s.now())
	if err != nil {
		return internal("reject import", err)
	}
	if tag.RowsAffected() == 0 {
		return s.decided(ctx, id)
	}
	return nil
}
