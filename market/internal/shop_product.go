package internal

import (
	"html"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/microcosm-cc/bluemonday"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/models"
)

// relatedLimit is how many related products a product page shows.
const relatedLimit = 4

// maxQuantity is the most of a variant the add-to-cart form offers.
const maxQuantity = 99

// productCard is what a product's card shows: its image, name, market,
// price and stock.
type productCard struct {
	models.Product
	// Base is the market's URL when the card is shown on another
	// service's page (links and images are then absolute), else "".
	Base string
}

// URL is the product page's address.
func (c productCard) URL() string { return c.Base + "/products/" + c.Slug }

// ImageURL is the card's image, absolute when the card is shown
// elsewhere; "" without one.
func (c productCard) ImageURL() string { return absolute(c.Base, c.Image()) }

// PriceText is the card's price: "£4.50", or "from £4.50" when the
// variants' prices differ.
func (c productCard) PriceText() string {
	if c.PriceVaries {
		return "from " + c.Price().String()
	}
	return c.Price().String()
}

// stockOf is the product's stock as shoppers see it, in words and as a
// state (models.StockIn...): the best of its variants'. A card from a
// listing knows only whether it can be bought and whether it is in stock.
func stockOf(p models.Product) (text, state string) {
	if !p.Buyable {
		return "Sold out", models.StockSoldOut
	}
	if len(p.Variants) == 0 {
		if p.InStock {
			return "In stock", models.StockIn
		}
		return "Available to order", models.StockBackorder
	}
	rank := map[string]int{models.StockIn: 0, models.StockLow: 1, models.StockBackorder: 2, models.StockSoldOut: 3}
	best := p.Variants[0]
	for _, v := range p.Variants[1:] {
		if rank[v.StockState()] < rank[best.StockState()] ||
			(v.StockState() == models.StockLow && best.StockState() == models.StockLow && v.Stock > best.Stock) {
			best = v
		}
	}
	return best.StockText(), best.StockState()
}

// absolute returns u on base when it is a path ("/media/x.jpg"), else u.
func absolute(base, u string) string {
	if base == "" || !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
		return u
	}
	return base + u
}

// productView is a product page.
type productView struct {
	Product models.Product
	// URL is the page's absolute address (the canonical URL and where the
	// cart sends the shopper back to).
	URL string
	// CartURL is where the add-to-cart form posts (the cart's POST /items).
	CartURL string
	// Buyable are the variants that can be added to a cart.
	Buyable []models.Variant
	Related []productCard
}

// product shows a published product: its gallery, description, variants
// with their prices and stock, VAT, the add-to-cart form, related
// products, and its schema.org Product and OpenGraph tags for machines.
func (s *shop) product(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.d.Products.Product(ctx, chi.URLParam(r, "slug"), false)
	if models.Code(err) == models.ENotFound {
		s.d.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no product at %s: it may have been sold out and withdrawn, or renamed.", r.URL.Path))
		return
	}
	if err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	if s.d.Objects != nil && activitypub.WantsAS2(r) {
		s.d.Objects(w, r, p.ID) // a fediverse server asking for the product's object
		return
	}
	related, err := s.d.Products.Related(ctx, p, relatedLimit)
	if err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	v := productView{Product: p, URL: s.base() + "/products/" + p.Slug, CartURL: s.d.Site.URL("cart", "/items")}
	for _, vr := range p.Variants {
		if vr.Buyable() {
			v.Buyable = append(v.Buyable, vr)
		}
	}
	v.Related = s.cards(related)
	page := s.page(r, p.Name, "")
	page.Description = p.Summary
	if page.Description == "" {
		page.Description = clip(descriptionText(p.Description), 300)
	}
	page.Head = templ.Join(page.Head, productHead(s.openGraph(p, v.URL), s.productLD(p, v.URL)))
	s.d.Site.Render(w, r, http.StatusOK, ProductPage(page, v))
}

// ogTag is one OpenGraph <meta property content>.
type ogTag struct{ Property, Content string }

// openGraph returns the product page's OpenGraph tags, product ones
// included: the lowest price of what can be bought (of all the variants
// when none can) and the availability in OpenGraph's words.
func (s *shop) openGraph(p models.Product, pageURL string) []ogTag {
	tags := []ogTag{{"og:type", "product"}, {"og:title", p.Name}, {"og:url", pageURL}, {"og:site_name", "Rose Ash"}}
	if d := p.Summary; d != "" {
		tags = append(tags, ogTag{"og:description", d})
	}
	for _, img := range p.Images {
		tags = append(tags, ogTag{"og:image", absolute(s.base(), img.URL)})
		if img.Alt != "" {
			tags = append(tags, ogTag{"og:image:alt", img.Alt})
		}
	}
	price := p.Price()
	availability := "out of stock"
	_, state := stockOf(p)
	switch state {
	case models.StockIn, models.StockLow:
		availability = "in stock"
	case models.StockBackorder:
		availability = "available for order"
	}
	first := true
	for _, v := range p.Variants {
		if v.Buyable() && (first || v.Price < price.Minor) {
			price.Minor, first = v.Price, false
		}
	}
	return append(tags,
		ogTag{"product:price:amount", price.Decimal()},
		ogTag{"product:price:currency", price.Currency},
		ogTag{"product:availability", availability})
}

// productLD is the schema.org Product describing p, with one Offer per
// variant (its price a decimal string from minor units).
func (s *shop) productLD(p models.Product, pageURL string) map[string]any {
	ld := map[string]any{
		"@context": "https://schema.org", "@type": "Product", "name": p.Name, "url": pageURL,
		"brand": map[string]any{"@type": "Brand", "name": p.MarketName},
	}
	if d := descriptionText(p.Description); d != "" {
		ld["description"] = d
	} else if p.Summary != "" {
		ld["description"] = p.Summary
	}
	if len(p.Images) > 0 {
		images := make([]string, len(p.Images))
		for i, img := range p.Images {
			images[i] = absolute(s.base(), img.URL)
		}
		ld["image"] = images
	}
	if p.CategoryName != "" {
		ld["category"] = p.CategoryName
	}
	offers := make([]map[string]any, 0, len(p.Variants))
	for _, v := range p.Variants {
		o := map[string]any{
			"@type": "Offer", "price": models.Money{Minor: v.Price, Currency: p.Currency}.Decimal(),
			"priceCurrency": p.Currency, "availability": v.SchemaAvailability(), "url": pageURL,
			"seller": map[string]any{"@type": "Organization", "name": p.MarketName},
		}
		if v.Name != "" {
			o["name"] = v.Name
		}
		if v.SKU != "" {
			o["sku"] = v.SKU
			if _, ok := ld["sku"]; !ok {
				ld["sku"] = v.SKU
			}
		}
		offers = append(offers, o)
	}
	ld["offers"] = offers
	return ld
}

var (
	textPolicyOnce sync.Once
	textPolicy     *bluemonday.Policy
)

// descriptionText is a (sanitized HTML) description as plain text, its
// whitespace collapsed.
func descriptionText(desc string) string {
	textPolicyOnce.Do(func() { textPolicy = bluemonday.StrictPolicy() })
	// Tags become spaces, so that paragraphs do not run together.
	spaced := strings.NewReplacer("<", " <", ">", "> ").Replace(desc)
	return strings.Join(strings.Fields(html.UnescapeString(textPolicy.Sanitize(spaced))), " ")
}

// clip shortens s to at most n bytes at a word boundary, with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	cut := s[:n]
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}

// vatText says what VAT a product's prices include.
func vatText(p models.Product) string {
	if p.VATRateBP == 0 {
		return "No VAT is charged on this product."
	}
	return "Price includes VAT at " + p.VATRate() + "."
}

// variantName names a variant for shoppers; a product's only variant may
// have no name.
func variantName(v models.Variant) string {
	if v.Name == "" {
		return "Standard"
	}
	return v.Name
}

// imageAlt is an image's alternative text: its own, else the product's
// name for the first image and nothing for the others (decorative
// repeats of the product).
func imageAlt(img models.ProductImage, name string, i int) string {
	switch {
	case img.Alt != "":
		return img.Alt
	case i == 0:
		return name
	default:
		return ""
	}
}
