package internal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// adminPerPage is how many products a page of the admin's list shows.
const adminPerPage = 50

// catalogueAdmin serves the admin's catalogue pages (behind RequireAdmin):
// products, markets and categories.
type catalogueAdmin struct{ d Deps }

func newCatalogueAdmin(d Deps) *catalogueAdmin { return &catalogueAdmin{d: d} }

// changed drops what anonymous visitors could see stale after a catalogue
// change (catalogueChanged).
func (a *catalogueAdmin) changed(ctx context.Context, slugs ...string) {
	catalogueChanged(ctx, a.d, slugs...)
}

// catalogueChanged drops what anonymous visitors could see stale after a
// catalogue change: every cached market page, the product cards of the
// products at slugs (a card is cached by its product's slug), and every
// market's widget (its latest products; markets are few). Failures are
// logged: the copies expire with their TTLs.
func catalogueChanged(ctx context.Context, d Deps, slugs ...string) {
	site := d.Site
	if site.Fragments != nil {
		for _, slug := range slugs {
			if slug == "" {
				continue
			}
			if err := site.Fragments.InvalidateNamedRef(ctx, fragments.ProductCard, slug); err != nil {
				site.Logger.WarnContext(ctx, "product card not invalidated", "product", slug, "error", err)
			}
		}
		markets, err := d.Products.Markets(ctx)
		if err != nil {
			site.Logger.WarnContext(ctx, "market widgets not invalidated", "error", err)
		}
		for _, m := range markets {
			if err := site.Fragments.InvalidateNamedRef(ctx, fragments.MarketWidget, m.Slug); err != nil {
				site.Logger.WarnContext(ctx, "market widget not invalidated", "market", m.Slug, "error", err)
			}
		}
	}
	if d.Pages != nil {
		if err := d.Pages.Purge(ctx); err != nil {
			site.Logger.WarnContext(ctx, "page cache not purged", "error", err)
		}
	}
}

// pathID reads the {id} of the path; a malformed one is a 404 (answered).
func (a *catalogueAdmin) pathID(w http.ResponseWriter, r *http.Request, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		a.d.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no such %s.", what))
		return id, false
	}
	return id, true
}

// adminLink is one link of the admin pages' navigation.
type adminLink struct{ Label, URL string }

// adminLinks are the market's admin pages; Sources and Review queue are
// the imports' pages.
var adminLinks = []adminLink{
	{"Products", "/admin/products"},
	{"Markets", "/admin/markets"},
	{"Categories", "/admin/categories"},
	{"Sources", "/admin/sources"},
	{"Review queue", "/admin/review"},
}

// productFilter is the admin's product list's filters, from the query.
type productFilter struct {
	Market, Category, Status, Text string
	Page                           int
}

// query writes the filter as a query string, with page p.
func (f productFilter) query(p int) string {
	return web.ListQuery(map[string]string{"market": f.Market, "category": f.Category, "status": f.Status, "q": f.Text}, p)
}

// productList is what the product list page shows.
type productList struct {
	Filter     productFilter
	Page       products.Page
	Markets    []models.Market
	Categories []categoryOption
	Notice     string
	Problem    string
}

func (a *catalogueAdmin) listProducts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := productFilter{Market: q.Get("market"), Category: q.Get("category"), Status: q.Get("status"),
		Text: strings.TrimSpace(q.Get("q")), Page: 1}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			a.d.Site.Error(w, r, models.Errorf(models.EInvalid, "There is no page %q.", p))
			return
		}
		f.Page = n
	}
	a.renderList(w, r, http.StatusOK, f, q.Get("notice"), "")
}

func (a *catalogueAdmin) renderList(w http.ResponseWriter, r *http.Request, status int, f productFilter, notice, problem string) {
	ctx := r.Context()
	page, err := a.d.Products.AdminProducts(ctx, products.AdminQuery{Market: f.Market, Category: f.Category,
		Status: f.Status, Text: f.Text, Page: f.Page, PerPage: adminPerPage})
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	markets, categories, err := a.choices(ctx)
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	list := productList{Filter: f, Page: page, Markets: markets, Categories: categories, Notice: notice, Problem: problem}
	a.d.Site.Render(w, r, status, AdminProductsPage(a.d.Site.Page(r, "Products"), list))
}

// Bulk actions of the product list.
const (
	bulkPublish   = "publish"
	bulkUnpublish = "unpublish"
	bulkMove      = "move"
)

// bulk publishes, unpublishes or moves the ticked products, then goes
// back to the list (with its filters) and says how many changed.
func (a *catalogueAdmin) bulk(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.d.Site.Error(w, r, models.Errorf(models.EInvalid, "The form could not be read."))
		return
	}
	ctx := r.Context()
	f := productFilter{Market: r.PostForm.Get("market"), Category: r.PostForm.Get("filter_category"),
		Status: r.PostForm.Get("status"), Text: r.PostForm.Get("q"), Page: 1}
	if n, err := strconv.Atoi(r.PostForm.Get("page")); err == nil && n > 0 {
		f.Page = n
	}
	var ids []uuid.UUID
	for _, s := range r.PostForm["id"] {
		id, err := uuid.Parse(s)
		if err != nil {
			a.renderList(w, r, http.StatusUnprocessableEntity, f, "", "The form is damaged; reload the page.")
			return
		}
		ids = append(ids, id)
	}
	action := r.PostForm.Get("action")
	if len(ids) == 0 {
		a.renderList(w, r, http.StatusUnprocessableEntity, f, "", "Tick the products to change first.")
		return
	}
	// The slugs before the change, for their cards.
	var slugs []string
	for _, id := range ids {
		if p, err := a.d.Products.ProductByID(ctx, id, true); err == nil {
			slugs = append(slugs, p.Slug)
		}
	}
	var n int
	var err error
	var done string
	switch action {
	case bulkPublish:
		n, err = a.d.Products.SetPublished(ctx, ids, true)
		done = "published"
	case bulkUnpublish:
		n, err = a.d.Products.SetPublished(ctx, ids, false)
		done = "unpublished"
	case bulkMove:
		to := r.PostForm.Get("to_category")
		n, err = a.d.Products.MoveToCategory(ctx, ids, to)
		done = "moved"
	default:
		a.renderList(w, r, http.StatusUnprocessableEntity, f, "", "Choose what to do with the ticked products.")
		return
	}
	if c := models.Code(err); c == models.EInvalid || c == models.ENotFound {
		a.renderList(w, r, http.StatusUnprocessableEntity, f, "", models.Message(err))
		return
	}
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.changed(ctx, slugs...)
	notice := plural(n, "product") + " " + done + "."
	if n == 0 {
		notice = "Nothing changed: the ticked products were already so."
	}
	next := f.query(f.Page)
	if next == "" {
		next = "?"
	} else {
		next += "&"
	}
	http.Redirect(w, r, "/admin/products"+next+"notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

// plural writes "1 product", "3 products".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// categoryOption is one category of a select, with its depth in the tree.
type categoryOption struct {
	models.Category
	Depth int
	// Label is the name indented by depth.
	Label string
}

// categoryOptions flattens the tree in order, each category under its
// parent.
func categoryOptions(tree []models.Category) []categoryOption {
	var out []categoryOption
	var walk func([]models.Category, int)
	walk = func(cs []models.Category, depth int) {
		for _, c := range cs {
			out = append(out, categoryOption{Category: c, Depth: depth, Label: strings.Repeat("— ", depth) + c.Name})
			walk(c.Children, depth+1)
		}
	}
	walk(tree, 0)
	return out
}

// stockSummary is the list's stock column: "12 in stock", "Sold out",
// "Not tracked", "2 of 3 variants sold out".
func stockSummary(p models.Product) string {
	if len(p.Variants) == 0 {
		return "No variants"
	}
	total, tracked, soldOut := 0, 0, 0
	for _, v := range p.Variants {
		if !v.TrackStock {
			continue
		}
		tracked++
		total += v.Stock
		if !v.Buyable() {
			soldOut++
		}
	}
	switch {
	case tracked == 0:
		return "Not tracked"
	case soldOut == len(p.Variants):
		return "Sold out"
	case soldOut > 0:
		return strconv.Itoa(soldOut) + " of " + plural(len(p.Variants), "variant") + " sold out"
	case tracked < len(p.Variants):
		return strconv.Itoa(total) + " in stock (some not tracked)"
	}
	return strconv.Itoa(total) + " in stock"
}
