// Package products is the market's catalogue in PostgreSQL: markets, the
// category tree, products with their variants, stock and images, and the
// supplier pages products are imported from with their review queue. It
// owns the tables markets, product_categories, products, product_variants,
// product_images, product_sources and product_imports: no other package
// writes them.
//
// Its readers are the market's pages and fragments, the cart (which looks
// up the variant a shopper adds, for its price and stock) and the scraper's
// import; it has no contract (docs/DECISIONS.md: a contract exists when a
// second service needs a test double). Shoppers' reads see published
// products only; the admin's reads (Query.Drafts) see every product.
package products

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/microcosm-cc/bluemonday"

	"rose-ash.com/platform/shared/keptpages"
	"rose-ash.com/platform/shared/models"
)

// Paging bounds.
const (
	DefaultPerPage = 24
	MaxPerPage     = 100
)

// Sorts of a product listing.
const (
	SortNewest    = "newest"
	SortPriceUp   = "price-asc"
	SortPriceDown = "price-desc"
	SortName      = "name"
)

// orderBy maps a sort to its ORDER BY, with the id last so that pages are
// stable.
var orderBy = map[string]string{
	SortNewest:    "p.published_at DESC NULLS LAST, p.created_at DESC, p.id DESC",
	SortPriceUp:   "p.min_price_minor ASC, p.id ASC",
	SortPriceDown: "p.min_price_minor DESC, p.id DESC",
	SortName:      "lower(p.name) ASC, p.id ASC",
}

// Sorts lists the sorts a listing offers, in the order a page shows them.
var Sorts = []string{SortNewest, SortPriceUp, SortPriceDown, SortName}

// Store reads and writes the catalogue.
type Store struct {
	db *pgxpool.Pool
	// changed, when set, runs in the transaction of every product change.
	changed func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// listings keeps pages of published products and of search results
	// (nil: none; see CacheListings).
	listings *keptpages.Pages[Page]
}

// maxListings bounds how many pages of products are kept.
const maxListings = 512

// CacheListings makes the Store keep the pages of published products and
// of search results it returns for ttl (see keptpages): every change made
// through the Store forgets them, and a change made elsewhere (another
// replica; stock sold by the cart) shows within ttl. The pages are shared
// between callers, which must not change them.
func (s *Store) CacheListings(ttl time.Duration) {
	s.listings = keptpages.New[Page](maxListings, ttl)
}

// Forget drops the kept pages.
func (s *Store) Forget() { s.listings.Forget() }

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// OnChange sets f to run inside the transaction of every create, update
// (stock, price, publication...) and delete of a product, after the change:
// the market announces products on the fediverse there, so a product and
// its announcement commit together. Call it before the store is used.
func (s *Store) OnChange(f func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error) { s.changed = f }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("products: %s: %w", what, err))
}

var (
	policyOnce sync.Once
	policy     *bluemonday.Policy
)

// SanitizeDescription returns html with only safe markup kept (paragraphs,
// lists, emphasis, links, images): descriptions come from admins and from
// supplier pages.
func SanitizeDescription(html string) string {
	policyOnce.Do(func() {
		policy = bluemonday.UGCPolicy()
		policy.RequireNoFollowOnLinks(true)
		policy.AddTargetBlankToFullyQualifiedLinks(true)
	})
	return strings.TrimSpace(policy.Sanitize(html))
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidSlug returns an EInvalid error naming what unless s is a slug of at
// most max characters (lower-case letters, digits and single hyphens).
func ValidSlug(what, s string, max int) error {
	if s == "" {
		return models.Errorf(models.EInvalid, "The %s needs an address (slug).", what)
	}
	if len(s) > max || !slugRE.MatchString(s) {
		return models.Errorf(models.EInvalid, "The %s's address may have up to %d lower-case letters, digits and single hyphens, like %q.", what, max, models.Slugify("Heather honey 500g"))
	}
	return nil
}

// Query selects a page of products.
type Query struct {
	Market   string // a market's slug, or ""
	Category string // a category's slug (its subcategories included), or ""
	InStock  bool   // only products with a variant in stock
	// MinPrice and MaxPrice bound the lowest price (minor units); negative
	// is no bound.
	MinPrice, MaxPrice int64
	Sort               string // one of Sorts; "" is SortNewest
	Featured           bool   // only featured products
	// Drafts includes unpublished products (the admin's lists).
	Drafts        bool
	Page, PerPage int
	// Exclude leaves one product out (related products).
	Exclude uuid.UUID
}

// Page is a page of products.
type Page struct {
	Products      []models.Product
	Total         int
	Page, PerPage int
}

// Pages returns the number of pages.
func (p Page) Pages() int {
	if p.PerPage < 1 {
		return 1
	}
	return max(1, (p.Total+p.PerPage-1)/p.PerPage)
}

func paging(page, perPage int) (int, int, error) {
	if page == 0 {
		page = 1
	}
	if perPage == 0 {
		perPage = DefaultPerPage
	}
	if page < 1 || page > 100000 {
		return 0, 0, models.Errorf(models.EInvalid, "There is no page %d.", page)
	}
	if perPage < 1 || perPage > MaxPerPage {
		return 0, 0, models.Errorf(models.EInvalid, "Show 1 to %d products per page.", MaxPerPage)
	}
	return page, perPage, nil
}

// cardColumns are what a product card shows (no description, variants or
// gallery); their order is scanCard's.
const cardColumns = `
SELECT p.id, p.market_id, m.slug, m.name, p.category_id, coalesce(c.slug, ''), coalesce(c.name, ''),
       p.slug, p.name, p.summary, p.currency, p.vat_rate_bp, p.status, p.featured, p.published_at,
       p.updated_at, p.version, p.min_price_minor, p.in_stock,
       (SELECT ARRAY[i.url, i.alt] FROM product_images i WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1),
       coalesce((SELECT true FROM product_variants v WHERE v.product_id = p.id
                 AND (NOT v.track_stock OR v.stock > 0 OR v.allow_backorder) LIMIT 1), false),
       coalesce((SELECT min(v.price_minor) <> max(v.price_minor) FROM product_variants v WHERE v.product_id = p.id), false)`

// The buyable column is a scalar subquery with LIMIT 1, not EXISTS: the
// planner may run an EXISTS as one hashed pass over every variant in the
// catalogue (20,000 rows for a page of 24), where this looks up the page's
// products' variants by index.

// cardJoins are the joins cardColumns read from, after "FROM products p".
const cardJoins = `
JOIN markets m ON m.id = p.market_id
LEFT JOIN product_categories c ON c.id = p.category_id`

const fromProducts = `
FROM products p` + cardJoins

// cardsOf reads the card columns of the page of product ids that pageSQL
// (a query of products p selecting p.id first, ordered and limited)
// returns, in the order outerOrder gives, followed by extra columns: the
// joins and subqueries of a card run for that page only, not for every
// product the filter matches.
func cardsOf(pageSQL, extra, outerOrder string) string {
	return cardColumns + extra + `
FROM (` + pageSQL + `) page
JOIN products p ON p.id = page.id` + cardJoins + `
ORDER BY ` + outerOrder
}

func scanCard(row pgx.Row, extra ...any) (models.Product, error) {
	var p models.Product
	var img []string // the first image's URL and alt text, if any
	dest := []any{&p.ID, &p.MarketID, &p.MarketSlug, &p.MarketName, &p.CategoryID, &p.CategorySlug, &p.CategoryName,
		&p.Slug, &p.Name, &p.Summary, &p.Currency, &p.VATRateBP, &p.Status, &p.Featured, &p.PublishedAt,
		&p.UpdatedAt, &p.Version, &p.MinPrice, &p.InStock, &img, &p.Buyable, &p.PriceVaries}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return p, err
	}
	if len(img) == 2 {
		p.Images = []models.ProductImage{{URL: img[0], Alt: img[1]}}
	}
	return p, nil
}

const listingFilter = `
WHERE ($1 OR p.status = 'published')
  AND ($2 = '' OR p.market_id = (SELECT id FROM markets WHERE slug = $2))
  AND ($3 = '' OR p.category_id IN (
        WITH RECURSIVE sub AS (
          SELECT id FROM product_categories WHERE slug = $3
          UNION ALL
          SELECT k.id FROM product_categories k JOIN sub ON k.parent_id = sub.id)
        SELECT id FROM sub))
  AND (NOT $4 OR p.in_stock)
  AND ($5 < 0 OR p.min_price_minor >= $5)
  AND ($6 < 0 OR p.min_price_minor <= $6)
  AND (NOT $7 OR p.featured)
  AND p.id <> $8`

// Products returns a page of products. Errors: EInvalid (paging or sort),
// EInternal.
func (s *Store) Products(ctx context.Context, q Query) (Page, error) {
	page, perPage, err := paging(q.Page, q.PerPage)
	if err != nil {
		return Page{}, err
	}
	if q.Sort == "" {
		q.Sort = SortNewest
	}
	order, ok := orderBy[q.Sort]
	if !ok {
		return Page{}, models.Errorf(models.EInvalid, "Products can be sorted by newest, price or name.")
	}
	if q.MinPrice >= 0 && q.MaxPrice >= 0 && q.MinPrice > q.MaxPrice {
		return Page{}, models.Errorf(models.EInvalid, "The lowest price is above the highest.")
	}
	var key string
	var gen uint64
	if !q.Drafts && s.listings != nil {
		key = fmt.Sprintf("products\x00%+v\x00%d\x00%d", q, page, perPage)
		kept, hit, g := s.listings.Get(key)
		if hit {
			return kept, nil
		}
		gen = g
	}
	// The total is counted apart from the page (an index-only count when
	// only published products are asked for) so that the page's cards are
	// built for its products alone.
	sql := cardsOf(`SELECT p.id FROM products p`+listingFilter+`
ORDER BY `+order+`
LIMIT $9 OFFSET $10`, `, (SELECT count(*) FROM products p`+listingFilter+`)`, order)
	rows, err := s.db.Query(ctx, sql, q.Drafts, q.Market, q.Category, q.InStock, q.MinPrice, q.MaxPrice,
		q.Featured, q.Exclude, perPage, (page-1)*perPage)
	if err != nil {
		return Page{}, internal("products", err)
	}
	defer rows.Close()
	out := Page{Page: page, PerPage: perPage}
	for rows.Next() {
		p, err := scanCard(rows, &out.Total)
		if err != nil {
			return Page{}, internal("products", err)
		}
		out.Products = append(out.Products, p)
	}
	if err := rows.Err(); err != nil {
		return Page{}, internal("products", err)
	}
	if len(out.Products) == 0 && page > 1 {
		err := s.db.QueryRow(ctx, `SELECT count(*) FROM products p`+listingFilter, q.Drafts, q.Market, q.Category,
			q.InStock, q.MinPrice, q.MaxPrice, q.Featured, q.Exclude).Scan(&out.Total)
		if err != nil {
			return Page{}, internal("count products", err)
		}
	}
	if key != "" {
		s.listings.Add(key, out, gen)
	}
	return out, nil
}

// searchWords turns what a shopper typed into a prefix query for
// to_tsquery: each word (letters and digits only) matches as a prefix, all
// words must match. "" means nothing to search for.
func searchWords(q string) string {
	var words []string
	for _, w := range strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(words) == 8 {
			break
		}
		words = append(words, strings.ToLower(w)+":*")
	}
	return strings.Join(words, " & ")
}

// MaxQueryLength bounds a search query.
const MaxQueryLength = 200

// Search returns a page of published products matching q, best first:
// name matches rank above market and category, which rank above the
// description; every word matches as a prefix ("hon" finds honey) and
// accents are folded where the database has unaccent. Errors: EInvalid
// (paging, a query too long), EInternal.
func (s *Store) Search(ctx context.Context, q string, pageNo, perPage int) (Page, error) {
	page, perPage, err := paging(pageNo, perPage)
	if err != nil {
		return Page{}, err
	}
	if len(q) > MaxQueryLength {
		return Page{}, models.Errorf(models.EInvalid, "Search for at most %d characters.", MaxQueryLength)
	}
	out := Page{Page: page, PerPage: perPage}
	words := searchWords(q)
	if words == "" {
		return out, nil
	}
	key := fmt.Sprintf("search\x00%s\x00%d\x00%d", words, page, perPage)
	kept, hit, gen := s.listings.Get(key)
	if hit {
		return kept, nil
	}
	// The matches are ranked and counted on the products table alone (the
	// GIN index finds them); the page's cards are built after.
	rows, err := s.db.Query(ctx, cardsOf(`
SELECT p.id, ts_rank(p.search, tq, 1) AS rank, count(*) OVER () AS total
FROM products p, to_tsquery('english', market_fold($1)) AS tq
WHERE p.status = 'published' AND p.search @@ tq
ORDER BY rank DESC, p.published_at DESC, p.id DESC
LIMIT $2 OFFSET $3`, `, page.total`, `page.rank DESC, p.published_at DESC, p.id DESC`), words, perPage, (page-1)*perPage)
	if err != nil {
		return Page{}, internal("search", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanCard(rows, &out.Total)
		if err != nil {
			return Page{}, internal("search", err)
		}
		out.Products = append(out.Products, p)
	}
	if err := rows.Err(); err != nil {
		return Page{}, internal("search", err)
	}
	s.listings.Add(key, out, gen)
	return out, nil
}

// Product returns the product at slug with its variants and images;
// drafts only when drafts is set. Errors: ENotFound, EInternal.
func (s *Store) Product(ctx context.Context, slug string, drafts bool) (models.Product, error) {
	return s.product(ctx, s.db, `p.slug = $1`, slug, drafts)
}

// ProductByID is Product by id. Errors: ENotFound, EInternal.
func (s *Store) ProductByID(ctx context.Context, id uuid.UUID, drafts bool) (models.Product, error) {
	return s.product(ctx, s.db, `p.id = $1`, id, drafts)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) product(ctx context.Context, db querier, where string, key any, drafts bool) (models.Product, error) {
	var p models.Product
	var desc string
	row := db.QueryRow(ctx, cardColumns+`, p.description`+fromProducts+`
WHERE `+where+` AND ($2 OR p.status = 'published')`, key, drafts)
	p, err := scanCard(row, &desc)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Product{}, models.Errorf(models.ENotFound, "There is no such product.")
	}
	if err != nil {
		return models.Product{}, internal("product", err)
	}
	p.Description = desc
	if p.Variants, err = variants(ctx, db, p.ID); err != nil {
		return models.Product{}, err
	}
	rows, err := db.Query(ctx, `SELECT url, alt FROM product_images WHERE product_id = $1 ORDER BY position, id`, p.ID)
	if err != nil {
		return models.Product{}, internal("product images", err)
	}
	p.Images, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.ProductImage, error) {
		var i models.ProductImage
		return i, r.Scan(&i.URL, &i.Alt)
	})
	if err != nil {
		return models.Product{}, internal("product images", err)
	}
	return p, nil
}

const variantColumns = `SELECT id, product_id, name, coalesce(sku, ''), price_minor, track_stock, stock, allow_backorder, position
FROM product_variants`

func scanVariant(r pgx.CollectableRow) (models.Variant, error) {
	var v models.Variant
	return v, r.Scan(&v.ID, &v.ProductID, &v.Name, &v.SKU, &v.Price, &v.TrackStock, &v.Stock, &v.AllowBackorder, &v.Position)
}

func variants(ctx context.Context, db querier, productID uuid.UUID) ([]models.Variant, error) {
	rows, err := db.Query(ctx, variantColumns+` WHERE product_id = $1 ORDER BY position, price_minor, id`, productID)
	if err != nil {
		return nil, internal("variants", err)
	}
	vs, err := pgx.CollectRows(rows, scanVariant)
	if err != nil {
		return nil, internal("variants", err)
	}
	return vs, nil
}

// Related returns up to limit published products of the same category,
// then of the same market, newest first, without p.
func (s *Store) Related(ctx context.Context, p models.Product, limit int) ([]models.Product, error) {
	limit = min(max(limit, 1), 24)
	rows, err := s.db.Query(ctx, cardColumns+fromProducts+`
WHERE p.status = 'published' AND p.id <> $1
  AND (p.category_id = $2 OR p.market_id = $3)
ORDER BY (p.category_id IS NOT DISTINCT FROM $2) DESC, p.published_at DESC, p.id DESC
LIMIT $4`, p.ID, p.CategoryID, p.MarketID, limit)
	if err != nil {
		return nil, internal("related products", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Product, error) { return scanCard(r) })
	if err != nil {
		return nil, internal("related products", err)
	}
	return out, nil
}

// CartLine is what the cart needs of a variant a shopper adds.
type CartLine struct {
	ProductID   uuid.UUID
	ProductSlug string
	VariantID   uuid.UUID
	// Title names the product and, when it has several, the variant:
	// "Heather honey (340 g)".
	Title   string
	Price   models.Money
	Variant models.Variant
}

// VariantForCart returns the published product's variant a shopper adds
// to a cart, with its current price and stock. Errors: ENotFound (no such
// variant, or its product is not published), EInvalid (sold out),
// EInternal.
func (s *Store) VariantForCart(ctx context.Context, variantID uuid.UUID) (CartLine, error) {
	return variantForCart(ctx, s.db, variantID)
}

// variantTitle names a variant for a cart or an order: the product's name
// and, when it has several variants, the variant's: "Heather honey (340 g)".
func variantTitle(product, variant string, variants int) string {
	if variants > 1 && variant != "" {
		return product + " (" + variant + ")"
	}
	return product
}

func variantForCart(ctx context.Context, db querier, variantID uuid.UUID) (CartLine, error) {
	var l CartLine
	var name, currency string
	var count int
	err := db.QueryRow(ctx, `
SELECT p.id, p.slug, p.name, p.currency, v.id, v.name, coalesce(v.sku, ''), v.price_minor, v.track_stock, v.stock,
       v.allow_backorder, v.position, (SELECT count(*) FROM product_variants w WHERE w.product_id = p.id)
FROM product_variants v JOIN products p ON p.id = v.product_id
WHERE v.id = $1 AND p.status = 'published'`, variantID).Scan(&l.ProductID, &l.ProductSlug, &name, &currency,
		&l.Variant.ID, &l.Variant.Name, &l.Variant.SKU, &l.Variant.Price, &l.Variant.TrackStock, &l.Variant.Stock,
		&l.Variant.AllowBackorder, &l.Variant.Position, &count)
	if errors.Is(err, pgx.ErrNoRows) {
		return CartLine{}, models.Errorf(models.ENotFound, "That product is no longer for sale.")
	}
	if err != nil {
		return CartLine{}, internal("variant for cart", err)
	}
	l.VariantID, l.Variant.ProductID = l.Variant.ID, l.ProductID
	l.Title = variantTitle(name, l.Variant.Name, count)
	l.Price = models.Money{Minor: l.Variant.Price, Currency: currency}
	if !l.Variant.Buyable() {
		return l, models.Errorf(models.EInvalid, "%s is sold out.", l.Title)
	}
	return l, nil
}
