package internal

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// maxPage bounds ?page= (the store refuses more).
const maxPage = 100000

// listingFilters are a listing's filters as typed in the query string,
// kept as typed so that the form and the pagination links carry them.
type listingFilters struct {
	Market, Category, InStock, Min, Max, Sort string
	// Page is ?page= when it is a number in range, else 0.
	Page int
	// rawPage is ?page= as typed.
	rawPage string
	// fixedMarket and fixedCategory are set by the page's path (a
	// market's or a category's page), not by the query string.
	fixedMarket, fixedCategory bool
}

// readFilters reads a listing's filters from r's query string; a
// market's or a category's page fixes that filter to its own.
func readFilters(r *http.Request, market, category string) listingFilters {
	q := r.URL.Query()
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	f := listingFilters{Market: get("market"), Category: get("category"), InStock: get("in_stock"),
		Min: get("min"), Max: get("max"), Sort: get("sort"), rawPage: get("page")}
	if market != "" {
		f.Market, f.fixedMarket = market, true
	}
	if category != "" {
		f.Category, f.fixedCategory = category, true
	}
	f.Page, _ = pageParam(f.rawPage)
	return f
}

// pageParam reads a page number: "" is 1; ok is false for anything but a
// number from 1 to maxPage.
func pageParam(raw string) (int, bool) {
	if raw == "" {
		return 1, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxPage {
		return 0, false
	}
	return n, true
}

// query turns the filters into the store's query, or says what is wrong
// with them, in words for the shopper.
func (f listingFilters) query(markets []models.Market, categories []models.Category) (products.Query, []string) {
	q := products.Query{Market: f.Market, Category: f.Category, Sort: f.Sort, MinPrice: -1, MaxPrice: -1,
		PerPage: products.DefaultPerPage}
	var problems []string
	if f.Market != "" && !f.fixedMarket && !hasMarket(markets, f.Market) {
		problems = append(problems, fmt.Sprintf("There is no market “%s”.", f.Market))
	}
	if f.Category != "" && !f.fixedCategory && findCategory(categories, f.Category) == nil {
		problems = append(problems, fmt.Sprintf("There is no category “%s”.", f.Category))
	}
	switch f.InStock {
	case "", "0":
	case "1", "on", "true":
		q.InStock = true
	default:
		problems = append(problems, fmt.Sprintf("“In stock only” is 1 or left out, not “%s”.", f.InStock))
	}
	var err error
	if q.MinPrice, err = parseMajor(f.Min, "lowest"); err != nil {
		problems = append(problems, models.Message(err))
	}
	if q.MaxPrice, err = parseMajor(f.Max, "highest"); err != nil {
		problems = append(problems, models.Message(err))
	}
	if q.MinPrice >= 0 && q.MaxPrice >= 0 && q.MinPrice > q.MaxPrice {
		problems = append(problems, "The lowest price is above the highest.")
	}
	if f.Sort != "" && sortLabels[f.Sort] == "" {
		problems = append(problems, fmt.Sprintf("Products can be sorted by newest, price or name, not “%s”.", f.Sort))
	}
	if f.Page == 0 {
		problems = append(problems, fmt.Sprintf("There is no page “%s”: pages are numbered from 1.", f.rawPage))
	}
	q.Page = f.Page
	return q, problems
}

// parseMajor reads a price typed in major units ("5", "5.5", "5.50",
// "£5.50", "5,50") as minor units, without floats: -1 for "". what names
// the bound in the error. Errors: EInvalid.
func parseMajor(s, what string) (int64, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "£"))
	if s == "" {
		return -1, nil
	}
	bad := models.Errorf(models.EInvalid, "The %s price must be an amount such as 5 or 5.50, not “%s”.", what, s)
	whole, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if whole == "" || len(whole) > 9 || !digitsOnly(whole) || (hasFrac && (frac == "" || len(frac) > 2 || !digitsOnly(frac))) {
		return 0, bad
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, bad
	}
	n *= 100
	if hasFrac {
		f, _ := strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
		n += f
	}
	return n, nil
}

func digitsOnly(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// active says whether any filter narrows the listing (beyond the page's
// own market or category): the empty state then offers to clear them.
func (f listingFilters) active() bool {
	return (f.Market != "" && !f.fixedMarket) || (f.Category != "" && !f.fixedCategory) ||
		f.InStock != "" || f.Min != "" || f.Max != ""
}

// url returns the listing's address at base with the filters and page n.
func (f listingFilters) url(base string, n int) string {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	if !f.fixedMarket {
		set("market", f.Market)
	}
	if !f.fixedCategory {
		set("category", f.Category)
	}
	set("in_stock", f.InStock)
	set("min", f.Min)
	set("max", f.Max)
	set("sort", f.Sort)
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}

// sortLabels name the sorts in the sort menu.
var sortLabels = map[string]string{
	products.SortNewest:    "Newest first",
	products.SortPriceUp:   "Price, low to high",
	products.SortPriceDown: "Price, high to low",
	products.SortName:      "Name, A to Z",
}

func hasMarket(markets []models.Market, slug string) bool {
	for _, m := range markets {
		if m.Slug == slug {
			return true
		}
	}
	return false
}

// findCategory returns the category at slug in the tree, or nil.
func findCategory(tree []models.Category, slug string) *models.Category {
	for i := range tree {
		if tree[i].Slug == slug {
			return &tree[i]
		}
		if c := findCategory(tree[i].Children, slug); c != nil {
			return c
		}
	}
	return nil
}

// categoryPath returns the categories from the top of the tree down to
// the one at slug, or nil when it is not in the tree.
func categoryPath(tree []models.Category, slug string) []models.Category {
	for _, c := range tree {
		if c.Slug == slug {
			return []models.Category{c}
		}
		if below := categoryPath(c.Children, slug); below != nil {
			return append([]models.Category{c}, below...)
		}
	}
	return nil
}

// categoryChoice is one entry of the category menu: a category indented
// under its parent.
type categoryChoice struct {
	Slug, Label string
}

func filterCategories(tree []models.Category, depth int) []categoryChoice {
	var out []categoryChoice
	for _, c := range tree {
		out = append(out, categoryChoice{Slug: c.Slug, Label: strings.Repeat("— ", depth) + c.Name})
		out = append(out, filterCategories(c.Children, depth+1)...)
	}
	return out
}

// listingView is a page of a product listing: the browse page, a
// category's or a market's.
type listingView struct {
	// Base is the listing's path: /products, /categories/<slug>,
	// /markets/<slug>.
	Base        string
	Title, Lead string
	// FixedMarket and FixedCategory are the market or category the page
	// is about, "" on the browse page.
	FixedMarket, FixedCategory string
	Filters                    listingFilters
	Markets                    []models.Market
	Categories                 []models.Category
	Page                       products.Page
	Cards                      []productCard
	// Problems are what is wrong with the filters (the page is a 400).
	Problems []string
	// Empty is the listing's message when it has no products at all.
	Empty string
}

// pageURL is the listing's address at page n, with its filters.
func (v listingView) pageURL(n int) string { return v.Filters.url(v.Base, n) }

func itoa(n int) string { return strconv.Itoa(n) }

// searchView is the search page: the query, its results or what is
// wrong with it.
type searchView struct {
	Query   string
	Page    products.Page
	Cards   []productCard
	Problem string
}

// pageURL is the search's address at page n.
func (v searchView) pageURL(n int) string {
	u := "/search?q=" + url.QueryEscape(v.Query)
	if n > 1 {
		u += "&page=" + strconv.Itoa(n)
	}
	return u
}

// productCount says how many products: "1 product", "12 products".
func productCount(n int) string {
	if n == 1 {
		return "1 product"
	}
	return strconv.Itoa(n) + " products"
}

// pageOf says which page of several this is: " · page 2 of 3", or "".
func pageOf(p products.Page) string {
	if p.Pages() < 2 {
		return ""
	}
	return " · page " + strconv.Itoa(p.Page) + " of " + strconv.Itoa(p.Pages())
}
