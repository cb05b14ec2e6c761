package internal

import (
	"encoding/json"
	"net/http"
	"strings"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// pickerLimit bounds the products and the markets one answer lists.
const pickerLimit = 10

// widgetPicker answers the editor's widget button, which inserts a
// product's card ([[widget:product-card:<slug>]]), a market
// ([[widget:market:<slug>]]), a calendar, an event or a newsletter's
// sign-up ([[widget:newsletter:<slug>]]) picked by name. It reads the market's
// catalogue directly (the products store; reads only).
type widgetPicker struct {
	site     *web.Site
	products *products.Store
	// calendars are the events service's calendars and events (reads
	// only); nil lists none.
	calendars *calendars.Store
	// newsletters are the account's newsletter lists (reads only; the
	// public ones are offered); nil lists none.
	newsletters *newsletters.Store
}

// pickedProduct and pickedMarket are what the editor lists.
type pickedProduct struct {
	Slug   string `json:"slug"`
	Name   string `json:"name"`
	Market string `json:"market"`
}

type pickedMarket struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// search handles GET /admin/widgets/products?q= (behind RequireAdmin): up
// to pickerLimit published products whose name (or text) matches q, best
// first, and the markets whose name or address contains it; without q, the
// newest products and every market (up to pickerLimit). JSON:
// {"products": [{slug, name, market}], "markets": [{slug, name}],
// "calendars": [{slug, name}], "events": [{slug, name, date}],
// "newsletters": [{slug, name}]} (public newsletter lists only).
func (p widgetPicker) search(w http.ResponseWriter, r *http.Request) {
	if p.products == nil {
		p.site.Error(w, r, models.Errorf(models.EUnavailable, "The market's catalogue is not available to the blog."))
		return
	}
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var page products.Page
	var err error
	if q == "" {
		page, err = p.products.Products(ctx, products.Query{PerPage: pickerLimit, MinPrice: -1, MaxPrice: -1})
	} else {
		page, err = p.products.Search(ctx, q, 1, pickerLimit)
	}
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	markets, err := p.products.Markets(ctx)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	cals, evs, err := p.eventsFound(ctx, q)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	lists, err := p.newslettersFound(ctx, q)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	out := struct {
		Products    []pickedProduct `json:"products"`
		Markets     []pickedMarket  `json:"markets"`
		Calendars   []pickedMarket  `json:"calendars"`
		Events      []pickedEvent   `json:"events"`
		Newsletters []pickedMarket  `json:"newsletters"`
	}{Products: []pickedProduct{}, Markets: []pickedMarket{}, Calendars: cals, Events: evs, Newsletters: lists}
	for _, pr := range page.Products {
		out.Products = append(out.Products, pickedProduct{Slug: pr.Slug, Name: pr.Name, Market: pr.MarketName})
	}
	lower := strings.ToLower(q)
	for _, m := range markets {
		if len(out.Markets) == pickerLimit {
			break
		}
		if strings.Contains(strings.ToLower(m.Name), lower) || strings.Contains(m.Slug, lower) {
			out.Markets = append(out.Markets, pickedMarket{Slug: m.Slug, Name: m.Name})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}
