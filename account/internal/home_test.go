package internal

import (
	"context"
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

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// testUserHeader names the user a test request is signed in as.
const testUserHeader = "X-Test-User"

// TestDashboardShowsOrdersAndTickets: a member with an order and a
// booking sees both on their dashboard (the order's number linking to the
// cart's order page, the event's title linking to its ticket page, a QR
// code per ticket); another member sees neither; a visitor is invited to
// sign in and sees neither.
func TestDashboardShowsOrdersAndTickets(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
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
	site := &web.Site{Service: "account", Config: cfg, Logger: slog.New(slog.DiscardHandler), Assets: assets, Metrics: web.NewMetrics()}

	users := map[uuid.UUID]models.User{}
	var member, other models.User
	for _, u := range []*models.User{{Email: "ann@example.org", DisplayName: "Ann"}, {Email: "bob@example.org", DisplayName: "Bob"}} {
		if err := db.QueryRow(ctx, `INSERT INTO users (email, display_name) VALUES ($1, $2) RETURNING id`, u.Email, u.DisplayName).Scan(&u.ID); err != nil {
			t.Fatal(err)
		}
		users[u.ID] = *u
	}
	for _, u := range users {
		if u.DisplayName == "Ann" {
			member = u
		} else {
			other = u
		}
	}

	// Ann's order and her booking of two places with their tickets.
	var orderID uuid.UUID
	var number int64
	if err := db.QueryRow(ctx, `INSERT INTO orders (user_id, email, status, fulfilment, currency, subtotal_minor, total_minor, hold_until, paid_at)
		VALUES ($1, $2, 'paid', 'pickup', 'GBP', 1250, 1250, now(), now()) RETURNING id, number`, member.ID, member.Email).Scan(&orderID, &number); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO order_lines (order_id, market_name, title, unit_price_minor, quantity)
		VALUES ($1, 'Bakery', 'Sourdough loaf', 625, 2)`, orderID); err != nil {
		t.Fatal(err)
	}
	var cal, event, occurrence, ticketType, booking uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO calendars (slug, title) VALUES ('workshops', 'Workshops') RETURNING id`).Scan(&cal); err != nil {
		t.Fatal(err)
	}
	starts := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	if err := db.QueryRow(ctx, `
		INSERT INTO events (calendar_id, slug, title, location, starts_at, ends_at, status, published_at, time_zone, capacity)
		VALUES ($1, 'bread-making', 'Bread-making workshop', 'Village Hall', $2, $3, 'scheduled', now(), 'Europe/London', 10)
		RETURNING id`, cal, starts, starts.Add(2*time.Hour)).Scan(&event); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity, taken) VALUES ($1, $2, $3, 10, 2) RETURNING id`,
		event, starts, starts.Add(2*time.Hour)).Scan(&occurrence); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO ticket_types (event_id, name, price_minor) VALUES ($1, 'Standard', 0) RETURNING id`, event).Scan(&ticketType); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO bookings (occurrence_id, ticket_type_id, quantity, user_id, email, name, status)
		VALUES ($1, $2, 2, $3, $4, 'Ann', 'confirmed') RETURNING id`, occurrence, ticketType, member.ID, member.Email).Scan(&booking); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO tickets (booking_id, secret, seat) VALUES ($1, decode(md5(random()::text), 'hex'), 1), ($1, decode(md5(random()::text), 'hex'), 2)`, booking); err != nil {
		t.Fatal(err)
	}

	// And a ticket for a date already past, listed after the upcoming one.
	past := time.Now().Add(-7 * 24 * time.Hour).Truncate(time.Minute)
	var pastOccurrence, pastBooking uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity, taken) VALUES ($1, $2, $3, 10, 1) RETURNING id`,
		event, past, past.Add(2*time.Hour)).Scan(&pastOccurrence); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO bookings (occurrence_id, ticket_type_id, quantity, user_id, email, name, status)
		VALUES ($1, $2, 1, $3, $4, 'Ann', 'confirmed') RETURNING id`, pastOccurrence, ticketType, member.ID, member.Email).Scan(&pastBooking); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO tickets (booking_id, secret, seat) VALUES ($1, decode(md5(random()::text), 'hex'), 1)`, pastBooking); err != nil {
		t.Fatal(err)
	}

	deps := Deps{Site: site, Carts: carts.New(db), Orders: orders.New(db, products.New(db)), Bookings: bookings.New(db)}
	r := site.Router()
	r.Group(func(r chi.Router) {
		// The stand-in for the sign-in middleware: the user a test names.
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil {
					r = r.WithContext(web.WithViewer(r.Context(), users[id]))
				}
				next.ServeHTTP(w, r)
			})
		})
		r.Get("/", showHome(site, deps.Carts, deps.Orders, deps.Bookings, db))
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	get := func(user uuid.UUID) (*http.Response, string) {
		t.Helper()
		return getAs(t, srv.URL+"/", user)
	}

	res, body := get(member.ID)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("member's dashboard: %d", res.StatusCode)
	}
	for _, want := range []string{">Orders<", ">Tickets<", "Order " + itoa(number), "Paid", "£12.50", "2 × Sourdough loaf",
		site.URL("cart", "/orders/"+orderID.String()), "Bread-making workshop", site.URL("events", "/tickets/"+booking.String()),
		"2 places", starts.In(mustZone(t, "Europe/London")).Format("Mon 2 Jan 2006, 15:04"),
		`alt="QR code for ticket 1 of 2, Bread-making workshop"`, `alt="QR code for ticket 2 of 2, Bread-making workshop"`,
		`src="data:image/svg+xml;base64,`, ">Bookings<", "booked", "Cancel on its ticket page until"} {
		if !strings.Contains(body, want) {
			t.Errorf("member's dashboard lacks %q", want)
		}
	}

	london := mustZone(t, "Europe/London")
	tickets := body[strings.Index(body, ">Tickets<"):strings.Index(body, ">Bookings<")]
	soon, before := strings.Index(tickets, starts.In(london).Format("Mon 2 Jan 2006, 15:04")), strings.Index(tickets, past.In(london).Format("Mon 2 Jan 2006, 15:04"))
	if soon < 0 || before < 0 || soon > before {
		t.Errorf("tickets: the upcoming date at %d, the past one at %d; want the upcoming one first", soon, before)
	}
	if !strings.Contains(body, `alt="QR code for ticket 1 of 1, Bread-making workshop"`) || !strings.Contains(body, "past") {
		t.Error("the past booking's ticket or state is missing")
	}

	res, body = get(other.ID)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("other member's dashboard: %d", res.StatusCode)
	}
	if strings.Contains(body, "Order "+itoa(number)) || strings.Contains(body, "Bread-making workshop") || strings.Contains(body, "QR code") {
		t.Error("another member sees Ann's order or tickets")
	}
	if !strings.Contains(body, "No orders yet.") || !strings.Contains(body, "No tickets yet.") || !strings.Contains(body, "No bookings yet.") {
		t.Error("another member's empty sections are not said to be empty")
	}

	res, body = get(uuid.Nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "to see your account") {
		t.Fatalf("visitor: %d, want the invitation to sign in", res.StatusCode)
	}
	if strings.Contains(body, "Bread-making workshop") || strings.Contains(body, ">Orders<") {
		t.Error("a visitor sees a member's orders or tickets")
	}
}

func itoa(n int64) string { return models.Order{Number: n}.Name()[len("Order "):] }

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
