package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Extract reads the products on a page whose body is already UTF-8 (see
// UTF8), at pageURL, which resolves relative links. It tries JSON-LD,
// microdata, RDFa lite, OpenGraph and then sel, keeping the products of
// the first method that finds any; the raw data of every method is kept
// in Page.Blocks and disagreements between blocks about the same product
// are listed in Page.Conflicts. A sitemap, or a page whose only data is a
// JSON-LD ItemList, gives Page.ProductURLs instead of products.
//
// The error is an *Error: CodeTooLarge past MaxPageBytes, CodeBadSelector
// for a selector that does not parse, CodeBadPrice when a product was
// found but no price on it could be read, CodeNoProduct when there is
// nothing to import.
func Extract(body []byte, pageURL string, sel Selectors) (*Page, error) {
	base, err := url.Parse(pageURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errorf(CodeFetch, pageURL, err, "%q is not an http(s) address", pageURL)
	}
	if len(body) > MaxPageBytes {
		return nil, errorf(CodeTooLarge, pageURL, nil, "The page at %s is larger than %d MiB; it was not read", pageURL, MaxPageBytes>>20)
	}
	page := &Page{URL: pageURL}
	if isSitemap(body) {
		if err := readSitemap(body, base, page); err != nil {
			return nil, errorf(CodeNoProduct, pageURL, err, "The sitemap at %s cannot be read", pageURL)
		}
		if len(page.ProductURLs) == 0 && len(page.Sitemaps) == 0 {
			return nil, errorf(CodeNoProduct, pageURL, nil, "The sitemap at %s lists no pages", pageURL)
		}
		return page, nil
	}
	if err := checkSelectors(sel); err != nil {
		err.URL = pageURL
		return nil, err
	}
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, errorf(CodeNotHTML, pageURL, err, "The page at %s is not HTML", pageURL)
	}
	x := &extraction{page: page, base: documentBase(doc, base)}
	found := [][]Product{
		x.jsonLD(doc),
		x.items(doc, microdata),
		x.items(doc, rdfa),
		x.openGraph(doc),
		x.selectors(doc, sel),
	}
	var all []Product
	for _, ps := range found {
		all = append(all, ps...)
		if len(page.Products) == 0 && len(ps) > 0 {
			page.Products = dedupe(ps)
		}
	}
	page.Conflicts = conflicts(all)
	page.ProductURLs = uniqueURLs(page.ProductURLs)
	switch {
	case len(page.Products) > 0, len(page.ProductURLs) > 0:
		return page, nil
	case x.badPrice != nil:
		return nil, x.badPrice
	}
	return nil, errorf(CodeNoProduct, pageURL, nil,
		"The page at %s has no product data (no JSON-LD, microdata, RDFa or OpenGraph product tags, and no selectors matched)", pageURL)
}

// extraction is the state of one Extract call.
type extraction struct {
	page *Page
	base *url.URL
	// badPrice is the first price that could not be read, reported when
	// no method found a product.
	badPrice *Error
	// ids indexes the nodes of the JSON-LD block being read by @id.
	ids map[string]map[string]any
}

// addBlock records raw structured data and returns its index.
func (x *extraction) addBlock(method, raw string) int {
	x.page.Blocks = append(x.page.Blocks, Block{Method: method, Raw: raw})
	return len(x.page.Blocks) - 1
}

// rejectBlock marks block i as giving no product because of err.
func (x *extraction) rejectBlock(i int, err error) {
	x.page.Blocks[i].Error = err.Error()
	var e *Error
	if errors.As(err, &e) && e.Code == CodeBadPrice && x.badPrice == nil {
		x.badPrice = e
	}
}

// resolve makes ref absolute against the page; "" for an empty or
// unparsable reference or one that is not http(s).
func (x *extraction) resolve(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := x.base.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.String()
}

// offerFields are an offer's properties as read, before parsing, the same
// for every method.
type offerFields struct {
	name, sku, price, lowPrice, highPrice, currency, availability string
}

// variant parses o's price into a Variant. ok is false when o has no
// price at all; err is a CodeBadPrice *Error when the price is unreadable.
func (x *extraction) variant(o offerFields, productName string) (v Variant, ok bool, err error) {
	v = Variant{Name: o.name, SKU: o.sku, Availability: normalizeAvailability(o.availability)}
	v.Currency = normalizeCurrency(o.currency)
	price := o.price
	if price == "" {
		price = o.lowPrice
	}
	if strings.TrimSpace(price) == "" {
		return v, false, nil
	}
	if v.Currency == "" {
		v.Currency = currencyInText(price)
	}
	bad := func(raw string, cause error) *Error {
		return errorf(CodeBadPrice, x.page.URL, cause, "The price %q of %q on %s cannot be read", raw, productName, x.page.URL)
	}
	if v.PriceMinor, err = ParseMinor(price, Exponent(v.Currency)); err != nil {
		return v, false, bad(price, err)
	}
	if o.price == "" && o.highPrice != "" {
		high, err := ParseMinor(o.highPrice, Exponent(v.Currency))
		if err != nil {
			return v, false, bad(o.highPrice, err)
		}
		if high != v.PriceMinor {
			v.HighPriceMinor = high
		}
	}
	return v, true, nil
}

// dedupe keeps the first of products that describe the same product (a
// theme and an app both emitting one; conflicts reports whether they
// disagree), and drops a product that is a variant of a ProductGroup on
// the same page.
func dedupe(ps []Product) []Product {
	variantSKUs := map[string]bool{}
	for _, p := range ps {
		if len(p.Variants) > 1 {
			for _, v := range p.Variants {
				if v.SKU != "" && v.SKU != p.SKU {
					variantSKUs[v.SKU] = true
				}
			}
		}
	}
	var out []Product
next:
	for _, p := range ps {
		if p.SKU != "" && variantSKUs[p.SKU] {
			continue
		}
		for _, q := range out {
			if sameProduct(p, q) {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

func sameProduct(a, b Product) bool {
	switch {
	case a.SKU != "" && b.SKU != "":
		return a.SKU == b.SKU
	case a.URL != "" && a.URL == b.URL:
		return true
	}
	na, nb := strings.ToLower(strings.Join(strings.Fields(a.Name), " ")), strings.ToLower(strings.Join(strings.Fields(b.Name), " "))
	return na != "" && na == nb
}

// conflicts describes each pair of products from different blocks that
// are the same product but disagree about its price, currency or
// availability.
func conflicts(all []Product) []string {
	var out []string
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			a, b := all[i], all[j]
			if a.Block == b.Block || !sameProduct(a, b) {
				continue
			}
			if sa, sb := disagreement(a, b); sa != "" {
				out = append(out, fmt.Sprintf("%q: %s block %d says %s, %s block %d says %s",
					a.Name, a.Source, a.Block+1, sa, b.Source, b.Block+1, sb))
			}
		}
	}
	return out
}

// disagreement returns what a and b say about the first point they
// differ on (the lowest price, then availability), or "" when they agree
// on all that both state.
func disagreement(a, b Product) (string, string) {
	if len(a.Variants) == 0 || len(b.Variants) == 0 {
		return "", ""
	}
	la, lb := lowest(a.Variants), lowest(b.Variants)
	if la.PriceMinor != lb.PriceMinor || (la.Currency != "" && lb.Currency != "" && la.Currency != lb.Currency) {
		return priceText(la), priceText(lb)
	}
	fa, fb := a.Variants[0].Availability, b.Variants[0].Availability
	if fa != "" && fb != "" && fa != fb {
		return availabilityText(fa), availabilityText(fb)
	}
	return "", ""
}

func lowest(vs []Variant) Variant {
	low := vs[0]
	for _, v := range vs[1:] {
		if v.PriceMinor < low.PriceMinor {
			low = v
		}
	}
	return low
}

// priceText is "GBP 7.25", or "GBP 7.25-9.50" for a range.
func priceText(v Variant) string {
	s := FormatMinor(v.PriceMinor, v.Currency)
	if v.HighPriceMinor != 0 {
		s += "-" + FormatMinor(v.HighPriceMinor, v.Currency)
	}
	if v.Currency != "" {
		s = v.Currency + " " + s
	}
	return s
}

// PriceText says a variant's price as "GBP 7.25" (or "GBP 7.25-9.50" for
// a range), for listings and messages.
func PriceText(v Variant) string { return priceText(v) }

// AvailabilityText says an availability as "in stock", "out of stock",
// "on backorder" or "pre-order"; "" for an unknown one.
func AvailabilityText(a string) string { return availabilityText(a) }

func uniqueURLs(us []string) []string {
	seen := make(map[string]bool, len(us))
	out := us[:0]
	for _, u := range us {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// documentBase is the page's <base href> resolved against its address, or
// the address itself.
func documentBase(doc *html.Node, pageURL *url.URL) *url.URL {
	var base *url.URL
	walk(doc, func(n *html.Node) bool {
		if base != nil {
			return false
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Base {
			if u, err := pageURL.Parse(attr(n, "href")); err == nil && attr(n, "href") != "" {
				base = u
			}
		}
		return n.DataAtom != atom.Body
	})
	if base == nil {
		return pageURL
	}
	return base
}

// walk calls f on n and its descendants in document order, not descending
// below a node for which f returns false.
func walk(n *html.Node, f func(*html.Node) bool) {
	if !f(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// attr returns n's attribute key, "" when it has none.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// textOf returns n's text with runs of white space made one space.
func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) bool {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
			b.WriteByte(' ')
		}
		return c.DataAtom != atom.Script && c.DataAtom != atom.Style
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// isProductType reports whether a schema.org type ("Product",
// "schema:Product", "https://schema.org/ProductGroup") is a product.
func isProductType(t string) bool {
	switch localName(t) {
	case "Product", "ProductGroup", "IndividualProduct", "ProductModel", "SomeProducts":
		return true
	}
	return false
}

// localName strips a vocabulary prefix or URL from a type or property.
func localName(t string) string {
	t = strings.TrimSpace(t)
	if i := strings.LastIndexAny(t, "/:#"); i >= 0 {
		return t[i+1:]
	}
	return t
}
