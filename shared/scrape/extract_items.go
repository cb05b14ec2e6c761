package scrape

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// itemSyntax is how items and their properties are marked up: microdata
// (itemscope itemtype, itemprop) or RDFa lite (typeof, property).
type itemSyntax struct {
	method   string
	propAttr string
	// typeOf returns the node's item types, and whether it starts an item.
	typeOf func(n *html.Node) ([]string, bool)
}

var (
	microdata = itemSyntax{method: MethodMicrodata, propAttr: "itemprop", typeOf: func(n *html.Node) ([]string, bool) {
		if !hasAttr(n, "itemscope") {
			return nil, false
		}
		return strings.Fields(attr(n, "itemtype")), true
	}}
	rdfa = itemSyntax{method: MethodRDFa, propAttr: "property", typeOf: func(n *html.Node) ([]string, bool) {
		if !hasAttr(n, "typeof") {
			return nil, false
		}
		return strings.Fields(attr(n, "typeof")), true
	}}
)

// itemProp is one property of an item: text, or a nested item.
type itemProp struct {
	name  string
	value string
	item  []itemProp // set when the value is an item of its own
	node  *html.Node
}

// items reads the top-level Product and ProductGroup items of syntax s.
// Items nested in a product (variants, related products) belong to it.
func (x *extraction) items(doc *html.Node, s itemSyntax) []Product {
	var out []Product
	walk(doc, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		types, ok := s.typeOf(n)
		if !ok || !slices.ContainsFunc(types, isProductType) {
			return true
		}
		props := x.itemProps(n, s)
		block := x.addBlock(s.method, strings.TrimSuffix(rawProps(props, ""), "\n"))
		p, err := x.itemProduct(props, s.method, block)
		switch {
		case err != nil:
			x.rejectBlock(block, err)
		case p.Name == "":
			x.page.Blocks[block].Error = "a product with no name"
		default:
			out = append(out, p)
		}
		return false
	})
	return out
}

// itemProps collects the properties of the item that scope starts, not
// descending into nested items, whose properties are their own.
func (x *extraction) itemProps(scope *html.Node, s itemSyntax) []itemProp {
	var props []itemProp
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			names := strings.Fields(attr(c, s.propAttr))
			_, isItem := s.typeOf(c)
			if len(names) > 0 {
				p := itemProp{node: c}
				if isItem {
					p.item = x.itemProps(c, s)
				} else {
					p.value = x.propValue(c)
				}
				for _, name := range names {
					p.name = localName(name)
					props = append(props, p)
				}
			}
			if !isItem {
				visit(c)
			}
		}
	}
	visit(scope)
	return props
}

// propValue is a property's value as microdata defines it: content, then
// the URL attribute of links and media, then the text.
func (x *extraction) propValue(n *html.Node) string {
	if hasAttr(n, "content") {
		return strings.TrimSpace(attr(n, "content"))
	}
	switch n.DataAtom {
	case atom.A, atom.Link, atom.Area:
		return x.resolve(cmp.Or(attr(n, "href"), attr(n, "resource")))
	case atom.Img, atom.Source, atom.Audio, atom.Video, atom.Embed, atom.Iframe:
		return x.resolve(cmp.Or(attr(n, "data-src"), attr(n, "src"))) // data-src: the real image behind a lazy-loading placeholder
	case atom.Data, atom.Meter:
		return strings.TrimSpace(attr(n, "value"))
	case atom.Time:
		if v := attr(n, "datetime"); v != "" {
			return v
		}
	}
	if v := attr(n, "resource"); v != "" {
		return x.resolve(v)
	}
	return textOf(n)
}

// first returns the value of the first property called name.
func first(props []itemProp, name string) string {
	for _, p := range props {
		if p.name == name {
			if p.item != nil {
				return cmp.Or(first(p.item, "name"), first(p.item, "url"))
			}
			return p.value
		}
	}
	return ""
}

// itemProduct reads a product from its properties.
func (x *extraction) itemProduct(props []itemProp, method string, block int) (Product, error) {
	p := Product{
		Name:        first(props, "name"),
		Description: first(props, "description"),
		SKU:         first(props, "sku"),
		GTIN:        cmp.Or(first(props, "gtin"), first(props, "gtin13"), first(props, "gtin12"), first(props, "gtin14"), first(props, "gtin8")),
		Brand:       cmp.Or(first(props, "brand"), first(props, "manufacturer")),
		URL:         x.resolve(first(props, "url")),
		Source:      method,
		Block:       block,
	}
	for _, pr := range props {
		if pr.name == "image" {
			u := pr.value
			if pr.item != nil {
				u = cmp.Or(first(pr.item, "url"), first(pr.item, "contentUrl"))
			}
			if u = x.resolve(u); u != "" && !slices.Contains(p.Images, u) {
				p.Images = append(p.Images, u)
			}
		}
	}
	for _, pr := range props {
		if pr.name != "hasVariant" || pr.item == nil {
			continue
		}
		vs, err := x.itemOffers(pr.item, p.Name)
		if err != nil {
			return p, err
		}
		for _, v := range vs {
			v.Name = cmp.Or(first(pr.item, "name"), v.Name)
			v.SKU = cmp.Or(first(pr.item, "sku"), v.SKU)
			p.Variants = append(p.Variants, v)
		}
	}
	if len(p.Variants) == 0 {
		vs, err := x.itemOffers(props, p.Name)
		if err != nil {
			return p, err
		}
		if len(vs) == 1 && vs[0].SKU == "" {
			vs[0].SKU = p.SKU
		}
		p.Variants = vs
	}
	return p, nil
}

// itemOffers reads the offers of a product's properties: nested Offer or
// AggregateOffer items, or a price marked up on the product itself.
func (x *extraction) itemOffers(props []itemProp, productName string) ([]Variant, error) {
	var out []Variant
	read := func(o []itemProp) error {
		f := offerFields{
			name: first(o, "name"), sku: first(o, "sku"),
			price: first(o, "price"), lowPrice: first(o, "lowPrice"), highPrice: first(o, "highPrice"),
			currency: first(o, "priceCurrency"), availability: first(o, "availability"),
		}
		if f.price == "" {
			for _, spec := range o {
				if spec.name == "priceSpecification" && spec.item != nil {
					f.price, f.currency = first(spec.item, "price"), cmp.Or(first(spec.item, "priceCurrency"), f.currency)
					break
				}
			}
		}
		v, ok, err := x.variant(f, productName)
		if ok {
			out = append(out, v)
		}
		return err
	}
	for _, pr := range props {
		if pr.name != "offers" || pr.item == nil {
			continue
		}
		nested := false
		for _, o := range pr.item {
			if o.name == "offers" && o.item != nil { // an AggregateOffer's offers
				nested = true
				if err := read(o.item); err != nil {
					return nil, err
				}
			}
		}
		if !nested {
			if err := read(pr.item); err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 && first(props, "price") != "" {
		if err := read(props); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rawProps writes properties as name=value lines, nested items indented,
// for Block.Raw.
func rawProps(props []itemProp, indent string) string {
	var b strings.Builder
	for _, p := range props {
		b.WriteString(indent + p.name + "=")
		if p.item != nil {
			b.WriteString("\n" + rawProps(p.item, indent+"  "))
			continue
		}
		b.WriteString(shorten(p.value, 300) + "\n")
	}
	return b.String()
}

// shorten cuts s to about n bytes on a character boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
