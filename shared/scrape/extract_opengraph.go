package scrape

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// openGraph reads a product from OpenGraph tags (og:title, og:image,
// product:price:amount...): when og:type is a product or a price tag is
// present.
func (x *extraction) openGraph(doc *html.Node) []Product {
	var tags [][2]string
	walk(doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.DataAtom == atom.Meta {
			key := strings.ToLower(cmp.Or(attr(n, "property"), attr(n, "name")))
			if strings.HasPrefix(key, "og:") || strings.HasPrefix(key, "product:") {
				tags = append(tags, [2]string{key, strings.TrimSpace(attr(n, "content"))})
			}
			return false
		}
		return n.DataAtom != atom.Body // OpenGraph lives in the head
	})
	get := func(keys ...string) string {
		for _, k := range keys {
			for _, t := range tags {
				if t[0] == k && t[1] != "" {
					return t[1]
				}
			}
		}
		return ""
	}
	price := get("product:price:amount", "og:price:amount", "product:sale_price:amount")
	if len(tags) == 0 || (!strings.Contains(get("og:type"), "product") && price == "") {
		return nil
	}
	var raw strings.Builder
	for _, t := range tags {
		raw.WriteString(t[0] + "=" + shorten(t[1], 300) + "\n")
	}
	block := x.addBlock(MethodOpenGraph, strings.TrimSuffix(raw.String(), "\n"))
	p := Product{
		Name:        get("og:title"),
		Description: get("og:description"),
		SKU:         get("product:retailer_item_id"),
		Brand:       get("product:brand", "og:brand"),
		URL:         x.resolve(get("og:url")),
		Source:      MethodOpenGraph,
		Block:       block,
	}
	for _, t := range tags {
		if t[0] == "og:image" || t[0] == "og:image:url" || t[0] == "og:image:secure_url" {
			if u := x.resolve(t[1]); u != "" && !slices.Contains(p.Images, u) {
				p.Images = append(p.Images, u)
			}
		}
	}
	v, ok, err := x.variant(offerFields{
		price:        price,
		currency:     get("product:price:currency", "og:price:currency", "product:sale_price:currency"),
		availability: get("product:availability", "og:availability"),
	}, p.Name)
	if err != nil {
		x.rejectBlock(block, err)
		return nil
	}
	if ok {
		v.SKU = p.SKU
		p.Variants = []Variant{v}
	}
	if p.Name == "" {
		x.page.Blocks[block].Error = "no og:title"
		return nil
	}
	return []Product{p}
}

// checkSelectors returns an error naming the first selector of sel that
// does not parse.
func checkSelectors(sel Selectors) *Error {
	for _, s := range []struct{ field, sel string }{
		{"name", sel.Name}, {"price", sel.Price}, {"currency", sel.Currency}, {"image", sel.Image},
		{"description", sel.Description}, {"availability", sel.Availability}, {"sku", sel.SKU},
	} {
		if s.sel == "" {
			continue
		}
		if _, err := cascadia.Compile(s.sel); err != nil {
			return &Error{Code: CodeBadSelector, Message: "The " + s.field + " selector " + strconv.Quote(s.sel) + " is not a CSS selector", Err: err}
		}
	}
	return nil
}

// CheckSelectors returns a CodeBadSelector *Error when a selector of sel
// is not valid CSS, for an admin form to show; nil otherwise.
func CheckSelectors(sel Selectors) error {
	if err := checkSelectors(sel); err != nil {
		return err
	}
	return nil
}

// selectors reads a product with the source's CSS selectors; nothing when
// sel.Name is empty or matches nothing.
func (x *extraction) selectors(doc *html.Node, sel Selectors) []Product {
	if sel.Name == "" {
		return nil
	}
	d := goquery.NewDocumentFromNode(doc)
	value := func(s string) string {
		if s == "" {
			return ""
		}
		m := d.Find(s).First()
		if m.Length() == 0 {
			return ""
		}
		n := m.Get(0)
		if hasAttr(n, "content") {
			return strings.TrimSpace(attr(n, "content"))
		}
		return textOf(n)
	}
	name := value(sel.Name)
	if name == "" {
		return nil
	}
	var raw strings.Builder
	p := Product{Name: name, Description: value(sel.Description), SKU: value(sel.SKU), Source: MethodSelectors}
	raw.WriteString("name=" + name + "\n")
	if sel.Image != "" {
		d.Find(sel.Image).Each(func(_ int, s *goquery.Selection) {
			n := s.Get(0)
			u := x.resolve(cmp.Or(attr(n, "data-src"), attr(n, "src"), attr(n, "content"), attr(n, "href")))
			if u != "" && !slices.Contains(p.Images, u) {
				p.Images = append(p.Images, u)
				raw.WriteString("image=" + u + "\n")
			}
		})
	}
	f := offerFields{price: value(sel.Price), currency: value(sel.Currency), availability: value(sel.Availability), sku: p.SKU}
	if c := normalizeCurrency(f.currency); c != "" {
		f.currency = c
	} else {
		f.currency = currencyInText(f.currency)
	}
	raw.WriteString("price=" + f.price + "\ncurrency=" + f.currency + "\navailability=" + f.availability)
	p.Block = x.addBlock(MethodSelectors, raw.String())
	v, ok, err := x.variant(f, p.Name)
	if err != nil {
		x.rejectBlock(p.Block, err)
		return nil
	}
	if ok {
		p.Variants = []Variant{v}
	}
	return []Product{p}
}
