package internal

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// testSite is an account site for handler tests.
func testSite(t *testing.T) *web.Site {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"CONFIG_FILE": filepath.Join("..", "..", config.DefaultFile),
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("k", 32)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := web.NewAssets("/static/", fstest.MapFS{"site.css": {Data: []byte("body{}")}})
	if err != nil {
		t.Fatal(err)
	}
	return &web.Site{Service: "account", Config: cfg, Logger: slog.New(slog.DiscardHandler), Assets: assets, Metrics: web.NewMetrics()}
}

// memberFixture is a member with one order and one event booking.
type memberFixture struct {
	user        models.User
	orderNumber int64
	booking     uuid.UUID
	codes       []string
}

// mustMember inserts a member named name with an order of lineTitle and a
// confirmed booking of places tickets for an occurrence starting at
// starts, of an event titled eventTitle.
func mustMember(t *testing.T, db *pgxpool.Pool, name, lineTitle, eventTitle string, places int, starts time.Time) memberFixture {
	t.Helper()
	ctx := context.Background()
	f := memberFixture{user: models.User{Email: strings.ToLower(name) + "@example.org", DisplayName: name}}
	if err := db.QueryRow(ctx, `INSERT INTO users (email, display_name) VALUES ($1, $2) RETURNING id, created_at`, f.user.Email, name).Scan(&f.user.ID, &f.user.CreatedAt); err != nil {
		t.Fatal(err)
	}
	var orderID uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO orders (user_id, email, status, fulfilment, currency, subtotal_minor, total_minor, hold_until, paid_at)
		VALUES ($1, $2, 'paid', 'pickup', 'GBP', 625, 625, now(), now()) RETURNING id, number`, f.user.ID, f.user.Email).Scan(&orderID, &f.orderNumber); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO order_lines (order_id, market_name, title, unit_price_minor, quantity) VALUES ($1, 'Bakery', $2, 625, 1)`, orderID, lineTitle); err != nil {
		t.Fatal(err)
	}
	var cal, event, occurrence, ticketType uuid.UUID
	slug := strings.ToLower(name)
	if err := db.QueryRow(ctx, `INSERT INTO calendars (slug, title) VALUES ($1, 'Workshops') RETURNING id`, slug+"-cal").Scan(&cal); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `
		INSERT INTO events (calendar_id, slug, title, location, starts_at, ends_at, status, published_at, time_zone, capacity)
		VALUES ($1, $2, $3, 'Village Hall', $4, $5, 'scheduled', now(), 'Europe/London', 10) RETURNING id`,
		cal, slug+"-event", eventTitle, starts, starts.Add(2*time.Hour)).Scan(&event); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity, taken) VALUES ($1, $2, $3, 10, $4) RETURNING id`,
		event, starts, starts.Add(2*time.Hour), places).Scan(&occurrence); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO ticket_types (event_id, name, price_minor) VALUES ($1, 'Standard', 0) RETURNING id`, event).Scan(&ticketType); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO bookings (occurrence_id, ticket_type_id, quantity, user_id, email, name, status)
		VALUES ($1, $2, $3, $4, $5, $6, 'confirmed') RETURNING id`, occurrence, ticketType, places, f.user.ID, f.user.Email, name).Scan(&f.booking); err != nil {
		t.Fatal(err)
	}
	for seat := 1; seat <= places; seat++ {
		var secret []byte
		if err := db.QueryRow(ctx, `INSERT INTO tickets (booking_id, secret, seat) VALUES ($1, decode(md5(random()::text), 'hex'), $2) RETURNING secret`, f.booking, seat).Scan(&secret); err != nil {
			t.Fatal(err)
		}
		f.codes = append(f.codes, models.TicketCode(secret))
	}
	return f
}

// renderNav renders the account-nav fragment for viewer.
func renderNav(t *testing.T, site *web.Site, store *bookings.Store, viewer models.User) string {
	t.Helper()
	c, err := fragmentRenderers(site, store, nil)[fragments.AccountNav](context.Background(), &viewer)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestAccountNavBadgeCountsUpcomingTickets: the header's account menu shows
// how many upcoming tickets the member holds, labelled for screen readers
// and linking to the dashboard's Tickets section; past tickets and
// cancelled ones do not count, and at 0 there is no badge.
func TestAccountNavBadgeCountsUpcomingTickets(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	site := testSite(t)
	store := bookings.New(db)
	ann := mustMember(t, db, "Ann", "Sourdough loaf", "Bread-making workshop", 3, time.Now().Add(72*time.Hour).Truncate(time.Minute))
	// Bob's one ticket is for a date already past.
	bob := mustMember(t, db, "Bob", "Rye loaf", "Old talk", 1, time.Now().Add(-7*24*time.Hour).Truncate(time.Minute))

	nav := renderNav(t, site, store, ann.user)
	for _, want := range []string{`aria-label="3 upcoming tickets"`, `href="` + site.URL("account", "/#tickets") + `"`, `>3</a>`} {
		if !strings.Contains(nav, want) {
			t.Errorf("Ann's account-nav lacks %q: %s", want, nav)
		}
	}
	if nav := renderNav(t, site, store, bob.user); strings.Contains(nav, "upcoming ticket") || strings.Contains(nav, "#tickets") {
		t.Errorf("Bob (only a past ticket) has a badge: %s", nav)
	}

	// One of Ann's tickets cancelled: 2 left.
	if _, err := db.Exec(ctx, `UPDATE tickets SET status = 'cancelled' WHERE booking_id = $1 AND seat = 3`, ann.booking); err != nil {
		t.Fatal(err)
	}
	if nav := renderNav(t, site, store, ann.user); !strings.Contains(nav, `aria-label="2 upcoming tickets"`) {
		t.Errorf("after a ticket is cancelled, Ann's account-nav: %s", nav)
	}
	// Her booking cancelled: no badge.
	if _, err := db.Exec(ctx, `UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, ann.booking); err != nil {
		t.Fatal(err)
	}
	if nav := renderNav(t, site, store, ann.user); strings.Contains(nav, "upcoming ticket") || !strings.Contains(nav, "Ann") {
		t.Errorf("after her booking is cancelled, Ann's account-nav: %s", nav)
	}

	// The dashboard's Tickets section is the badge's target.
	if body := getDashboard(t, site, db, ann.user); !strings.Contains(body, `id="tickets"`) || !strings.Contains(body, `href="/export.json"`) {
		t.Error(`the dashboard has no id="tickets" section or no "Download my data" link`)
	}
}

// TestExportHoldsTheMembersDataOnly: "Download my data" gives the member
// a JSON attachment with their profile, their order with its line and
// their booking with its ticket codes, and nothing of another member; a
// visitor is refused.
func TestExportHoldsTheMembersDataOnly(t *testing.T) {
	db := pgtest.MustPool(t)
	site := testSite(t)
	soon := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	ann := mustMember(t, db, "Ann", "Sourdough loaf", "Bread-making workshop", 2, soon)
	bob := mustMember(t, db, "Bob", "Rye loaf", "Pottery evening", 1, soon)
	// Ann has chosen a username: her hub actor posted; so did Bob's.
	ann.user.Username, bob.user.Username = "ann", "bob"
	fed := site.URL("federation", "")
	for _, u := range []models.User{ann.user, bob.user} {
		if _, err := db.Exec(context.Background(), `UPDATE users SET username = $2 WHERE id = $1`, u.ID, u.Username); err != nil {
			t.Fatal(err)
		}
		actor := fed + "/users/" + u.Username
		if _, err := db.Exec(context.Background(), `INSERT INTO ap_objects (uri, type, actor, user_id, content) VALUES ($1, 'Note', $2, $3, $4)`,
			actor+"/statuses/1", actor, u.ID, "<p>"+u.DisplayName+"'s hub post</p>"); err != nil {
			t.Fatal(err)
		}
	}
	srv := exportServer(t, site, db, ann.user, bob.user)

	res, body := getAs(t, srv.URL+"/export.json", ann.user.ID)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("export: %d %s", res.StatusCode, body)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="rose-ash-data.json"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	var x dataExport
	if err := json.Unmarshal([]byte(body), &x); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if x.GeneratedAt.IsZero() || !strings.Contains(x.About, "hub") {
		t.Errorf("generated_at %v, about %q", x.GeneratedAt, x.About)
	}
	if x.Profile.Email != "ann@example.org" || x.Profile.DisplayName != "Ann" || x.Profile.Created.IsZero() {
		t.Errorf("profile %+v", x.Profile)
	}
	if len(x.Orders) != 1 || x.Orders[0].Number != ann.orderNumber || len(x.Orders[0].Lines) != 1 || x.Orders[0].Lines[0].Title != "Sourdough loaf" {
		t.Errorf("orders %+v", x.Orders)
	}
	if len(x.Bookings) != 1 || x.Bookings[0].Event != "Bread-making workshop" || len(x.Bookings[0].Tickets) != 2 {
		t.Fatalf("bookings %+v", x.Bookings)
	}
	for i, tk := range x.Bookings[0].Tickets {
		if tk.Code != ann.codes[i] {
			t.Errorf("ticket %d code %q, want %q", i+1, tk.Code, ann.codes[i])
		}
	}
	if x.Hub == nil || x.Hub.Handle == "" || len(x.Hub.Posts) != 1 || !strings.Contains(x.Hub.Posts[0].Content, "Ann's hub post") {
		t.Errorf("hub %+v, want Ann's handle and her one post", x.Hub)
	}
	for _, other := range append([]string{"bob@example.org", "Rye loaf", "Pottery evening", bob.booking.String(), "Bob's hub post", "/users/bob"}, bob.codes...) {
		if strings.Contains(body, other) {
			t.Errorf("Ann's export holds Bob's %q", other)
		}
	}

	if res, _ := getAs(t, srv.URL+"/export.json", uuid.Nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a visitor's export: %d, want 401", res.StatusCode)
	}
}

// exportServer serves the dashboard and the export for the given users
// (a request names its user in testUserHeader).
func exportServer(t *testing.T, site *web.Site, db *pgxpool.Pool, users ...models.User) *httptest.Server {
	t.Helper()
	byID := map[uuid.UUID]models.User{}
	for _, u := range users {
		byID[u.ID] = u
	}
	c, o, b := carts.New(db), orders.New(db, products.New(db)), bookings.New(db)
	r := site.Router()
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil {
					r = r.WithContext(web.WithViewer(r.Context(), byID[id]))
				}
				next.ServeHTTP(w, r)
			})
		})
		r.Get("/", showHome(site, c, o, b, db))
		r.Get("/export.json", exportData(site, c, o, b, db))
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// getDashboard returns u's dashboard page.
func getDashboard(t *testing.T, site *web.Site, db *pgxpool.Pool, u models.User) string {
	t.Helper()
	srv := exportServer(t, site, db, u)
	res, body := getAs(t, srv.URL+"/", u.ID)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: %d", res.StatusCode)
	}
	return body
}

// getAs GETs url signed in as user (none for uuid.Nil).
func getAs(t *testing.T, url string, user uuid.UUID) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != uuid.Nil {
		req.Header.Set(testUserHeader, user.String())
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}
