package internal

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/web"
)

// viewerHeader names the user a test request is signed in as.
const viewerHeader = "X-Test-Viewer"

// signedInServer serves the events pages and admin with the user a
// request names in viewerHeader signed in (the stand-in for the sign-in
// middleware).
func signedInServer(e *pagesEnv, users map[string]models.User) *httptest.Server {
	pg := &pages{site: e.site, events: e.store, now: time.Now}
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, ok := users[r.Header.Get(viewerHeader)]; ok {
				r = r.WithContext(web.WithViewer(r.Context(), u))
			}
			next.ServeHTTP(w, r)
		})
	})
	r.Get("/events/{slug}", pg.event)
	r.Group(func(r chi.Router) {
		r.Use(e.site.RequireAdmin)
		mountAdmin(r, &eventsAdmin{site: e.site, events: e.store, pages: pg})
	})
	srv := httptest.NewServer(r)
	e.t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, srv *httptest.Server, method, path, who string, form url.Values) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set(viewerHeader, who)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// An admin adds a weekly event with two ticket types through the form; a
// mistake shows the form again with what was typed and a sentence; a
// stale save is refused; the event is published and cancelled; members
// cannot reach the admin.
func TestAdminWritesEvents(t *testing.T) {
	e := startPages(t)
	users := map[string]models.User{
		"admin":  {ID: uuid.New(), Email: "admin@example.org", IsAdmin: true},
		"member": {ID: uuid.New(), Email: "member@example.org"},
	}
	srv := signedInServer(e, users)
	if status, _, _ := send(t, srv, "GET", "/admin/events", "member", nil); status != http.StatusForbidden {
		t.Errorf("a member at the admin: %d", status)
	}
	form := url.Values{"calendar": {e.cal.String()}, "title": {"Thursday club"}, "status": {"draft"},
		"starts": {"2027-03-04T19:00"}, "ends": {"2027-03-04T21:00"}, "time_zone": {"Europe/London"},
		"rrule": {"FREQ=WEEKLY;COUNT=6"}, "exdates": {"2027-03-18T19:00"}, "location": {"The hall"},
		"capacity": {"20"}, "cutoff_hours": {"24"},
		"tt_id": {"", "", ""}, "tt_name": {"Free place", "Supporter", ""}, "tt_price": {"", "5.50", ""},
		"tt_capacity": {"", "4", ""}, "tt_start": {"", "", ""}, "tt_end": {"", "", ""}, "tt_description": {"", "", ""}}

	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad["ends"] = []string{"2027-03-04T18:00"}
	status, _, body := send(t, srv, "POST", "/admin/events", "admin", bad)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "cannot end before it starts") ||
		!strings.Contains(body, `value="Thursday club"`) {
		t.Fatalf("end before start: %d\n%s", status, body)
	}
	bad["ends"], bad["tt_price"] = form["ends"], []string{"", "-2", ""}
	if status, _, body := send(t, srv, "POST", "/admin/events", "admin", bad); status != 422 || !strings.Contains(body, "cannot be negative") {
		t.Fatalf("negative price: %d", status)
	}

	status, loc, _ := send(t, srv, "POST", "/admin/events", "admin", form)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/events/") {
		t.Fatalf("create: %d %s", status, loc)
	}
	ev, err := e.store.Event(context.Background(), "thursday-club")
	if err != nil || ev.Status != models.EventDraft || len(ev.TicketTypes) != 2 || ev.TicketTypes[1].PriceMinor != 550 ||
		*ev.TicketTypes[1].Capacity != 4 || len(ev.ExDates) != 1 || ev.StartsAt.UTC().Hour() != 19 {
		t.Fatalf("saved %+v, %v", ev, err)
	}
	_, _, body = send(t, srv, "GET", "/admin/events/"+ev.ID.String(), "admin", nil)
	if !strings.Contains(body, `value="2027-03-04T19:00"`) || !strings.Contains(body, `value="5.50"`) {
		t.Errorf("the edit form does not show the saved times and prices")
	}
	_, _, body = send(t, srv, "GET", "/admin/events", "admin", nil)
	if !strings.Contains(body, `href="/admin/check-in/thursday-club"`) || !strings.Contains(body, `href="/admin/bookings/thursday-club"`) {
		t.Errorf("the events admin does not lead to the event's check-in and bookings")
	}

	// Two admins edit; the second save is stale.
	edit := url.Values{}
	for k, v := range form {
		edit[k] = v
	}
	edit["version"] = []string{"1"}
	edit["title"] = []string{"Thursday evening club"}
	edit["slug"] = []string{"thursday-club"}
	edit["tt_id"] = []string{ev.TicketTypes[0].ID.String(), ev.TicketTypes[1].ID.String(), ""}
	if status, _, _ := send(t, srv, "POST", "/admin/events/"+ev.ID.String(), "admin", edit); status != http.StatusSeeOther {
		t.Fatalf("edit: %d", status)
	}
	if status, _, body := send(t, srv, "POST", "/admin/events/"+ev.ID.String(), "admin", edit); status != http.StatusConflict ||
		!strings.Contains(body, "Someone else saved this event") {
		t.Fatalf("stale edit: %d", status)
	}

	if status, _, _ := send(t, srv, "POST", "/admin/events/"+ev.ID.String()+"/publish", "admin", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("publish: %d", status)
	}
	// Signed in, the booking form asks no name or email.
	_, _, page := send(t, srv, "GET", "/events/thursday-club", "member", nil)
	if !strings.Contains(page, `action="/events/thursday-club/book"`) || strings.Contains(page, `name="email"`) {
		t.Errorf("a member's booking form asks for an email or is missing")
	}
	if status, _, _ := send(t, srv, "POST", "/admin/events/"+ev.ID.String()+"/cancel", "admin", url.Values{"reason": {"Snow."}}); status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", status)
	}
	got, _ := e.store.Event(context.Background(), "thursday-club")
	if got.Status != models.EventCancelled || got.CancelReason != "Snow." || got.Title != "Thursday evening club" {
		t.Errorf("after cancelling: %+v", got)
	}

	// Calendars.
	status, loc, _ = send(t, srv, "POST", "/admin/calendars", "admin", url.Values{"title": {"Talks & walks"}})
	if status != http.StatusSeeOther {
		t.Fatalf("new calendar: %d", status)
	}
	if _, err := e.store.CalendarBySlug(context.Background(), "talks-walks"); err != nil {
		t.Errorf("the calendar's slug is not made from its title: %v (%s)", err, loc)
	}
	if status, _, body := send(t, srv, "POST", "/admin/calendars", "admin", url.Values{"title": {"Workshops"}}); status != http.StatusConflict ||
		!strings.Contains(body, "Another calendar already has") {
		t.Errorf("a second calendar with one slug: %d", status)
	}
}

// A fediverse server asking for an event's page gets its object (the
// events actor's EventServer); a browser gets the page.
func TestEventPageServesTheObjectToFediverseServers(t *testing.T) {
	e := startPages(t)
	ev := e.addEvent("bread-making", "Bread making", 3, nil)
	var served uuid.UUID
	pg := &pages{site: e.site, events: e.store, now: time.Now, objects: func(w http.ResponseWriter, _ *http.Request, id uuid.UUID) {
		served = id
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = io.WriteString(w, `{"type":"Event"}`)
	}}
	r := chi.NewRouter()
	r.Get("/events/{slug}", pg.event)
	srv := httptest.NewServer(r)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/events/bread-making", nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if served != ev.ID || resp.Header.Get("Content-Type") != "application/activity+json" {
		t.Errorf("served %v (%s), want the event's object", served, resp.Header.Get("Content-Type"))
	}
	served = uuid.Nil
	if status, _, body := send(t, srv, "GET", "/events/bread-making", "", nil); status != 200 || served != uuid.Nil || !strings.Contains(body, "<h1>Bread making</h1>") {
		t.Errorf("a browser: %d, object served %v", status, served)
	}
}
