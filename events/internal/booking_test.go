package internal

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"html"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/web"
)

// bookingMailbox is a mail.Sender that keeps what it is asked to send.
type bookingMailbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (m *bookingMailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

// to returns the messages to address whose subject starts with prefix.
func (m *bookingMailbox) to(address, prefix string) []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mail.Message
	for _, msg := range m.sent {
		if msg.To == address && strings.HasPrefix(msg.Subject, prefix) {
			out = append(out, msg)
		}
	}
	return out
}

const bookingTestUserHeader = "X-Test-User"

// bookingDesk is the events service's booking routes over HTTP, with a
// published event ("bread-making", a free ticket type, capacity seats)
// three days from now, an organiser, a member and the mail kept.
type bookingDesk struct {
	t          *testing.T
	db         *pgxpool.Pool
	srv        *httptest.Server
	mail       *bookingMailbox
	users      map[uuid.UUID]models.User
	organiser  models.User
	member     models.User
	eventID    uuid.UUID
	occurrence uuid.UUID
	free       uuid.UUID
	paid       uuid.UUID
	redis      *redis.Client
	keys       cache.Namespace
}

func newBookingDesk(t *testing.T, capacity int) *bookingDesk {
	t.Helper()
	ctx := context.Background()
	d := &bookingDesk{t: t, db: pgtest.MustPool(t), mail: &bookingMailbox{}, users: map[uuid.UUID]models.User{}}
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
	for _, u := range []*models.User{{Email: "olive@example.org", DisplayName: "Olive"}, {Email: "ann@example.org", DisplayName: "Ann"}} {
		if err := d.db.QueryRow(ctx, `INSERT INTO users (email, display_name) VALUES ($1, $2) RETURNING id`, u.Email, u.DisplayName).Scan(&u.ID); err != nil {
			t.Fatal(err)
		}
		d.users[u.ID] = *u
		if u.DisplayName == "Olive" {
			d.organiser = *u
		} else {
			d.member = *u
		}
	}
	var cal uuid.UUID
	if err := d.db.QueryRow(ctx, `INSERT INTO calendars (slug, title) VALUES ('workshops', 'Workshops') RETURNING id`).Scan(&cal); err != nil {
		t.Fatal(err)
	}
	starts := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	if err := d.db.QueryRow(ctx, `
		INSERT INTO events (calendar_id, slug, title, location, address, starts_at, ends_at, status, published_at, time_zone,
		                    capacity, cancel_cutoff_minutes, organiser_id)
		VALUES ($1, 'bread-making', 'Bread-making workshop', 'Village Hall', '1 Mill Lane', $2, $3, 'scheduled', now(),
		        'Europe/London', $4, 60, $5) RETURNING id`,
		cal, starts, starts.Add(2*time.Hour), capacity, d.organiser.ID).Scan(&d.eventID); err != nil {
		t.Fatal(err)
	}
	if err := d.db.QueryRow(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity) VALUES ($1, $2, $3, $4) RETURNING id`,
		d.eventID, starts, starts.Add(2*time.Hour), capacity).Scan(&d.occurrence); err != nil {
		t.Fatal(err)
	}
	for name, price := range map[string]int64{"Standard": 0, "Supporter": 1500} {
		var id uuid.UUID
		if err := d.db.QueryRow(ctx, `INSERT INTO ticket_types (event_id, name, price_minor) VALUES ($1, $2, $3) RETURNING id`,
			d.eventID, name, price).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if price == 0 {
			d.free = id
		} else {
			d.paid = id
		}
	}

	d.redis, d.keys = servicetest.MustRedis(t), cache.Namespace("test-"+uuid.NewString())
	site.Fragments = fragments.NewClient(cfg, d.redis, d.keys, prometheus.NewRegistry(), site.Logger)
	deps := Deps{Site: site, Events: calendars.New(d.db), Bookings: bookings.New(d.db), Mail: d.mail, Secret: []byte(strings.Repeat("s", 32)),
		Pages: pagecache.New(d.redis, d.keys, "events", "v1", time.Minute, prometheus.NewRegistry())}
	// The site's router: its security headers (the content security
	// policy, Permissions-Policy) and cross-origin protection, as served.
	r := site.Router()
	r.Group(func(r chi.Router) {
		// The stand-in for the sign-in middleware: the user a test names.
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if id, err := uuid.Parse(r.Header.Get(bookingTestUserHeader)); err == nil {
					r = r.WithContext(web.WithViewer(r.Context(), d.users[id]))
				}
				next.ServeHTTP(w, r)
			})
		})
		mountBookings(r, deps)
	})
	d.srv = httptest.NewServer(r)
	t.Cleanup(d.srv.Close)
	return d
}

// do sends a request as user (uuid.Nil: a visitor), without following
// redirects; form, when not nil, is posted.
func (d *bookingDesk) do(method, path string, user uuid.UUID, form url.Values) (*http.Response, string) {
	d.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, d.srv.URL+path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != uuid.Nil {
		req.Header.Set(bookingTestUserHeader, user.String())
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (d *bookingDesk) bookingForm(ticketType uuid.UUID, quantity string, extra ...string) url.Values {
	f := url.Values{"occurrence": {d.occurrence.String()}, "ticket_type": {ticketType.String()}, "quantity": {quantity}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func (d *bookingDesk) count(sql string) int {
	d.t.Helper()
	var n int
	if err := d.db.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		d.t.Fatal(err)
	}
	return n
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// linkIn returns the path and query of the first link in a message's
// plain text.
func linkIn(t *testing.T, m mail.Message) string {
	t.Helper()
	raw := linkRE.FindString(m.Text)
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		t.Fatalf("no link in %q", m.Text)
	}
	if !strings.Contains(m.HTML, "<a href=") {
		t.Fatalf("no HTML part with the link: %q", m.HTML)
	}
	return u.RequestURI()
}

func TestMemberBooksAndSeesTicketsWithQRCodes(t *testing.T) {
	d := newBookingDesk(t, 10)
	// An anonymous view of the event page, cached (it shows seats left).
	stale := d.keys.Key("page", "events", "v1", "/events/bread-making")
	if err := d.redis.Set(context.Background(), stale, "10 places left", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	res, _ := d.do("POST", "/events/bread-making/book", d.member.ID, d.bookingForm(d.free, "2"))
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/tickets/") {
		t.Fatalf("book: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	page := res.Header.Get("Location")
	// It is purged soon after.
	deadline := time.Now().Add(3 * time.Second)
	for d.redis.Exists(context.Background(), stale).Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("the cached event page was not purged after a booking")
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, body := d.do("GET", page, d.member.ID, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("tickets page %d", res.StatusCode)
	}
	for _, want := range []string{`alt="QR code for ticket 1 of 2, Bread-making workshop"`, `alt="QR code for ticket 2 of 2, Bread-making workshop"`,
		`src="data:image/svg+xml;base64,`, "Village Hall", "1 Mill Lane", "Cancel this booking", "BST"} {
		if !strings.Contains(body, want) && !(want == "BST" && strings.Contains(body, "GMT")) {
			t.Errorf("tickets page lacks %q", want)
		}
	}
	// Listed among the member's tickets; nobody else's list has it.
	if res, body := d.do("GET", "/tickets", d.member.ID, nil); res.StatusCode != http.StatusOK || !strings.Contains(body, `href="`+page+`"`) ||
		!strings.Contains(body, "2 places, Standard") {
		t.Errorf("the member's tickets: %d", res.StatusCode)
	}
	if _, body := d.do("GET", "/tickets", d.organiser.ID, nil); strings.Contains(body, page) || !strings.Contains(body, "You have not booked any event yet.") {
		t.Errorf("another member's list shows it")
	}
	if res, _ := d.do("GET", "/tickets", uuid.Nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a visitor's list: %d", res.StatusCode)
	}
	// Nobody else sees it.
	for _, who := range []uuid.UUID{uuid.Nil, d.organiser.ID} {
		if res, _ := d.do("GET", page, who, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%v sees another's tickets: %d", who, res.StatusCode)
		}
	}
	if res, _ := d.do("GET", page+"?t=forged", uuid.Nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("a forged token: %d", res.StatusCode)
	}
	// The email's link shows it without signing in.
	sent := d.mail.to("ann@example.org", "Your tickets: Bread-making workshop")
	if len(sent) != 1 {
		t.Fatalf("%d ticket emails", len(sent))
	}
	if res, body := d.do("GET", linkIn(t, sent[0]), uuid.Nil, nil); res.StatusCode != http.StatusOK || !strings.Contains(body, "QR code for ticket 1 of 2") {
		t.Fatalf("the emailed link: %d", res.StatusCode)
	}
	// The email shows each ticket's QR code as a PNG image.
	imgs := regexp.MustCompile(`<img src="https?://[^/"]+(/tickets/[^"]+/qr/(\d)\.png\?t=[^"]+)" alt="(QR code for ticket \d of 2, Bread-making workshop)"`).
		FindAllStringSubmatch(sent[0].HTML, -1)
	if len(imgs) != 2 || imgs[1][2] != "2" {
		t.Fatalf("QR images in the email: %q", sent[0].HTML)
	}
	res, body = d.do("GET", html.UnescapeString(imgs[0][1]), uuid.Nil, nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR image: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if img, err := png.Decode(strings.NewReader(body)); err != nil || img.Bounds().Dx() < 200 || img.Bounds().Dx() != img.Bounds().Dy() {
		t.Fatalf("QR image: %v", err)
	}
	noToken, _, _ := strings.Cut(html.UnescapeString(imgs[0][1]), "?")
	if res, _ := d.do("GET", noToken, uuid.Nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("QR image without its token: %d", res.StatusCode)
	}
	if res, _ := d.do("GET", strings.Replace(html.UnescapeString(imgs[0][1]), "/qr/1.png", "/qr/3.png", 1), uuid.Nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("a third ticket's image: %d", res.StatusCode)
	}

	// More than is left: told so, with the booking form to ask for fewer.
	res, body = d.do("POST", "/events/bread-making/book", d.organiser.ID, d.bookingForm(d.free, "9"))
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Only 8 places left.") || !strings.Contains(body, `action="/events/bread-making/book"`) ||
		strings.Contains(body, "Join the waitlist") {
		t.Errorf("9 of 8 left: %d", res.StatusCode)
	}

	// Refusals: a paid ticket type, a bad quantity, an unknown date.
	res, body = d.do("POST", "/events/bread-making/book", d.member.ID, d.bookingForm(d.paid, "1"))
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Paid tickets are sold through the cart.") {
		t.Errorf("paid: %d", res.StatusCode)
	}
	res, body = d.do("POST", "/events/bread-making/book", d.member.ID, d.bookingForm(d.free, "21"))
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Book 1 to 20 places.") {
		t.Errorf("21 places: %d", res.StatusCode)
	}
	f := d.bookingForm(d.free, "1")
	f.Set("occurrence", uuid.NewString())
	if res, _ := d.do("POST", "/events/bread-making/book", d.member.ID, f); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown date: %d", res.StatusCode)
	}
	if n := d.count(`SELECT count(*) FROM tickets`); n != 2 {
		t.Fatalf("%d tickets, want 2", n)
	}

	// Cancelling: the tickets go, the seats come back.
	id := strings.TrimPrefix(page, "/tickets/")
	if res, _ := d.do("POST", "/tickets/"+id+"/cancel", d.organiser.ID, url.Values{}); res.StatusCode != http.StatusNotFound {
		t.Errorf("someone else cancels: %d", res.StatusCode)
	}
	if res, _ := d.do("POST", "/tickets/"+id+"/cancel", d.member.ID, url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	_, body = d.do("GET", page, d.member.ID, nil)
	if !strings.Contains(body, "This booking is cancelled.") || strings.Contains(body, "QR code for") || strings.Contains(body, "Cancel this booking") {
		t.Errorf("cancelled booking's page: %s", body)
	}
	if n := d.count(`SELECT taken FROM event_occurrences`); n != 0 {
		t.Errorf("taken %d after cancelling", n)
	}
}

func TestGuestConfirmsByEmail(t *testing.T) {
	d := newBookingDesk(t, 10)
	// Missing name: the form again with what was typed.
	res, body := d.do("POST", "/events/bread-making/book", uuid.Nil, d.bookingForm(d.free, "1", "email", "gus@example.org"))
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Enter your name.") || !strings.Contains(body, `value="gus@example.org"`) {
		t.Fatalf("no name: %d", res.StatusCode)
	}
	res, body = d.do("POST", "/events/bread-making/book", uuid.Nil, d.bookingForm(d.free, "2", "name", "Gus Guest", "email", "gus@example.org"))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Check your email") {
		t.Fatalf("guest booking: %d", res.StatusCode)
	}
	sent := d.mail.to("gus@example.org", "Confirm your booking: Bread-making workshop")
	if len(sent) != 1 {
		t.Fatalf("%d confirmation emails", len(sent))
	}
	link := linkIn(t, sent[0])
	// Opening the link (as a mail scanner would) books nothing.
	for range 2 {
		res, body = d.do("GET", link, uuid.Nil, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Confirm booking") || !strings.Contains(body, "Gus Guest") {
			t.Fatalf("confirmation page: %d", res.StatusCode)
		}
	}
	if n := d.count(`SELECT count(*) FROM bookings`); n != 0 {
		t.Fatalf("a GET booked: %d bookings", n)
	}
	token, _ := url.ParseQuery(strings.TrimPrefix(link, "/bookings/confirm?"))
	var first string
	for i := range 2 {
		res, _ = d.do("POST", "/bookings/confirm", uuid.Nil, url.Values{"t": {token.Get("t")}})
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "?t=") {
			t.Fatalf("confirm: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if i == 0 {
			first = res.Header.Get("Location")
		} else if res.Header.Get("Location") != first {
			t.Fatalf("confirming twice: %s then %s", first, res.Header.Get("Location"))
		}
	}
	if n := d.count(`SELECT count(*) FROM tickets`); n != 2 {
		t.Fatalf("%d tickets after confirming twice, want 2", n)
	}
	res, body = d.do("GET", first, uuid.Nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "QR code for ticket 2 of 2, Bread-making workshop") {
		t.Fatalf("guest's tickets: %d", res.StatusCode)
	}

	// A forged or expired link.
	if res, _ := d.do("GET", "/bookings/confirm?t="+token.Get("t")+"x", uuid.Nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("forged link: %d", res.StatusCode)
	}
	h := &bookingHandlers{Deps: Deps{Secret: []byte(strings.Repeat("s", 32))}, now: time.Now}
	old := h.guestToken(guestBooking{Event: "bread-making", Occurrence: d.occurrence, TicketType: d.free, Quantity: 1,
		Name: "Old", Email: "old@example.org", ID: uuid.New(), Expires: time.Now().Add(-time.Minute).Unix()})
	res, body = d.do("POST", "/bookings/confirm", uuid.Nil, url.Values{"t": {old}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "expired") {
		t.Errorf("expired link: %d", res.StatusCode)
	}
}

func TestSoldOutWaitlistAndClaim(t *testing.T) {
	d := newBookingDesk(t, 1)
	res, _ := d.do("POST", "/events/bread-making/book", d.member.ID, d.bookingForm(d.free, "1"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("book: %d", res.StatusCode)
	}
	page := res.Header.Get("Location")
	res, body := d.do("POST", "/events/bread-making/book", d.organiser.ID, d.bookingForm(d.free, "2"))
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Sold out") || !strings.Contains(body, "Join the waitlist") {
		t.Fatalf("sold out for a member: %d", res.StatusCode)
	}
	res, body = d.do("POST", "/events/bread-making/book", uuid.Nil, d.bookingForm(d.free, "1", "name", "Wendy Wait", "email", "wendy@example.org"))
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Sold out") || !strings.Contains(body, "Join the waitlist") {
		t.Fatalf("sold out: %d", res.StatusCode)
	}
	res, body = d.do("POST", "/events/bread-making/waitlist", uuid.Nil, d.bookingForm(d.free, "1", "name", "Wendy Wait", "email", "wendy@example.org"))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "You are on the waitlist") {
		t.Fatalf("waitlist: %d", res.StatusCode)
	}
	if res, _ := d.do("POST", "/tickets/"+strings.TrimPrefix(page, "/tickets/")+"/cancel", d.member.ID, url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	offers := d.mail.to("wendy@example.org", "A place is free: Bread-making workshop")
	if len(offers) != 1 {
		t.Fatalf("%d offer emails", len(offers))
	}
	link := linkIn(t, offers[0])
	res, body = d.do("GET", link, uuid.Nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Claim my places") {
		t.Fatalf("claim page: %d", res.StatusCode)
	}
	claimPath, q, _ := strings.Cut(link, "?")
	token, _ := url.ParseQuery(q)
	if !strings.Contains(body, "Leave the waitlist") {
		t.Fatalf("claim page without a way to leave")
	}
	if res, _ := d.do("POST", claimPath, uuid.Nil, url.Values{"t": {"forged"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("forged claim: %d", res.StatusCode)
	}
	res, _ = d.do("POST", claimPath, uuid.Nil, url.Values{"t": {token.Get("t")}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim: %d", res.StatusCode)
	}
	res, body = d.do("GET", res.Header.Get("Location"), uuid.Nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "QR code for ticket 1 of 1, Bread-making workshop") || !strings.Contains(body, "Wendy Wait") {
		t.Fatalf("claimed tickets: %d", res.StatusCode)
	}
}

func TestCheckinPage(t *testing.T) {
	d := newBookingDesk(t, 10)
	st := bookings.New(d.db)
	b, err := st.Book(context.Background(), bookings.Request{OccurrenceID: d.occurrence, TicketTypeID: d.free, Quantity: 2,
		Name: "Gus Guest", Email: "gus@example.org"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := d.do("GET", "/admin/check-in/bread-making", uuid.Nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a visitor: %d", res.StatusCode)
	}
	if res, _ := d.do("GET", "/admin/check-in/bread-making", d.member.ID, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member who is not the organiser: %d", res.StatusCode)
	}
	res, body := d.do("GET", "/admin/check-in/bread-making", d.organiser.ID, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `<span id="checked-in">0</span> checked in of <span id="booked">2</span> booked`) ||
		!strings.Contains(body, `src="/check-in.js"`) || !strings.Contains(res.Header.Get("Permissions-Policy"), "camera=(self)") {
		t.Fatalf("check-in page: %d %s", res.StatusCode, res.Header.Get("Permissions-Policy"))
	}
	code := b.Tickets[0].Code()
	res, body = d.do("POST", "/admin/check-in/bread-making/scan", d.organiser.ID, url.Values{"code": {code}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Checked in: Gus Guest, Standard, ticket 1 of 2.") ||
		!strings.Contains(body, `<span id="checked-in">1</span>`) {
		t.Fatalf("first scan: %d", res.StatusCode)
	}
	res, body = d.do("POST", "/admin/check-in/bread-making/scan", d.organiser.ID, url.Values{"code": {code}})
	if res.StatusCode != http.StatusOK || !regexp.MustCompile(`Already checked in at \d\d:\d\d by Olive`).MatchString(body) {
		t.Fatalf("second scan: %d", res.StatusCode)
	}
	res, body = d.do("POST", "/admin/check-in/bread-making/scan", d.organiser.ID, url.Values{"code": {"AAAA"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "not a ticket code") {
		t.Fatalf("a typo: %d", res.StatusCode)
	}

	// The scanner's JSON, a queued scan uploaded twice counted once.
	scanJSON := func(s scanRequest) scanAnswer {
		t.Helper()
		raw, _ := json.Marshal(s)
		req, _ := http.NewRequest("POST", d.srv.URL+"/admin/check-in/bread-making/scan", strings.NewReader(string(raw)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(bookingTestUserHeader, d.organiser.ID.String())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var a scanAnswer
		if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("json scan: %d %v", res.StatusCode, err)
		}
		return a
	}
	second := b.Tickets[1].Code()
	for range 2 {
		a := scanJSON(scanRequest{Code: second, ScanID: "phone-1-42"})
		if !a.OK || a.Message != "Checked in: Gus Guest, Standard, ticket 2 of 2." || a.CheckedIn != 2 || a.Booked != 2 {
			t.Fatalf("queued scan: %+v", a)
		}
	}
	if n := d.count(`SELECT count(*) FROM checkins`); n != 2 {
		t.Fatalf("%d check-ins recorded, want 2", n)
	}
	if a := scanJSON(scanRequest{Code: second}); a.OK || !a.Already {
		t.Fatalf("a third scan: %+v", a)
	}
	if a := scanJSON(scanRequest{Code: models.TicketCode(make([]byte, 16))}); a.OK || !strings.Contains(a.Message, "No ticket has this code") {
		t.Fatalf("unknown ticket: %+v", a)
	}
	res, body = d.do("GET", "/check-in.js", uuid.Nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "BarcodeDetector") || !strings.Contains(body, "localStorage") {
		t.Fatalf("scanner script: %d", res.StatusCode)
	}
}

// The organiser adds a check-in list for the supporters' door (one
// ticket type): the page shows it, a standard ticket is refused there and
// a supporter's enters; a list of a name taken, or for another event's
// ticket type, is refused with the typed values kept.
func TestOrganiserAddsACheckinList(t *testing.T) {
	d := newBookingDesk(t, 10)
	ctx := context.Background()
	st := bookings.New(d.db)
	standard, err := st.Book(ctx, bookings.Request{OccurrenceID: d.occurrence, TicketTypeID: d.free, Quantity: 1,
		Name: "Gus Guest", Email: "gus@example.org"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, body := d.do("GET", "/admin/check-in/bread-making", d.organiser.ID, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Add a check-in list") || !strings.Contains(body, `value="`+d.paid.String()+`"`) {
		t.Fatalf("the check-in page offers no list form with the event's ticket types: %d", res.StatusCode)
	}
	res, _ = d.do("POST", "/admin/check-in/bread-making/lists", d.organiser.ID,
		url.Values{"name": {"Supporters' door"}, "ticket_type": {d.paid.String()}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "?list=") {
		t.Fatalf("adding a list: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	listID := strings.SplitN(res.Header.Get("Location"), "?list=", 2)[1]
	res, body = d.do("GET", "/admin/check-in/bread-making?list="+listID, d.organiser.ID, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Supporters&#39; door") {
		t.Fatalf("the new list's page: %d", res.StatusCode)
	}
	res, body = d.do("POST", "/admin/check-in/bread-making/scan", d.organiser.ID,
		url.Values{"list": {listID}, "code": {standard.Tickets[0].Code()}})
	if strings.Contains(body, "Checked in:") {
		t.Fatalf("a standard ticket entered at the supporters' door: %d", res.StatusCode)
	}

	res, body = d.do("POST", "/admin/check-in/bread-making/lists", d.organiser.ID,
		url.Values{"name": {"Supporters' door"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "already") || !strings.Contains(body, `value="Supporters&#39; door"`) {
		t.Fatalf("a list of a name taken: %d", res.StatusCode)
	}
	res, body = d.do("POST", "/admin/check-in/bread-making/lists", d.organiser.ID,
		url.Values{"name": {"Elsewhere"}, "ticket_type": {uuid.NewString()}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Choose dates and ticket types of this event.") {
		t.Fatalf("a list for another event's ticket type: %d", res.StatusCode)
	}
	if n := d.count(`SELECT count(*) FROM checkin_lists WHERE name = 'Elsewhere'`); n != 0 {
		t.Fatalf("a refused list was written")
	}
}

func TestEventBookingsForTheOrganiser(t *testing.T) {
	d := newBookingDesk(t, 10)
	st := bookings.New(d.db)
	for _, g := range []struct{ name, email string }{{"Gus Guest", "gus@example.org"}, {"=HYPERLINK(1)", "eve@example.org"}} {
		if _, err := st.Book(context.Background(), bookings.Request{OccurrenceID: d.occurrence, TicketTypeID: d.free, Quantity: 2,
			Name: g.name, Email: g.email}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if res, _ := d.do("GET", "/admin/bookings/bread-making", d.member.ID, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member who is not the organiser: %d", res.StatusCode)
	}
	res, body := d.do("GET", "/admin/bookings/bread-making", d.organiser.ID, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "2 bookings listed, 4 places booked") || !strings.Contains(body, "gus@example.org") {
		t.Fatalf("bookings page: %d", res.StatusCode)
	}
	_, body = d.do("GET", "/admin/bookings/bread-making?q=GUS", d.organiser.ID, nil)
	if !strings.Contains(body, "1 bookings listed") || strings.Contains(body, "eve@example.org") {
		t.Fatalf("search: %s", body)
	}
	res, body = d.do("GET", "/admin/bookings/bread-making/csv", d.organiser.ID, nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d", res.StatusCode)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][2] != "name" || rows[1][2] != "Gus Guest" || rows[2][2] != "'=HYPERLINK(1)" || rows[1][6] != "2" {
		t.Fatalf("csv rows %q, %v", rows, err)
	}
}

func TestLeaveTheWaitlist(t *testing.T) {
	d := newBookingDesk(t, 1)
	if res, _ := d.do("POST", "/events/bread-making/book", d.member.ID, d.bookingForm(d.free, "1")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("book: %d", res.StatusCode)
	}
	if res, _ := d.do("POST", "/events/bread-making/waitlist", uuid.Nil, d.bookingForm(d.free, "1", "name", "Lou Leaving", "email", "lou@example.org")); res.StatusCode != http.StatusOK {
		t.Fatalf("waitlist: %d", res.StatusCode)
	}
	var id uuid.UUID
	if err := d.db.QueryRow(context.Background(), `SELECT id FROM waitlist_entries`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	h := &bookingHandlers{Deps: Deps{Secret: []byte(strings.Repeat("s", 32))}, now: time.Now}
	token := h.claimToken(id)
	if res, _ := d.do("POST", "/waitlist/"+id.String()+"/leave", uuid.Nil, url.Values{"t": {"forged"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("forged leave: %d", res.StatusCode)
	}
	res, _ := d.do("POST", "/waitlist/"+id.String()+"/leave", uuid.Nil, url.Values{"t": {token}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("leave: %d", res.StatusCode)
	}
	_, body := d.do("GET", res.Header.Get("Location"), uuid.Nil, nil)
	if !strings.Contains(body, "You have left the waitlist.") {
		t.Fatalf("after leaving: %s", body)
	}
	if res, body := d.do("POST", "/waitlist/"+id.String()+"/leave", uuid.Nil, url.Values{"t": {token}}); res.StatusCode != http.StatusConflict || !strings.Contains(body, "not on this waitlist") {
		t.Fatalf("leaving twice: %d", res.StatusCode)
	}
}
