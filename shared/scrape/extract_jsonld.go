package scrape

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// jsonLD reads the products of every <script type="application/ld+json">
// on the page: in @graph, in top-level arrays, under mainEntity and other
// properties, a Product or a ProductGroup with hasVariant. A script that is
// not valid JSON is kept as a block with its error and skipped, so that the
// next method gets its chance. ItemList entries go to Page.ProductURLs.
func (x *extraction) jsonLD(doc *xhtml.Node) []Product {
	var out []Product
	walk(doc, func(n *xhtml.Node) bool {
		if n.Type != xhtml.ElementNode || n.DataAtom != atom.Script {
			return true
		}
		if !strings.Contains(strings.ToLower(attr(n, "type")), "ld+json") || n.FirstChild == nil {
			return false
		}
		raw := strings.TrimSpace(n.FirstChild.Data)
		block := x.addBlock(MethodJSONLD, raw)
		dec := json.NewDecoder(strings.NewReader(stripScriptWrappers(raw)))
		dec.UseNumber() // prices stay decimal text: no floats
		var v any
		if err := dec.Decode(&v); err != nil {
			x.rejectBlock(block, fmt.Errorf("invalid JSON: %w", err))
			return false
		}
		before := len(out)
		x.ids = map[string]map[string]any{}
		indexJSONLD(v, x.ids, 0)
		if err := x.walkJSONLD(v, block, 0, &out); err != nil {
			x.rejectBlock(block, err)
			out = out[:before]
		}
		return false
	})
	return out
}

// indexJSONLD maps the @id of each node in v that has more than an @id to
// the node, so that a reference ({"@id": "#v1"}) can be followed.
func indexJSONLD(v any, ids map[string]map[string]any, depth int) {
	if depth > 8 {
		return
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			indexJSONLD(e, ids, depth+1)
		}
	case map[string]any:
		if id, ok := v["@id"].(string); ok && len(v) > 1 {
			if _, seen := ids[id]; !seen {
				ids[id] = v
			}
		}
		for _, e := range v {
			indexJSONLD(e, ids, depth+1)
		}
	}
}

// deref returns the node m refers to when m is only a reference.
func (x *extraction) deref(m map[string]any) map[string]any {
	if id, ok := m["@id"].(string); ok && len(m) == 1 && x.ids[id] != nil {
		return x.ids[id]
	}
	return m
}

// stripScriptWrappers removes the HTML comment and CDATA markers some
// themes still wrap scripts in.
func stripScriptWrappers(s string) string {
	for _, w := range [][2]string{{"<!--", "-->"}, {"//<![CDATA[", "//]]>"}, {"<![CDATA[", "]]>"}} {
		if strings.HasPrefix(s, w[0]) {
			s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, w[0]), w[1]))
		}
	}
	return s
}

// walkJSONLD finds products in v, at most a few levels down.
func (x *extraction) walkJSONLD(v any, block, depth int, out *[]Product) error {
	if depth > 8 {
		return nil
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if err := x.walkJSONLD(e, block, depth+1, out); err != nil {
				return err
			}
		}
	case map[string]any:
		types := jsonTypes(v)
		if slices.ContainsFunc(types, isProductType) {
			p, err := x.jsonLDProduct(v, block)
			if err != nil {
				return err
			}
			if p.Name != "" {
				*out = append(*out, p)
			}
			return nil
		}
		if slices.ContainsFunc(types, func(t string) bool { return localName(t) == "ItemList" || localName(t) == "OfferCatalog" }) {
			x.itemList(v)
			return nil
		}
		keys := make([]string, 0, len(v))
		for k, e := range v {
			switch e.(type) {
			case map[string]any, []any:
				keys = append(keys, k)
			}
		}
		slices.Sort(keys) // @graph first, then a stable order
		for _, k := range keys {
			if err := x.walkJSONLD(v[k], block, depth+1, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// itemList adds the URLs of an ItemList's entries to Page.ProductURLs.
func (x *extraction) itemList(m map[string]any) {
	for _, e := range asList(m["itemListElement"]) {
		em, ok := e.(map[string]any)
		if !ok {
			if s, ok := e.(string); ok {
				x.page.ProductURLs = append(x.page.ProductURLs, x.resolve(s))
			}
			continue
		}
		u := jsonText(em["url"])
		if u == "" {
			switch item := em["item"].(type) {
			case string:
				u = item
			case map[string]any:
				u = cmp.Or(jsonText(item["url"]), jsonText(item["@id"]))
			}
		}
		if u == "" {
			u = jsonText(em["@id"])
		}
		x.page.ProductURLs = append(x.page.ProductURLs, x.resolve(u))
	}
}

// jsonLDProduct reads a Product or ProductGroup node.
func (x *extraction) jsonLDProduct(m map[string]any, block int) (Product, error) {
	p := Product{
		Name:        jsonText(m["name"]),
		Description: plainText(jsonText(m["description"])),
		SKU:         jsonText(m["sku"]),
		GTIN:        cmp.Or(jsonText(m["gtin"]), jsonText(m["gtin13"]), jsonText(m["gtin12"]), jsonText(m["gtin14"]), jsonText(m["gtin8"])),
		Brand:       jsonName(m["brand"]),
		URL:         x.resolve(jsonText(m["url"])),
		Images:      x.jsonImages(m["image"]),
		Source:      MethodJSONLD,
		Block:       block,
	}
	if p.Brand == "" {
		p.Brand = jsonName(m["manufacturer"])
	}
	for _, variant := range asList(m["hasVariant"]) {
		vm, ok := variant.(map[string]any)
		if !ok {
			continue
		}
		vm = x.deref(vm)
		vs, err := x.jsonLDOffers(vm["offers"], "", p.Name)
		if err != nil {
			return p, err
		}
		for _, v := range vs {
			v.Name = cmp.Or(jsonText(vm["name"]), v.Name)
			v.SKU = cmp.Or(jsonText(vm["sku"]), v.SKU)
			p.Variants = append(p.Variants, v)
		}
		if len(p.Images) == 0 {
			p.Images = x.jsonImages(vm["image"])
		}
	}
	if len(p.Variants) > 0 && m["offers"] != nil {
		// A group's own offers may say what its variants' do not.
		if groupOffers, err := x.jsonLDOffers(m["offers"], "", p.Name); err == nil {
			for i, v := range p.Variants {
				for _, o := range groupOffers {
					if v.Availability == "" && v.SKU != "" && o.SKU == v.SKU {
						p.Variants[i].Availability = o.Availability
					}
				}
			}
		}
	}
	if len(p.Variants) == 0 {
		vs, err := x.jsonLDOffers(m["offers"], "", p.Name)
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

// jsonLDOffers reads offers given as an object, an array or an
// AggregateOffer (with its offers, or only lowPrice and highPrice).
func (x *extraction) jsonLDOffers(v any, currency, productName string) ([]Variant, error) {
	var out []Variant
	for _, o := range asList(v) {
		om, ok := o.(map[string]any)
		if !ok {
			continue
		}
		cur := cmp.Or(jsonText(om["priceCurrency"]), currency)
		if slices.ContainsFunc(jsonTypes(om), func(t string) bool { return localName(t) == "AggregateOffer" }) && om["offers"] != nil {
			vs, err := x.jsonLDOffers(om["offers"], cur, productName)
			if err != nil {
				return nil, err
			}
			if len(vs) > 0 {
				out = append(out, vs...)
				continue
			}
		}
		f := offerFields{
			name:         jsonText(om["name"]),
			sku:          jsonText(om["sku"]),
			price:        jsonText(om["price"]),
			lowPrice:     jsonText(om["lowPrice"]),
			highPrice:    jsonText(om["highPrice"]),
			currency:     cur,
			availability: jsonText(om["availability"]),
		}
		if f.price == "" {
			for _, spec := range asList(om["priceSpecification"]) {
				if sm, ok := spec.(map[string]any); ok && jsonText(sm["price"]) != "" {
					f.price = jsonText(sm["price"])
					f.currency = cmp.Or(jsonText(sm["priceCurrency"]), f.currency)
					break
				}
			}
		}
		variant, ok, err := x.variant(f, productName)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, variant)
		}
	}
	return out, nil
}

// jsonImages reads image as a URL, an ImageObject, or a list of either.
func (x *extraction) jsonImages(v any) []string {
	var out []string
	for _, e := range asList(v) {
		var u string
		switch e := e.(type) {
		case string:
			u = e
		case map[string]any:
			u = cmp.Or(jsonText(e["url"]), jsonText(e["contentUrl"]), jsonText(e["@id"]))
		}
		if u = x.resolve(u); u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// plainText strips the HTML that shops put in JSON-LD descriptions
// (Shopify's body_html), keeping the text with its white space collapsed.
func plainText(s string) string {
	if !strings.ContainsRune(s, '<') {
		return s
	}
	z := xhtml.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return strings.Join(strings.Fields(b.String()), " ")
		case xhtml.TextToken:
			b.Write(z.Text())
		case xhtml.StartTagToken, xhtml.EndTagToken, xhtml.SelfClosingTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.P, atom.Br, atom.Div, atom.Li, atom.Ul, atom.Ol, atom.Tr, atom.Td, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
				b.WriteByte(' ') // a block ends a word; an inline tag does not
			}
		}
	}
}

// jsonTypes returns @type as a list, whether it was a string or an array.
func jsonTypes(m map[string]any) []string {
	var out []string
	for _, t := range asList(m["@type"]) {
		if s, ok := t.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// asList returns v as a list: itself when an array, nil when absent,
// otherwise a list of one.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// jsonText returns v as text: a string (HTML entities decoded, spaces
// trimmed), a number as written, a value object's @value, or the first of
// an array.
func jsonText(v any) string {
	switch v := v.(type) {
	case string:
		if strings.IndexByte(v, '&') >= 0 {
			v = html.UnescapeString(v)
		}
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	case map[string]any:
		return jsonText(v["@value"])
	case []any:
		if len(v) > 0 {
			return jsonText(v[0])
		}
	}
	return ""
}

// jsonName returns a brand or organisation given as text or as a node with a name.
func jsonName(v any) string {
	if m, ok := v.(map[string]any); ok {
		return jsonText(m["name"])
	}
	if l, ok := v.([]any); ok && len(l) > 0 {
		return jsonName(l[0])
	}
	return jsonText(v)
}
