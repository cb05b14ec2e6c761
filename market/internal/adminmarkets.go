package internal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// marketForm is the market form as typed.
type marketForm struct {
	ID                                              uuid.UUID // uuid.Nil for a new market
	Version                                         int
	Name, Slug, Summary, Description, Location, Img string
	RemoveImage                                     bool
	// DeliveryFee is as typed ("3.95"); Places has one pickup place a
	// line.
	DeliveryFee, Places string
	fee                 int64
}

func (f marketForm) action() string {
	if f.ID == uuid.Nil {
		return "/admin/markets"
	}
	return "/admin/markets/" + f.ID.String()
}

func marketFormOf(m models.Market) marketForm {
	return marketForm{ID: m.ID, Version: m.Version, Name: m.Name, Slug: m.Slug, Summary: m.Summary,
		Description: m.Description, Location: m.Location, Img: m.Image, fee: m.DeliveryFee,
		DeliveryFee: models.Money{Minor: m.DeliveryFee, Currency: "GBP"}.Decimal(), Places: strings.Join(m.PickupPlaces, "\n")}
}

func (a *catalogueAdmin) listMarkets(w http.ResponseWriter, r *http.Request) {
	a.renderMarkets(w, r, http.StatusOK, r.URL.Query().Get("notice"), "")
}

func (a *catalogueAdmin) renderMarkets(w http.ResponseWriter, r *http.Request, status int, notice, problem string) {
	markets, err := a.d.Products.Markets(r.Context())
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.d.Site.Render(w, r, status, AdminMarketsPage(a.d.Site.Page(r, "Markets"), markets, notice, problem))
}

func (a *catalogueAdmin) showMarketForm(w http.ResponseWriter, r *http.Request, status int, f marketForm, problem string, saved bool) {
	title := "New market"
	if f.ID != uuid.Nil {
		title = "Edit " + f.Name
	}
	a.d.Site.Render(w, r, status, AdminMarketPage(a.d.Site.Page(r, title), f, problem, saved))
}

func (a *catalogueAdmin) newMarket(w http.ResponseWriter, r *http.Request) {
	a.showMarketForm(w, r, http.StatusOK, marketForm{}, "", false)
}

// readMarketForm reads the market form and stores its image upload.
func (a *catalogueAdmin) readMarketForm(w http.ResponseWriter, r *http.Request) (marketForm, error) {
	maxBytes := a.d.Site.Config.Media.MaxBytes
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes+1<<20)
	err := r.ParseMultipartForm(media.UploadFormMemory)
	if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return marketForm{}, media.TooLarge(maxBytes)
		}
		return marketForm{}, models.Wrap(models.EInvalid, "The form could not be read.", err)
	}
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	pf := r.PostForm
	f := marketForm{Name: pf.Get("name"), Slug: pf.Get("slug"), Summary: pf.Get("summary"), Description: pf.Get("description"),
		Location: pf.Get("location"), Img: pf.Get("image"), RemoveImage: pf.Get("remove_image") != "",
		DeliveryFee: strings.TrimSpace(pf.Get("delivery_fee")), Places: pf.Get("pickup_places")}
	if f.DeliveryFee != "" {
		if f.fee, err = parseMinor(f.DeliveryFee, "GBP", "the delivery fee"); err != nil {
			return f, err
		}
	}
	if v := pf.Get("version"); v != "" {
		if f.Version, err = strconv.Atoi(v); err != nil {
			return f, models.Errorf(models.EInvalid, "The form is damaged; reload the page.")
		}
	}
	link, err := a.uploadedImage(r, "upload")
	if err != nil {
		return f, err
	}
	if link != "" {
		f.Img, f.RemoveImage = link, false
	}
	if f.RemoveImage {
		f.Img = ""
	}
	if f.Img != "" && !isMediaURL(f.Img) {
		bad := f.Img
		f.Img = ""
		return f, models.Errorf(models.EInvalid, "The market's image must be uploaded (an address like /media/…png), not %q.", bad)
	}
	return f, nil
}

func (f marketForm) input() products.MarketInput {
	return products.MarketInput{Slug: f.Slug, Name: f.Name, Summary: f.Summary, Description: f.Description,
		Location: f.Location, Image: f.Img, DeliveryFee: f.fee, PickupPlaces: strings.Split(f.Places, "\n")}
}

func (a *catalogueAdmin) createMarket(w http.ResponseWriter, r *http.Request) {
	f, err := a.readMarketForm(w, r)
	var m models.Market
	if err == nil {
		m, err = a.d.Products.CreateMarket(r.Context(), f.input())
	}
	if err != nil {
		a.refuseMarket(w, r, f, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/markets/"+m.ID.String()+"?saved=1", http.StatusSeeOther)
}

// marketByID finds a market by id among all of them (the store looks
// markets up by slug). Errors: ENotFound, EInternal.
func (a *catalogueAdmin) marketByID(ctx context.Context, id uuid.UUID) (models.Market, error) {
	markets, err := a.d.Products.Markets(ctx)
	if err != nil {
		return models.Market{}, err
	}
	for _, m := range markets {
		if m.ID == id {
			return m, nil
		}
	}
	return models.Market{}, models.Errorf(models.ENotFound, "There is no such market.")
}

func (a *catalogueAdmin) loadMarket(w http.ResponseWriter, r *http.Request) (models.Market, bool) {
	id, ok := a.pathID(w, r, "market")
	if !ok {
		return models.Market{}, false
	}
	m, err := a.marketByID(r.Context(), id)
	if err != nil {
		a.d.Site.Error(w, r, err)
		return m, false
	}
	return m, true
}

func (a *catalogueAdmin) editMarket(w http.ResponseWriter, r *http.Request) {
	m, ok := a.loadMarket(w, r)
	if !ok {
		return
	}
	a.showMarketForm(w, r, http.StatusOK, marketFormOf(m), "", r.URL.Query().Get("saved") == "1")
}

func (a *catalogueAdmin) saveMarket(w http.ResponseWriter, r *http.Request) {
	old, ok := a.loadMarket(w, r)
	if !ok {
		return
	}
	f, err := a.readMarketForm(w, r)
	f.ID = old.ID
	var m models.Market
	if err == nil {
		m, err = a.d.Products.UpdateMarket(r.Context(), old.ID, f.Version, f.input())
	}
	if err != nil {
		a.refuseMarket(w, r, f, err)
		return
	}
	// Its products' cards name the market.
	a.changed(r.Context(), a.productSlugs(r.Context(), products.AdminQuery{Market: m.Slug})...)
	http.Redirect(w, r, "/admin/markets/"+m.ID.String()+"?saved=1", http.StatusSeeOther)
}

// refuseMarket shows the market form again with what was typed.
func (a *catalogueAdmin) refuseMarket(w http.ResponseWriter, r *http.Request, f marketForm, err error) {
	code := models.Code(err)
	if code != models.EInvalid && code != models.EConflict {
		a.d.Site.Error(w, r, err)
		return
	}
	status := http.StatusUnprocessableEntity
	if code == models.EConflict {
		status = http.StatusConflict
		if f.ID != uuid.Nil {
			if cur, cerr := a.marketByID(r.Context(), f.ID); cerr == nil {
				f.Version = cur.Version
			}
		}
	}
	a.showMarketForm(w, r, status, f, models.Message(err), false)
}

// deleteMarket asks to confirm, then deletes a market without products;
// one with products is refused with the store's message.
func (a *catalogueAdmin) deleteMarket(w http.ResponseWriter, r *http.Request) {
	m, ok := a.loadMarket(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		a.d.Site.Render(w, r, http.StatusOK, ConfirmDeletePage(a.d.Site.Page(r, "Delete "+m.Name),
			"Delete the market “"+m.Name+"”?", "Only a market without products can be deleted. This cannot be undone.",
			"/admin/markets/"+m.ID.String()+"/delete", "/admin/markets/"+m.ID.String()))
		return
	}
	err := a.d.Products.DeleteMarket(r.Context(), m.ID)
	if models.Code(err) == models.EConflict {
		a.renderMarkets(w, r, http.StatusConflict, "", m.Name+": "+models.Message(err))
		return
	}
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/markets?notice="+url.QueryEscape(fmt.Sprintf("Deleted “%s”.", m.Name)), http.StatusSeeOther)
}

// productSlugs lists the slugs of the products q selects (drafts
// included), for invalidating their cards; at most a few thousand.
func (a *catalogueAdmin) productSlugs(ctx context.Context, q products.AdminQuery) []string {
	var slugs []string
	q.PerPage = products.MaxPerPage
	for q.Page = 1; q.Page <= 50; q.Page++ {
		page, err := a.d.Products.AdminProducts(ctx, q)
		if err != nil {
			a.d.Site.Logger.WarnContext(ctx, "product cards not listed for invalidation", "error", err)
			return slugs
		}
		for _, p := range page.Products {
			slugs = append(slugs, p.Slug)
		}
		if q.Page >= page.Pages() {
			break
		}
	}
	return slugs
}
