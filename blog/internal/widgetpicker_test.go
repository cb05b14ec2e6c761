package internal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// The editor's widget picker lists, for an administrator only, the
// published products whose names match what was typed (with their market)
// and the matching markets; never drafts.
func TestWidgetPickerFindsProductsAndMarketsForAdmins(t *testing.T) {
	ctx := context.Background()
	store := products.New(pgtest.MustPool(t))
	for _, m := range []products.MarketInput{{Name: "Hillside Bees"}, {Name: "Stone Bakery"}} {
		if _, err := store.CreateMarket(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range []products.ProductInput{
		{Market: "hillside-bees", Name: "Heather honey", Publish: true},
		{Market: "hillside-bees", Name: "Honeycomb frame", Publish: false},
		{Market: "stone-bakery", Name: "Sourdough loaf", Publish: true},
	} {
		in.Currency = "GBP"
		in.Variants = []products.VariantInput{{Price: 500, TrackStock: false}}
		if _, err := store.CreateProduct(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	site := mediaTestSite(t)
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler { // the session, as the sign-in middleware sets it
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			switch req.Header.Get("X-Test-User") {
			case "admin":
				req = req.WithContext(web.WithViewer(req.Context(), models.User{Username: "admin", IsAdmin: true}))
			case "member":
				req = req.WithContext(web.WithViewer(req.Context(), models.User{Username: "ann"}))
			}
			next.ServeHTTP(w, req)
		})
	})
	r.With(site.RequireAdmin).Get("/admin/widgets/products", widgetPicker{site: site, products: store}.search)

	get := func(user, q string) (*httptest.ResponseRecorder, pickerAnswer) {
		req := httptest.NewRequest(http.MethodGet, "/admin/widgets/products?q="+q, nil)
		req.Header.Set("Accept", "application/json")
		if user != "" {
			req.Header.Set("X-Test-User", user)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		var a pickerAnswer
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatalf("%s: %v", rec.Body.String(), err)
			}
		}
		return rec, a
	}

	if rec, _ := get("", "hon"); rec.Code == http.StatusOK {
		t.Errorf("a visitor got the catalogue: %d", rec.Code)
	}
	if rec, _ := get("member", "hon"); rec.Code != http.StatusForbidden {
		t.Errorf("a member who is no administrator: %d, want 403", rec.Code)
	}

	rec, a := get("admin", "hon")
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("an administrator: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if len(a.Products) != 1 || a.Products[0] != (pickedProduct{Slug: "heather-honey", Name: "Heather honey", Market: "Hillside Bees"}) {
		t.Errorf("products for \"hon\": %+v, want the published heather honey alone", a.Products)
	}
	if len(a.Markets) != 0 {
		t.Errorf("markets for \"hon\": %+v", a.Markets)
	}

	_, a = get("admin", "bake")
	if len(a.Markets) != 1 || a.Markets[0] != (pickedMarket{Slug: "stone-bakery", Name: "Stone Bakery"}) {
		t.Errorf("markets for \"bake\": %+v", a.Markets)
	}

	_, a = get("admin", "")
	if len(a.Products) != 2 || len(a.Markets) != 2 {
		t.Errorf("with nothing typed: %+v, want the two published products and both markets", a)
	}
	_, a = get("admin", "zzz")
	if a.Products == nil || a.Markets == nil || len(a.Products)+len(a.Markets) != 0 {
		t.Errorf("nothing matches: %+v, want two empty lists", a)
	}
}

type pickerAnswer struct {
	Products []pickedProduct `json:"products"`
	Markets  []pickedMarket  `json:"markets"`
}

// The picker also lists the events service's calendars and published
// events by name (drafts never), and without a name every calendar and the
// next events, each event once.
func TestWidgetPickerFindsCalendarsAndEvents(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	cals := calendars.New(db)
	c, err := cals.CreateCalendar(ctx, models.Calendar{Slug: "workshops", Title: "Workshops"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	for _, e := range []models.EventEntry{
		{Slug: "bread-making", Title: "Bread making", Status: models.EventScheduled, RRule: "FREQ=WEEKLY;COUNT=3"},
		{Slug: "secret-bread", Title: "Secret bread", Status: models.EventDraft},
	} {
		e.CalendarID, e.TimeZone, e.StartsAt, e.EndsAt = c.ID, "Europe/London", start, start.Add(time.Hour)
		if _, err := cals.CreateEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	site := mediaTestSite(t)
	p := widgetPicker{site: site, products: products.New(db), calendars: cals}
	get := func(q string) pickerEvents {
		rec := httptest.NewRecorder()
		p.search(rec, httptest.NewRequest(http.MethodGet, "/admin/widgets/products?q="+q, nil))
		var a pickerEvents
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("%d %s: %v", rec.Code, rec.Body.String(), err)
		}
		return a
	}
	if a := get("bread"); len(a.Events) != 1 || a.Events[0].Slug != "bread-making" || a.Events[0].Date == "" || len(a.Calendars) != 0 {
		t.Errorf("\"bread\": %+v, want the published event alone", a)
	}
	if a := get("work"); len(a.Calendars) != 1 || a.Calendars[0] != (pickedMarket{Slug: "workshops", Name: "Workshops"}) {
		t.Errorf("\"work\": %+v", a)
	}
	if a := get(""); len(a.Calendars) != 1 || len(a.Events) != 1 {
		t.Errorf("with nothing typed: %+v, want the calendar and the weekly event once", a)
	}
}

type pickerEvents struct {
	Calendars []pickedMarket `json:"calendars"`
	Events    []pickedEvent  `json:"events"`
}

// The picker lists the public newsletter lists whose name or slug matches
// what was typed (every public one when nothing is), never a private list,
// whose widget would render nothing.
func TestWidgetPickerFindsPublicNewsletters(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	lists := newsletters.New(db, nil, newsletters.Links{})
	for _, in := range []newsletters.ListInput{
		{Slug: "garden-notes", Name: "Garden notes", Public: true},
		{Slug: "bakery-news", Name: "Bakery news", Public: true},
		{Slug: "garden-volunteers", Name: "Garden volunteers", Public: false},
	} {
		if _, err := lists.CreateList(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	p := widgetPicker{site: mediaTestSite(t), products: products.New(db), newsletters: lists}
	get := func(q string) pickerNewsletters {
		rec := httptest.NewRecorder()
		p.search(rec, httptest.NewRequest(http.MethodGet, "/admin/widgets/products?q="+q, nil))
		var a pickerNewsletters
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("%d %s: %v", rec.Code, rec.Body.String(), err)
		}
		return a
	}
	if a := get("garden"); len(a.Newsletters) != 1 || a.Newsletters[0] != (pickedMarket{Slug: "garden-notes", Name: "Garden notes"}) {
		t.Errorf("\"garden\": %+v, want the public garden notes alone", a.Newsletters)
	}
	if a := get("Bakery"); len(a.Newsletters) != 1 || a.Newsletters[0].Slug != "bakery-news" {
		t.Errorf("\"Bakery\": %+v, want bakery news", a.Newsletters)
	}
	if a := get("volunteers"); a.Newsletters == nil || len(a.Newsletters) != 0 {
		t.Errorf("the private list's name: %+v, want an empty list", a.Newsletters)
	}
	a := get("")
	var slugs []string
	for _, n := range a.Newsletters {
		slugs = append(slugs, n.Slug)
	}
	if !slices.Equal(slugs, []string{"garden-notes", "bakery-news"}) {
		t.Errorf("with nothing typed: %v, want the two public lists", slugs)
	}
}

type pickerNewsletters struct {
	Newsletters []pickedMarket `json:"newsletters"`
}
