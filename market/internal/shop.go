package internal

import (
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// How many products the home page shows of each kind.
const (
	homeFeatured = 8
	homeNew      = 12
)

// shop serves the shoppers' pages: the markets, browsing, search and the
// product pages.
type shop struct{ d Deps }

func newShop(d Deps) *shop { return &shop{d: d} }

// base returns the market's public URL without a trailing slash.
func (s *shop) base() string { return strings.TrimSuffix(s.d.Site.URL("market", ""), "/") }

// page returns the layout of a shop page: the site header with the
// market's bar (its search box holding query) and the market's stylesheet.
func (s *shop) page(r *http.Request, title, query string) layout.Page {
	p := s.d.Site.Page(r, title)
	p.Header = shopHeader(p, query)
	p.Head = marketStylesheet(s.d.Site.Assets.URL("market.css"))
	return p
}

// cards turns products into their cards, with links relative to the
// market.
func (s *shop) cards(list []models.Product) []productCard { return productCards(list, "") }

// productCards turns products into their cards, with links relative to
// the market (base "") or absolute (base the market's URL, for other
// services' pages).
func productCards(list []models.Product, base string) []productCard {
	out := make([]productCard, len(list))
	for i, p := range list {
		out[i] = productCard{Product: p, Base: base}
	}
	return out
}

// home lists the markets, then the featured and the newest products.
func (s *shop) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	markets, err := s.d.Products.Markets(ctx)
	if err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	featured, err := s.d.Products.Products(ctx, products.Query{Featured: true, PerPage: homeFeatured, MinPrice: -1, MaxPrice: -1})
	if err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	latest, err := s.d.Products.Products(ctx, products.Query{PerPage: homeNew, MinPrice: -1, MaxPrice: -1})
	if err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	featuredCards, latestCards := s.cards(featured.Products), s.cards(latest.Products)
	p := s.page(r, "", "")
	p.Description = "The markets, stalls and producers of the Rose Ash cooperative, and what they sell."
	s.d.Site.Render(w, r, http.StatusOK, HomePage(p, s.d.Site.OtherServices(), markets, featuredCards, latestCards, latest.Total))
}

// market shows a market (description, location, image) and its products,
// paginated, sortable and filtered like the browse page.
func (s *shop) market(w http.ResponseWriter, r *http.Request) {
	m, err := s.d.Products.Market(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	v := listingView{Base: "/markets/" + m.Slug, FixedMarket: m.Slug, Empty: m.Name + " has no products for sale yet."}
	s.showListing(w, r, v, func(p layout.Page, v listingView) templ.Component { return MarketPage(p, m, v) }, m.Name, m.Summary)
}

// products is the browse page: every published product, filtered by
// market, category, stock and price, sorted and paginated.
func (s *shop) products(w http.ResponseWriter, r *http.Request) {
	v := listingView{Base: "/products", Empty: "No products are for sale yet."}
	s.showListing(w, r, v, func(p layout.Page, v listingView) templ.Component { return BrowsePage(p, v) },
		"Products", "Everything the cooperative's markets sell.")
}

// category is the browse page of a category and its subcategories.
func (s *shop) category(w http.ResponseWriter, r *http.Request) {
	c, err := s.d.Products.Category(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	v := listingView{Base: "/categories/" + c.Slug, FixedCategory: c.Slug, Empty: "Nothing is for sale in " + c.Name + " yet."}
	s.showListing(w, r, v, func(p layout.Page, v listingView) templ.Component { return BrowsePage(p, v) },
		c.Name, "")
}

// showListing fills v from the request's filters and renders it with
// render; filters that cannot be read give the page with their problems
// (400), a page past the last one a 404.
func (s *shop) showListing(w http.ResponseWriter, r *http.Request, v listingView,
	render func(layout.Page, listingView) templ.Component, title, lead string) {
	ctx := r.Context()
	var err error
	if v.Markets, err = s.d.Products.Markets(ctx); err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	if v.Categories, err = s.d.Products.Categories(ctx); err != nil {
		s.d.Site.Error(w, r, err)
		return
	}
	v.Title, v.Lead = title, lead
	v.Filters = readFilters(r, v.FixedMarket, v.FixedCategory)
	q, problems := v.Filters.query(v.Markets, v.Categories)
	status := http.StatusOK
	if len(problems) > 0 {
		v.Problems, status = problems, http.StatusBadRequest
	} else {
		v.Page, err = s.d.Products.Products(ctx, q)
		if models.Code(err) == models.EInvalid {
			v.Problems, status = []string{models.Message(err)}, http.StatusBadRequest
		} else if err != nil {
			s.d.Site.Error(w, r, err)
			return
		}
		if q.Page > 1 && len(v.Page.Products) == 0 {
			s.d.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no page %d of these products.", q.Page))
			return
		}
		v.Cards = s.cards(v.Page.Products)
	}
	if v.Filters.Page > 1 {
		title += " (page " + itoa(v.Filters.Page) + ")"
	}
	p := s.page(r, title, "")
	if lead != "" {
		p.Description = lead
	}
	s.d.Site.Render(w, r, status, render(p, v))
}

// search finds products by name, market, category and description, best
// match first; every word matches as a prefix.
func (s *shop) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	v := searchView{Query: q}
	title := "Search"
	if q != "" {
		title = "Search: " + q
	}
	n, ok := pageParam(r.URL.Query().Get("page"))
	if !ok {
		v.Problem = "There is no page " + r.URL.Query().Get("page") + " of results: pages are numbered from 1."
		s.d.Site.Render(w, r, http.StatusBadRequest, SearchPage(s.page(r, title, q), v))
		return
	}
	if q != "" {
		page, err := s.d.Products.Search(r.Context(), q, n, products.DefaultPerPage)
		if models.Code(err) == models.EInvalid {
			v.Problem = models.Message(err)
			s.d.Site.Render(w, r, http.StatusBadRequest, SearchPage(s.page(r, title, q), v))
			return
		}
		if err != nil {
			s.d.Site.Error(w, r, err)
			return
		}
		if n > 1 && len(page.Products) == 0 {
			s.d.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no page %d of results.", n))
			return
		}
		v.Cards = s.cards(page.Products)
		v.Page = page
	}
	s.d.Site.Render(w, r, http.StatusOK, SearchPage(s.page(r, title, q), v))
}

// productObject answers a fediverse server asking for a product's
// ActivityPub object; 404 when the market does not federate.
func (s *shop) productObject(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil || s.d.Objects == nil {
		s.d.Site.Error(w, r, models.Errorf(models.ENotFound, "There is nothing at %s.", r.URL.Path))
		return
	}
	s.d.Objects(w, r, id)
}
