package internal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/scrape"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// RunTimeout bounds an admin's "Import now": the import runs while the
// admin waits; what a listing has beyond it is left to the scheduled
// refresh.
const RunTimeout = 30 * time.Second

// importAdmin serves the admin's supplier sources and review queue.
type importAdmin struct{ d Deps }

func newImportAdmin(d Deps) *importAdmin { return &importAdmin{d: d} }

// sourceForm is the source form as typed, kept when it is refused.
type sourceForm struct {
	ID                    uuid.UUID
	URL, Market, Category string
	Trusted               bool
	Hours                 string
	Selectors             scrape.Selectors
	Problem               string
	Markets               []models.Market
	Categories            []sourceCategory
}

func (f sourceForm) action() string {
	if f.ID == uuid.Nil {
		return "/admin/sources"
	}
	return "/admin/sources/" + f.ID.String()
}

// sourceCategory is a category as the source form lists it, indented by
// depth.
type sourceCategory struct{ Slug, Label string }

func flattenCategories(tree []models.Category, depth int, out []sourceCategory) []sourceCategory {
	for _, c := range tree {
		out = append(out, sourceCategory{Slug: c.Slug, Label: strings.Repeat("— ", depth) + c.Name})
		out = flattenCategories(c.Children, depth+1, out)
	}
	return out
}

func formOfSource(s products.Source) sourceForm {
	return sourceForm{ID: s.ID, URL: s.URL, Market: s.MarketSlug, Category: s.CategorySlug, Trusted: s.Trusted,
		Hours: strconv.Itoa(int(s.RefreshInterval / time.Hour)), Selectors: s.Selectors}
}

// withChoices fills the form's market and category lists.
func (a *importAdmin) withChoices(ctx context.Context, f sourceForm) (sourceForm, error) {
	markets, err := a.d.Products.Markets(ctx)
	if err != nil {
		return f, err
	}
	tree, err := a.d.Products.Categories(ctx)
	if err != nil {
		return f, err
	}
	f.Markets, f.Categories = markets, flattenCategories(tree, 0, nil)
	return f, nil
}

// readSourceForm reads the posted source form; an error is a mistake in
// it (EInvalid), the form keeps what was typed.
func readSourceForm(r *http.Request) (sourceForm, products.SourceInput, error) {
	f := sourceForm{URL: strings.TrimSpace(r.PostFormValue("url")), Market: r.PostFormValue("market"),
		Category: r.PostFormValue("category"), Trusted: r.PostFormValue("trusted") == "on",
		Hours: strings.TrimSpace(r.PostFormValue("hours")),
		Selectors: scrape.Selectors{Name: r.PostFormValue("sel_name"), Price: r.PostFormValue("sel_price"),
			Currency: r.PostFormValue("sel_currency"), Image: r.PostFormValue("sel_image"),
			Description: r.PostFormValue("sel_description"), Availability: r.PostFormValue("sel_availability"),
			SKU: r.PostFormValue("sel_sku")}}
	in := products.SourceInput{URL: f.URL, Market: f.Market, Category: f.Category, Trusted: f.Trusted, Selectors: f.Selectors}
	if f.Hours != "" {
		h, err := strconv.Atoi(f.Hours)
		if err != nil || h < 1 {
			return f, in, models.Errorf(models.EInvalid, "Refresh every whole number of hours (1 or more), not %q.", f.Hours)
		}
		if h > int(products.MaxRefreshInterval/time.Hour) {
			return f, in, models.Errorf(models.EInvalid, "Refresh a source at least every %d hours (90 days).", int(products.MaxRefreshInterval/time.Hour))
		}
		in.RefreshInterval = time.Duration(h) * time.Hour
	}
	return f, in, nil
}

// sourcesPage is the sources page: every source and the add form.
type sourcesPage struct {
	Sources []products.Source
	Form    sourceForm
	Notice  string
}

func (a *importAdmin) listSources(w http.ResponseWriter, r *http.Request) {
	a.renderSources(w, r, http.StatusOK, sourceForm{Hours: "24"}, noticeOf(r.URL.Query()))
}

func (a *importAdmin) renderSources(w http.ResponseWriter, r *http.Request, status int, f sourceForm, notice string) {
	list, err := a.d.Products.Sources(r.Context())
	if err == nil {
		f, err = a.withChoices(r.Context(), f)
	}
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.d.Site.Render(w, r, status, AdminSourcesPage(a.d.Site.Page(r, "Supplier sources"), sourcesPage{Sources: list, Form: f, Notice: notice}))
}

func (a *importAdmin) addSource(w http.ResponseWriter, r *http.Request) {
	f, in, err := readSourceForm(r)
	var src products.Source
	if err == nil {
		src, err = a.d.Products.CreateSource(r.Context(), in)
	}
	if err != nil {
		if !formMistake(err) {
			a.d.Site.Error(w, r, err)
			return
		}
		f.Problem = models.Message(err)
		a.renderSources(w, r, web.Status(models.Code(err)), f, "")
		return
	}
	http.Redirect(w, r, "/admin/sources/"+src.ID.String()+"?added=1", http.StatusSeeOther)
}

// formMistake says whether err is the form's (shown on the form) rather
// than the page's.
func formMistake(err error) bool {
	switch models.Code(err) {
	case models.EInvalid, models.EConflict, models.ENotFound:
		return true
	}
	return false
}

func (a *importAdmin) pathID(w http.ResponseWriter, r *http.Request, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		a.d.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no such %s.", what))
		return id, false
	}
	return id, true
}

// sourcePage is one source: its form, its last run and its imports.
type sourcePage struct {
	Source  products.Source
	Form    sourceForm
	Imports []products.Import
	Notice  string
}

// loadSource loads the source of the path's {id}; when it cannot, it has
// answered and returns false.
func (a *importAdmin) loadSource(w http.ResponseWriter, r *http.Request) (products.Source, bool) {
	id, ok := a.pathID(w, r, "source")
	if !ok {
		return products.Source{}, false
	}
	src, err := a.d.Products.Source(r.Context(), id)
	if err != nil {
		a.d.Site.Error(w, r, err)
		return src, false
	}
	return src, true
}

func (a *importAdmin) showSource(w http.ResponseWriter, r *http.Request) {
	src, ok := a.loadSource(w, r)
	if !ok {
		return
	}
	a.renderSource(w, r, http.StatusOK, src, formOfSource(src), noticeOf(r.URL.Query()))
}

func (a *importAdmin) renderSource(w http.ResponseWriter, r *http.Request, status int, src products.Source, f sourceForm, notice string) {
	f.ID = src.ID
	f, err := a.withChoices(r.Context(), f)
	var list []products.Import
	if err == nil {
		list, err = a.d.Products.SourceImports(r.Context(), src.ID, 20)
	}
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.d.Site.Render(w, r, status, AdminSourcePage(a.d.Site.Page(r, "Source: "+src.URL), sourcePage{Source: src, Form: f, Imports: list, Notice: notice}))
}

func (a *importAdmin) saveSource(w http.ResponseWriter, r *http.Request) {
	src, ok := a.loadSource(w, r)
	if !ok {
		return
	}
	id := src.ID
	f, in, err := readSourceForm(r)
	if err == nil {
		_, err = a.d.Products.UpdateSource(r.Context(), id, in)
	}
	if err != nil {
		if !formMistake(err) {
			a.d.Site.Error(w, r, err)
			return
		}
		f.Problem = models.Message(err)
		a.renderSource(w, r, web.Status(models.Code(err)), src, f, "")
		return
	}
	http.Redirect(w, r, "/admin/sources/"+id.String()+"?saved=1", http.StatusSeeOther)
}

// runSource imports the source now, while the admin waits (at most
// RunTimeout), and comes back to the source with what it found.
func (a *importAdmin) runSource(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathID(w, r, "source")
	if !ok {
		return
	}
	if a.d.Imports == nil {
		a.d.Site.Error(w, r, models.Errorf(models.EUnavailable, "Importing is not set up on this server."))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), RunTimeout)
	res, err := a.d.Imports.Run(ctx, id, false)
	cancel()
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	if res.Applied > 0 {
		a.changed(r.Context())
	}
	q := url.Values{"ran": {"1"}}
	for k, n := range map[string]int{"found": res.Found, "new": res.New, "changed": res.Changed,
		"unchanged": res.Unchanged, "errors": len(res.Errors), "applied": res.Applied, "conflicts": len(res.Conflicts)} {
		q.Set(k, strconv.Itoa(n))
	}
	http.Redirect(w, r, "/admin/sources/"+id.String()+"?"+q.Encode(), http.StatusSeeOther)
}

func (a *importAdmin) deleteSource(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathID(w, r, "source")
	if !ok {
		return
	}
	if err := a.d.Products.DeleteSource(r.Context(), id); err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/sources?deleted=1", http.StatusSeeOther)
}

// noticeOf says, from the query a redirect left, what the admin just did.
// Only counts and flags come through the query, so a link cannot put
// words on the page.
func noticeOf(q url.Values) string {
	n := func(k string) int { v, _ := strconv.Atoi(q.Get(k)); return max(v, 0) }
	switch {
	case q.Get("ran") == "1":
		s := fmt.Sprintf("Import done. Found %d: %d new, %d changed, %d unchanged; %d errors.",
			n("found"), n("new"), n("changed"), n("unchanged"), n("errors"))
		if n("applied") > 0 {
			s += fmt.Sprintf(" %d applied at once (trusted source).", n("applied"))
		} else if n("new")+n("changed") > 0 {
			s += " They wait in the review queue."
		}
		if n("conflicts") > 0 {
			s += fmt.Sprintf(" %d pages have product blocks that disagree: check them in the review queue.", n("conflicts"))
		}
		if n("errors") > 0 {
			s += " The errors are below."
		}
		return s
	case q.Get("added") == "1":
		return "Source added. Import now, or wait for the scheduled refresh."
	case q.Get("saved") == "1":
		return "Saved."
	case q.Get("deleted") == "1":
		return "Source deleted. The products it brought stay."
	case q.Get("approved") == "1":
		s := "Approved: the catalogue has the change."
		if m := n("missing"); m > 0 {
			s += fmt.Sprintf(" %d images could not be downloaded; add them on the product's page.", m)
		}
		return s
	case q.Get("rejected") == "1":
		return "Rejected: the catalogue is unchanged."
	}
	return ""
}

// reviewPage is the review queue.
type reviewPage struct {
	Imports []products.Import
	Total   int
	Notice  string
}

func (a *importAdmin) listReview(w http.ResponseWriter, r *http.Request) {
	list, total, err := a.d.Products.PendingImports(r.Context())
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.d.Site.Render(w, r, http.StatusOK, AdminReviewPage(a.d.Site.Page(r, "Review queue"),
		reviewPage{Imports: list, Total: total, Notice: noticeOf(r.URL.Query())}))
}

func (a *importAdmin) showReview(w http.ResponseWriter, r *http.Request) {
	a.renderImport(w, r, http.StatusOK, "")
}

// renderImport shows the import at {id}, with a problem when a decision
// on it was refused.
func (a *importAdmin) renderImport(w http.ResponseWriter, r *http.Request, status int, problem string) {
	id, ok := a.pathID(w, r, "import")
	if !ok {
		return
	}
	im, err := a.d.Products.Import(r.Context(), id)
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.d.Site.Render(w, r, status, AdminImportPage(a.d.Site.Page(r, "Import: "+im.Found.Name), im, problem))
}

func (a *importAdmin) approve(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathID(w, r, "import")
	if !ok {
		return
	}
	if a.d.Imports == nil {
		a.d.Site.Error(w, r, models.Errorf(models.EUnavailable, "Importing is not set up on this server."))
		return
	}
	u, _ := web.Viewer(r.Context())
	ctx, cancel := context.WithTimeout(r.Context(), RunTimeout)
	res, err := a.d.Imports.Approve(ctx, id, u.ID)
	cancel()
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	a.changed(r.Context(), res.Product.Slug)
	http.Redirect(w, r, "/admin/review?approved=1&missing="+strconv.Itoa(len(res.ImageErrors)), http.StatusSeeOther)
}

func (a *importAdmin) reject(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathID(w, r, "import")
	if !ok {
		return
	}
	u, _ := web.Viewer(r.Context())
	if err := a.d.Products.Reject(r.Context(), id, u.ID); err != nil {
		a.refuse(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/review?rejected=1", http.StatusSeeOther)
}

// refuse shows the import again with why a decision was refused (decided
// already, a product saved meanwhile, a source without a market); other
// errors get the error page.
func (a *importAdmin) refuse(w http.ResponseWriter, r *http.Request, err error) {
	code := models.Code(err)
	if code != models.EInvalid && code != models.EConflict {
		a.d.Site.Error(w, r, err)
		return
	}
	a.renderImport(w, r, web.Status(code), models.Message(err))
}

// changed drops what anonymous visitors could see stale after an import
// was applied (catalogueChanged).
func (a *importAdmin) changed(ctx context.Context, slugs ...string) {
	catalogueChanged(ctx, a.d, slugs...)
}

// prettyJSON indents a JSON block for reading; other text (microdata's
// name=value lines, a block that is not valid JSON) is shown as it is.
// The template escapes the result.
func prettyJSON(raw string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(strings.TrimSpace(raw)), "", "  "); err != nil {
		return raw
	}
	return buf.String()
}

// money says a price of an import.
func money(minor int64, currency string) string {
	return models.Money{Minor: minor, Currency: currency}.String()
}

// methodText names an extraction method for people.
func methodText(m string) string {
	switch m {
	case scrape.MethodJSONLD:
		return "schema.org JSON-LD"
	case scrape.MethodMicrodata:
		return "schema.org microdata"
	case scrape.MethodRDFa:
		return "RDFa lite"
	case scrape.MethodOpenGraph:
		return "OpenGraph product tags"
	case scrape.MethodSelectors:
		return "the source's CSS selectors"
	}
	return m
}

// statusWord says an import's status.
func statusWord(s string) string {
	switch s {
	case products.ImportPending:
		return "Waiting for review"
	case products.ImportApproved:
		return "Being applied"
	case products.ImportApplied:
		return "Applied"
	case products.ImportRejected:
		return "Rejected"
	}
	return s
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func hoursText(d time.Duration) string {
	h := int(d / time.Hour)
	switch {
	case h%24 == 0 && h >= 48:
		return strconv.Itoa(h/24) + " days"
	case h == 24:
		return "day"
	case h == 1:
		return "hour"
	}
	return strconv.Itoa(h) + " hours"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// variantLabel names a found variant after "Price": " (500 g)", or "".
func variantLabel(v products.FoundVariant) string {
	if v.Name == "" {
		return ""
	}
	return " (" + v.Name + ")"
}
