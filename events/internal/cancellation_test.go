package internal

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/web"
)

// An admin cancels an event that Ann (a member, two free places), Pat
// (one place paid through the cart) and a remote fediverse attendee
// booked, with Wendy on its waitlist: every booking is cancelled (no
// valid ticket, no seat taken), and each booker with an email is told, in
// plain text and HTML: the event, its date, the reason and "your
// booking is cancelled"; Pat that the payment is refunded; Wendy that
// the waitlist is closed. The emailed link shows the booking cancelled.
// Cancelling again sends nothing more.
func TestAdminCancelsAnEventAndItsBookings(t *testing.T) {
	d := newBookingDesk(t, 4)
	ctx := context.Background()
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
	site := &web.Site{Service: "events", Config: cfg, Logger: slog.New(slog.DiscardHandler), Assets: assets, Metrics: web.NewMetrics()}
	deps := Deps{Site: site, Events: calendars.New(d.db), Bookings: bookings.New(d.db), Mail: d.mail, Secret: []byte(strings.Repeat("s", 32))}
	admin := models.User{ID: uuid.New(), Email: "root@example.org", DisplayName: "Root", IsAdmin: true}
	users := map[uuid.UUID]models.User{admin.ID: admin}
	for id, u := range d.users {
		users[id] = u
	}
	r := site.Router()
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if id, err := uuid.Parse(r.Header.Get(bookingTestUserHeader)); err == nil {
					r = r.WithContext(web.WithViewer(r.Context(), users[id]))
				}
				next.ServeHTTP(w, r)
			})
		})
		mountBookings(r, deps)
		pg := &pages{site: site, events: deps.Events, now: time.Now}
		r.Group(func(r chi.Router) {
			r.Use(site.RequireAdmin)
			mountAdmin(r, newEventsAdmin(deps, pg))
		})
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	d.srv = srv

	// Ann books two free places on the event's page.
	res, _ := d.do("POST", "/events/bread-making/book", d.member.ID, d.bookingForm(d.free, "2"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("Ann's booking: %d", res.StatusCode)
	}
	// Pat pays for one Supporter place through the cart.
	var order uuid.UUID
	if err := d.db.QueryRow(ctx, `INSERT INTO orders (email, fulfilment, currency, subtotal_minor, total_minor, hold_until)
		VALUES ('pat@example.org', 'pickup', 'GBP', 1500, 1500, $1) RETURNING id`, time.Now().Add(15*time.Minute)).Scan(&order); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, d.db, func(tx pgx.Tx) error {
		if _, err := deps.Bookings.Hold(ctx, tx, bookings.Request{OccurrenceID: d.occurrence, TicketTypeID: d.paid, Quantity: 1,
			Name: "Pat Payer", Email: "pat@example.org"}, order, time.Now().Add(15*time.Minute), time.Now()); err != nil {
			return err
		}
		if err := deps.Bookings.ConfirmHeld(ctx, tx, order, time.Now()); err != nil {
			return err
		}
		// A fediverse attendee's Join books the last place.
		return deps.Bookings.BookRemote(ctx, tx, d.occurrence, "https://social.example/users/rae", "https://social.example/activities/join-1")
	}); err != nil {
		t.Fatal(err)
	}
	// Full: Wendy waits.
	if res, body := d.do("POST", "/events/bread-making/waitlist", uuid.Nil, d.bookingForm(d.free, "1", "name", "Wendy Wait", "email", "wendy@example.org")); res.StatusCode != http.StatusOK {
		t.Fatalf("Wendy on the waitlist: %d\n%s", res.StatusCode, body)
	}

	// The admin cancels it, with a reason.
	res, _ = d.do("POST", "/admin/events/"+d.eventID.String()+"/cancel", admin.ID, url.Values{"reason": {"The oven broke."}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "is+cancelled") {
		t.Fatalf("cancelling: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if n := d.count(`SELECT count(*) FROM bookings WHERE status <> 'cancelled'`); n != 0 {
		t.Errorf("%d bookings still stand after the event was cancelled", n)
	}
	if n := d.count(`SELECT count(*) FROM tickets WHERE status = 'valid'`); n != 0 {
		t.Errorf("%d tickets are still valid", n)
	}
	if n := d.count(`SELECT taken FROM event_occurrences WHERE event_id = '` + d.eventID.String() + `'`); n != 0 {
		t.Errorf("%d seats still taken", n)
	}
	if n := d.count(`SELECT count(*) FROM waitlist_entries WHERE status IN ('waiting', 'offered')`); n != 0 {
		t.Errorf("%d still on the waitlist", n)
	}

	var startsAt time.Time
	if err := d.db.QueryRow(ctx, `SELECT starts_at FROM event_occurrences WHERE id = $1`, d.occurrence).Scan(&startsAt); err != nil {
		t.Fatal(err)
	}
	date := bookingWhen(startsAt, "Europe/London")
	ann := d.mail.to("ann@example.org", "Cancelled: Bread-making workshop")
	if len(ann) != 1 {
		t.Fatalf("%d cancellation emails to Ann, want 1", len(ann))
	}
	for _, part := range []string{ann[0].Text, html.UnescapeString(ann[0].HTML)} {
		for _, want := range []string{"Bread-making workshop on " + date, "your booking is cancelled", "2 places (Standard)",
			"The organiser's reason: The oven broke."} {
			if !strings.Contains(part, want) {
				t.Errorf("Ann's email lacks %q:\n%s", want, part)
			}
		}
	}
	if strings.Contains(ann[0].Text, "refunded") {
		t.Errorf("Ann's free places are said to be refunded:\n%s", ann[0].Text)
	}
	if res, body := d.do("GET", linkIn(t, ann[0]), uuid.Nil, nil); res.StatusCode != http.StatusOK || !strings.Contains(body, "This booking is cancelled.") ||
		strings.Contains(body, "QR code for ticket") {
		t.Errorf("the emailed link: %d, cancelled %v", res.StatusCode, strings.Contains(body, "This booking is cancelled."))
	}
	pat := d.mail.to("pat@example.org", "Cancelled: Bread-making workshop")
	if len(pat) != 1 || !strings.Contains(pat[0].Text, "your booking is cancelled") ||
		!strings.Contains(pat[0].Text, "the payment for them will be refunded to the card you paid with") {
		t.Errorf("Pat's emails: %+v", pat)
	}
	wendy := d.mail.to("wendy@example.org", "Cancelled: Bread-making workshop")
	if len(wendy) != 1 || !strings.Contains(wendy[0].Text, "its waitlist is closed") || !strings.Contains(wendy[0].Text, "The oven broke.") {
		t.Errorf("Wendy's emails: %+v", wendy)
	}

	// Cancelling again tells nobody again.
	before := len(d.mail.sent)
	d.do("POST", "/admin/events/"+d.eventID.String()+"/cancel", admin.ID, url.Values{"reason": {"The oven broke."}})
	if after := len(d.mail.sent); after != before {
		t.Errorf("cancelling again sent %d more emails", after-before)
	}
}
