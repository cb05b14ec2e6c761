package internal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// pagesEnv is the events service's handler on a test server with a fresh
// database, signed out.
type pagesEnv struct {
	t     *testing.T
	URL   string
	store *calendars.Store
	cal   uuid.UUID
	db    *pgxpool.Pool
	site  *web.Site
	cache *pagecache.Cache
}

func startPages(t *testing.T) *pagesEnv { t.Helper(); return startPagesCached(t, 0) }

// startPagesCached is startPages with the page cache on for ttl (0: off).
func startPagesCached(t *testing.T, ttl time.Duration) *pagesEnv {
	t.Helper()
	db := pgtest.MustPool(t)
	rdb := servicetest.MustRedis(t)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	env := map[string]string{
		"CONFIG_FILE":  filepath.Join("..", "..", config.DefaultFile),
		"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("s", 32),
		"EVENTS_PUBLIC_URL": base, "EVENTS_INTERNAL_URL": base,
		"REDIS_KEY_PREFIX": fmt.Sprintf("eventspages%d", time.Now().UnixNano()),
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testLog{t}, nil))
	own, _ := fs.Sub(Static, "static")
	shared, _ := fs.Sub(layout.Static, "static")
	assets, err := web.NewAssets("/static/", own, shared)
	if err != nil {
		t.Fatal(err)
	}
	site := &web.Site{Service: "events", Config: cfg, Logger: logger, Assets: assets, Metrics: web.NewMetrics()}
	sm := sessions.New(rdb, cache.Namespace(cfg.RedisPrefix), "events", false, time.Hour, logger, site.Error)
	store := calendars.New(db)
	d := Deps{Site: site, Auth: oauth.NewClient(site, sm, identity.New(db), http.DefaultClient), Events: store,
		Bookings: bookings.New(db), Sessions: sm, Secret: []byte(strings.Repeat("s", 32))}
	if ttl > 0 {
		d.Pages = pagecache.New(rdb, cache.Namespace(cfg.RedisPrefix), "events", "test", ttl, prometheus.NewRegistry())
	}
	srv.Config.Handler = NewServer(d)
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := store.CreateCalendar(context.Background(), models.Calendar{Slug: "workshops", Title: "Workshops",
		Description: "Hands-on sessions."})
	if err != nil {
		t.Fatal(err)
	}
	return &pagesEnv{t: t, URL: base, store: store, cal: c.ID, db: db, site: site, cache: d.Pages}
}

func (e *pagesEnv) get(path string) (int, http.Header, string) {
	e.t.Helper()
	resp, err := http.Get(e.URL + path)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (e *pagesEnv) doc(path string) *goquery.Document {
	e.t.Helper()
	status, _, body := e.get(path)
	if status != 200 {
		e.t.Fatalf("GET %s: %d\n%s", path, status, body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

func ptrTo[T any](v T) *T { return &v }

// addEvent saves an event of the workshops calendar in London, starting
// in days days at 19:00 local time.
func (e *pagesEnv) addEvent(slug, title string, days int, edit func(*models.EventEntry)) models.EventEntry {
	e.t.Helper()
	london, _ := time.LoadLocation("Europe/London")
	d := time.Now().In(london).AddDate(0, 0, days)
	start := time.Date(d.Year(), d.Month(), d.Day(), 19, 0, 0, 0, london)
	ev := models.EventEntry{CalendarID: e.cal, Slug: slug, Title: title, Summary: "About " + title,
		DescriptionHTML: "<p>Bring <em>an apron</em>.</p>", Location: "The bakehouse",
		Address: "3 Mill Lane, Ashby, AB1 4EF", TimeZone: "Europe/London", OrganiserName: "The bakers",
		StartsAt: start, EndsAt: start.Add(2 * time.Hour), Status: models.EventScheduled,
		TicketTypes: []models.TicketType{{Name: "Free place"}, {Name: "Supporter", PriceMinor: 1250}}}
	if edit != nil {
		edit(&ev)
	}
	saved, err := e.store.CreateEvent(context.Background(), ev)
	if err != nil {
		e.t.Fatal(err)
	}
	return saved
}

// The home lists each upcoming date linking to its event's page; the
// event's page shows its time in its zone, place with a map link,
// description, tickets with booking forms for a signed-out visitor, Event
// JSON-LD, OpenGraph and calendar links.
func TestEventPage(t *testing.T) {
	e := startPages(t)
	e.addEvent("bread-making", "Bread making", 3, func(ev *models.EventEntry) { ev.Capacity = ptrTo(12) })
	e.addEvent("weekly-club", "Weekly club", 1, func(ev *models.EventEntry) {
		ev.RRule = "FREQ=WEEKLY;COUNT=4"
		ev.TicketTypes = []models.TicketType{{Name: "Place"}}
	})

	home := e.doc("/")
	var hrefs []string
	home.Find(".upcoming-list a[href^='/events/']").Each(func(_ int, s *goquery.Selection) {
		hrefs = append(hrefs, s.AttrOr("href", ""))
	})
	if len(hrefs) != 5 || !strings.HasPrefix(hrefs[0], "/events/weekly-club?occurrence=") || hrefs[1] != "/events/bread-making" {
		t.Fatalf("home links %v, want the club's 4 dates and the workshop", hrefs)
	}
	if home.Find(`a[href^="/month/"]`).Length() == 0 || home.Find(`a[href="/past"]`).Length() == 0 ||
		home.Find(`a[href="/?calendar=workshops"]`).Length() == 0 {
		t.Error("the home lacks the month, past or calendar filter links")
	}

	doc := e.doc("/events/bread-making")
	main := doc.Find("main").Text()
	for _, want := range []string{"Bread making", "19:00–21:00", "Europe/London", "The bakehouse", "3 Mill Lane",
		"an apron", "The bakers", "12 places left of 12", "£12.50", "Free place"} {
		if !strings.Contains(main, want) {
			t.Errorf("the event page lacks %q", want)
		}
	}
	if href := doc.Find(`a[href^="https://www.openstreetmap.org/search?query="]`).AttrOr("href", ""); !strings.Contains(href, "Mill+Lane") {
		t.Errorf("map link %q", href)
	}
	forms := doc.Find(`form[action="/events/bread-making/book"]`)
	if forms.Length() != 1 {
		t.Fatalf("%d booking forms, want one for the free ticket type", forms.Length())
	}
	free := forms.First()
	if free.Find(`input[name=occurrence]`).AttrOr("value", "") == "" || free.Find(`input[name=ticket_type]`).AttrOr("value", "") == "" ||
		free.Find(`input[name=quantity][type=number][min="1"][max="12"]`).Length() != 1 ||
		free.Find(`input[name=name]`).Length() != 1 || free.Find(`input[name=email][type=email]`).Length() != 1 ||
		strings.TrimSpace(free.Find("button").Text()) != "Book" {
		h, _ := free.Html()
		t.Errorf("free booking form:\n%s", h)
	}
	// A paid type's form puts its places in the cart's basket (checkout
	// and SumUp), coming back here.
	paid := doc.Find(`form[action$="/items"]`)
	if paid.Length() != 1 || !strings.HasPrefix(paid.AttrOr("action", ""), "http") ||
		paid.Find(`input[name=ticket_type]`).AttrOr("value", "") == "" || paid.Find(`input[name=name]`).Length() != 0 ||
		!strings.HasSuffix(paid.Find(`input[name=next]`).AttrOr("value", ""), "/events/bread-making") {
		h, _ := paid.Html()
		t.Errorf("%d paid forms to the cart:\n%s", paid.Length(), h)
	}
	if got := strings.TrimSpace(paid.Find("button").Text()); got != "Book for £12.50" {
		t.Errorf("paid button %q", got)
	}
	var ld map[string]any
	if err := json.Unmarshal([]byte(doc.Find(`script[type="application/ld+json"]`).Text()), &ld); err != nil {
		t.Fatal(err)
	}
	place, _ := ld["location"].(map[string]any)
	offers, _ := ld["offers"].([]any)
	if ld["@type"] != "Event" || ld["name"] != "Bread making" || !strings.HasSuffix(ld["startDate"].(string), "Z") && !strings.Contains(ld["startDate"].(string), "+") ||
		ld["eventStatus"] != "https://schema.org/EventScheduled" || place["@type"] != "Place" || place["address"] == nil ||
		len(offers) != 2 || offers[0].(map[string]any)["price"] != "0.00" || offers[1].(map[string]any)["priceCurrency"] != "GBP" {
		t.Errorf("JSON-LD %v", ld)
	}
	if og := doc.Find(`meta[property="og:title"]`).AttrOr("content", ""); og != "Bread making" {
		t.Errorf("og:title %q", og)
	}
	if doc.Find(`a[href="/events/bread-making.ics"]`).Length() == 0 || doc.Find(`a[href^="https://calendar.google.com/calendar/render?action=TEMPLATE"]`).Length() == 0 {
		t.Error("no Add to calendar links")
	}

	// Another date of the series.
	club := e.doc(hrefs[2])
	if club.Find(".other-dates li").Length() != 3 || club.Find(`form[action="/events/weekly-club/book"] input[name=occurrence]`).AttrOr("value", "") != strings.TrimPrefix(hrefs[2], "/events/weekly-club?occurrence=") {
		t.Error("the club's third date is not the one shown and booked")
	}
	for _, path := range []string{"/events/nope", "/events/weekly-club?occurrence=" + uuid.NewString(), "/events/weekly-club?occurrence=x"} {
		if status, _, _ := e.get(path); status != 404 {
			t.Errorf("%s: %d, want 404", path, status)
		}
	}
}

// A sold-out date offers the waitlist; a cancelled event says so and has
// no forms.
func TestSoldOutAndCancelled(t *testing.T) {
	e := startPages(t)
	ev := e.addEvent("tiny", "Tiny workshop", 2, func(ev *models.EventEntry) { ev.Capacity = ptrTo(0) })
	doc := e.doc("/events/tiny")
	if doc.Find(`form[action="/events/tiny/book"]`).Length() != 0 || !strings.Contains(doc.Find("main").Text(), "Sold out") {
		t.Error("a full event still offers booking")
	}
	wl := doc.Find(`form[action="/events/tiny/waitlist"]`)
	if wl.Length() != 2 || strings.TrimSpace(wl.First().Find("button").Text()) != "Join the waitlist" ||
		wl.First().Find("input[name=email]").Length() != 1 || wl.First().Find("input[name=quantity]").Length() != 1 {
		t.Errorf("%d waitlist forms", wl.Length())
	}
	if err := e.store.CancelEvent(context.Background(), ev.ID, "The oven broke."); err != nil {
		t.Fatal(err)
	}
	doc = e.doc("/events/tiny")
	if doc.Find("form[method=post]").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.HasPrefix(s.AttrOr("action", ""), "/events/")
	}).Length() != 0 || !strings.Contains(doc.Find("main").Text(), "This event has been cancelled. The oven broke.") {
		t.Error("a cancelled event still has forms or does not say it is cancelled")
	}
	if !strings.Contains(doc.Find(`script[type="application/ld+json"]`).Text(), "EventCancelled") {
		t.Error("JSON-LD of a cancelled event is not EventCancelled")
	}
}

// The event's and the calendar's iCalendar feeds parse back with the
// library: one VEVENT per date, stable UIDs, UTC times, cancelled dates
// marked.
func TestICalendarFeeds(t *testing.T) {
	e := startPages(t)
	club := e.addEvent("weekly-club", "Weekly club", 1, func(ev *models.EventEntry) { ev.RRule = "FREQ=WEEKLY;COUNT=3" })
	e.addEvent("one-off", "One-off talk", 5, nil)
	status, header, body := e.get("/events/weekly-club.ics")
	if status != 200 || !strings.HasPrefix(header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("event feed: %d %s", status, header.Get("Content-Type"))
	}
	cal, err := ics.ParseCalendar(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	events := cal.Events()
	if len(events) != 3 {
		t.Fatalf("%d VEVENTs, want 3", len(events))
	}
	first := events[0]
	start, err := first.GetStartAt()
	if err != nil || !start.Equal(club.StartsAt) {
		t.Errorf("DTSTART %v, want %v (%v)", start, club.StartsAt, err)
	}
	if p := first.GetProperty(ics.ComponentPropertyDtStart); p == nil || !strings.HasSuffix(p.Value, "Z") {
		t.Errorf("DTSTART not in UTC: %+v", p)
	}
	for prop, want := range map[ics.ComponentProperty]string{
		ics.ComponentPropertySummary: "Weekly club", ics.ComponentPropertyDescription: "Bring an apron.",
		ics.ComponentPropertyLocation: "The bakehouse, 3 Mill Lane, Ashby, AB1 4EF", ics.ComponentPropertyStatus: "CONFIRMED",
	} {
		if p := first.GetProperty(prop); p == nil || p.Value != want {
			t.Errorf("%s = %+v, want %q", prop, p, want)
		}
	}
	if u := first.GetProperty(ics.ComponentPropertyUrl); u == nil || !strings.Contains(u.Value, "/events/weekly-club?occurrence=") {
		t.Errorf("URL %+v", u)
	}
	uid := first.Id()

	if err := e.store.CancelEvent(context.Background(), club.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, _, body = e.get("/calendars/workshops.ics")
	cal, err = ics.ParseCalendar(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(cal.Events()) != 4 || cal.Events()[0].Id() != uid {
		t.Fatalf("calendar feed has %d events, first %q; want 4, first %q", len(cal.Events()), cal.Events()[0].Id(), uid)
	}
	if s := cal.Events()[0].GetProperty(ics.ComponentPropertyStatus); s == nil || s.Value != "CANCELLED" {
		t.Errorf("cancelled date's STATUS %+v", s)
	}
	if status, _, _ := e.get("/calendars/nope.ics"); status != 404 {
		t.Errorf("unknown calendar feed: %d", status)
	}
	// Linked from the calendar page.
	if e.doc("/calendars/workshops").Find(`a[href="/calendars/workshops.ics"]`).Length() == 0 {
		t.Error("the calendar page does not link its feed")
	}
}

// The month grid shows each date on its day; the past lists ended dates.
func TestMonthAndPast(t *testing.T) {
	e := startPages(t)
	ev := e.addEvent("soon", "Soon", 2, nil)
	london, _ := time.LoadLocation("Europe/London")
	local := ev.StartsAt.In(london)
	doc := e.doc("/month/" + local.Format("2006-01"))
	cell := doc.Find("td:not(.other)").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.TrimSpace(s.Find("div").First().Text()) == local.Format("2")
	})
	if !strings.Contains(cell.Text(), "19:00 Soon") {
		t.Errorf("the day's cell reads %q", cell.Text())
	}
	for _, bad := range []string{"/month/2026-13", "/month/26-01", "/month/1900-01"} {
		if status, _, _ := e.get(bad); status != 404 {
			t.Errorf("%s: %d", bad, status)
		}
	}
	e.addEvent("was", "Was", -3, nil)
	past := e.doc("/past")
	if got := past.Find(".upcoming-list h3").Text(); got != "Was" {
		t.Errorf("past lists %q", got)
	}
}

// testLog writes the service's log lines to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// After the demo is seeded, the events home links event pages with Event
// JSON-LD, free ones among them with a booking form, paid ones with a
// price on the button, and the weekly event's dates.
func TestDemoEventsAsVisitorsSeeThem(t *testing.T) {
	e := startPages(t)
	if err := demo.Seed(context.Background(), e.db, nil); err != nil {
		t.Fatal(err)
	}
	home := e.doc("/")
	seen := map[string]bool{}
	withLD, free, paid := 0, 0, 0
	home.Find(`a[href^="/events/"]`).Each(func(_ int, s *goquery.Selection) {
		href := s.AttrOr("href", "")
		if seen[href] {
			return
		}
		seen[href] = true
		doc := e.doc(href)
		var ld map[string]any
		if json.Unmarshal([]byte(doc.Find(`script[type="application/ld+json"]`).Text()), &ld) == nil && ld["@type"] == "Event" {
			withLD++
		}
		doc.Find(`form[action$="/book"] button, form[action$="/items"] button`).Each(func(_ int, b *goquery.Selection) {
			if strings.TrimSpace(b.Text()) == "Book" {
				free++
			} else if strings.HasPrefix(b.Text(), "Book for £") {
				paid++
			}
		})
	})
	if withLD < 8 || free < 4 || paid < 2 {
		t.Errorf("%d event pages with JSON-LD, %d free and %d paid booking forms from the home", withLD, free, paid)
	}
	if n := home.Find(`a[href^="/events/saturday-market-breakfast?occurrence="]`).Length(); n < 2 {
		t.Errorf("the weekly breakfast shows %d dates on the home", n)
	}
}

// The home filters by calendar; an impossible calendar lists nothing.
func TestHomeFiltersByCalendar(t *testing.T) {
	e := startPages(t)
	e.addEvent("bread-making", "Bread making", 3, nil)
	other, err := e.store.CreateCalendar(context.Background(), models.Calendar{Slug: "meetings", Title: "Meetings"})
	if err != nil {
		t.Fatal(err)
	}
	e.addEvent("agm", "Annual meeting", 4, func(ev *models.EventEntry) { ev.CalendarID = other.ID })
	titles := func(path string) string { return e.doc(path).Find(".upcoming-list h3").Text() }
	if got := titles("/"); got != "Bread makingAnnual meeting" {
		t.Errorf("all calendars: %q", got)
	}
	if got := titles("/?calendar=meetings"); got != "Annual meeting" {
		t.Errorf("meetings: %q", got)
	}
	if got := titles("/?calendar=%00bad"); got != "" {
		t.Errorf("an impossible calendar: %q", got)
	}
	if got := titles("/past?calendar=Bad"); got != "" {
		t.Errorf("an impossible calendar's past: %q", got)
	}
	if got := e.doc("/calendars/meetings").Find(".upcoming-list h3").Text(); got != "Annual meeting" {
		t.Errorf("the meetings calendar page: %q", got)
	}
}

// Anonymous views of the calendar pages come from the page cache; an
// admin's change purges it, so the next view shows the change.
func TestCalendarPagesAreCachedAndPurged(t *testing.T) {
	e := startPagesCached(t, time.Minute)
	e.addEvent("bread-making", "Bread making", 3, nil)
	for _, path := range []string{"/", "/calendars/workshops", "/events/bread-making"} {
		e.get(path)
		if _, h, _ := e.get(path); h.Get("X-Cache") != "HIT" {
			t.Errorf("second view of %s: X-Cache %q, want HIT", path, h.Get("X-Cache"))
		}
	}
	e.addEvent("rye", "Rye bread", 4, nil)
	(&eventsAdmin{site: e.site, events: e.store, cache: e.cache}).changed(context.Background())
	if _, h, body := e.get("/"); h.Get("X-Cache") == "HIT" || !strings.Contains(body, "Rye bread") {
		t.Errorf("after a change the home is %q and lacks the new event: %v", h.Get("X-Cache"), !strings.Contains(body, "Rye bread"))
	}
}
