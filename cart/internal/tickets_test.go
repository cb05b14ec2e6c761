package internal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
)

// paidEvent is a published event with one date and a paid ticket type.
type paidEvent struct {
	occurrence, ticketType uuid.UUID
	startsAt               time.Time
}

// mustPaidEvent adds "Bread-making workshop" in two weeks at 10:00 London
// time, with capacity places and a "Workshop place" at £12.50.
func (s *shop) mustPaidEvent(t *testing.T, capacity int) paidEvent {
	t.Helper()
	ctx := context.Background()
	day := time.Now().UTC().AddDate(0, 0, 14)
	london, _ := time.LoadLocation("Europe/London")
	e := paidEvent{startsAt: time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, london).UTC()}
	var cal, event uuid.UUID
	if err := s.db.QueryRow(ctx, `INSERT INTO calendars (slug, title) VALUES ('workshops', 'Workshops') RETURNING id`).Scan(&cal); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(ctx, `
		INSERT INTO events (calendar_id, slug, title, location, starts_at, ends_at, status, published_at, time_zone, capacity)
		VALUES ($1, 'bread', 'Bread-making workshop', 'Village Hall', $2, $3, 'scheduled', now(), 'Europe/London', $4) RETURNING id`,
		cal, e.startsAt, e.startsAt.Add(3*time.Hour), capacity).Scan(&event); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity) VALUES ($1, $2, $3, $4) RETURNING id`,
		event, e.startsAt, e.startsAt.Add(3*time.Hour), capacity).Scan(&e.occurrence); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(ctx, `INSERT INTO ticket_types (event_id, name, price_minor) VALUES ($1, 'Workshop place', 1250) RETURNING id`,
		event).Scan(&e.ticketType); err != nil {
		t.Fatal(err)
	}
	return e
}

// form is the event page's "Book for £12.50" form for n places.
func (e paidEvent) form(n string) url.Values {
	return url.Values{"occurrence": {e.occurrence.String()}, "ticket_type": {e.ticketType.String()}, "quantity": {n},
		"next": {"http://events.localhost:8004/events/bread"}}
}

// title is the basket line's title of the event's places.
func (e paidEvent) title() string {
	london, _ := time.LoadLocation("Europe/London")
	return "Bread-making workshop — Workshop place, " + e.startsAt.In(london).Format("Mon 2 Jan 15:04")
}

func (s *shop) taken(t *testing.T, e paidEvent) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), `SELECT taken FROM event_occurrences WHERE id = $1`, e.occurrence).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// bookingOf returns the status of the order's booking and its tickets.
func (s *payShop) bookingOf(t *testing.T, order uuid.UUID) (status string, tickets int) {
	t.Helper()
	if err := s.db.QueryRow(context.Background(), `
		SELECT b.status, (SELECT count(*) FROM tickets k WHERE k.booking_id = b.id) FROM bookings b WHERE b.order_id = $1`,
		order).Scan(&status, &tickets); err != nil {
		t.Fatalf("the order's booking: %v", err)
	}
	return status, tickets
}

// ticketsOnlyForm is a checkout form for a basket of tickets alone.
func ticketsOnlyForm(key, email string) url.Values {
	return url.Values{"key": {key}, "email": {email}, "fulfilment": {"pickup"}, "terms": {"yes"}}
}

// A paid ticket goes into the basket at the ticket type's price (not the
// form's), is checked out without a delivery question, holds its places
// while the shopper pays on SumUp, and once paid is a confirmed booking
// with its tickets, linked from the order page and the email; the places
// are taken once.
func TestPaidTicketThroughTheCart(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 10)
	ann := s.payer(t, &s.shopper)

	form := e.form("2")
	form.Set("price", "1") // never read
	if r := ann.post("/items", form); r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("adding tickets = %d to %q, want 303 to the basket\n%s", r.status, r.location, r.body)
	}
	basket := ann.get("/")
	for _, want := range []string{e.title(), "£12.50", "£25.00", "/events/bread"} {
		if !strings.Contains(basket.body, want) {
			t.Fatalf("the basket does not show %q:\n%s", want, basket.body)
		}
	}
	page := ann.get("/checkout")
	if strings.Contains(page.body, "Delivery address") || !strings.Contains(page.body, "show them at the door") {
		t.Fatalf("the checkout of tickets alone asks about delivery:\n%s", page.body)
	}
	r := ann.post("/checkout/pay", ticketsOnlyForm(ann.checkoutForm(), s.shopper.Email))
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, s.sbSrv.URL+"/pay/") {
		t.Fatalf("POST /checkout/pay = %d to %q\n%s", r.status, r.location, r.body)
	}
	order := s.orderOf(t, r.location)
	if got := s.taken(t, e); got != 2 {
		t.Fatalf("while paying, %d places are taken, want 2 (held)", got)
	}
	if status, n := s.bookingOf(t, order); status != models.BookingHeld || n != 0 {
		t.Fatalf("while paying, the booking is %s with %d tickets, want held with none", status, n)
	}
	o := s.order(t, order)
	if o.Total != 2500 || o.Delivery != 0 || len(o.Lines) != 1 || !o.Lines[0].Ticket || o.Lines[0].Title != e.title() {
		t.Fatalf("order = total %d, delivery %d, lines %+v", o.Total, o.Delivery, o.Lines)
	}

	ret := ann.payOnSumUp(r.location, "PAID", order)
	shown := ann.follow(ann.get(ret.location))
	if !isPaidPage(shown.body) || !strings.Contains(shown.body, "See your tickets") {
		t.Fatalf("the order page after paying does not show it paid with its tickets:\n%s", shown.body)
	}
	s.waitWebhooks(t, 1)
	status, n := s.bookingOf(t, order)
	if status != models.BookingConfirmed || n != 2 {
		t.Fatalf("after paying, the booking is %s with %d tickets, want confirmed with 2", status, n)
	}
	if got := s.taken(t, e); got != 2 {
		t.Fatalf("after paying, %d places are taken, want 2", got)
	}
	var booking uuid.UUID
	if err := s.db.QueryRow(context.Background(), `SELECT id FROM bookings WHERE order_id = $1`, order).Scan(&booking); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown.body, "/tickets/"+booking.String()) {
		t.Fatalf("the order page does not link the ticket page /tickets/%s:\n%s", booking, shown.body)
	}
	s.payments.OrderReceived(context.Background(), s.order(t, order)) // the Placed hook, as cart/main.go sets it
	if got := s.mail.withSubject("We have received"); len(got) != 1 || !strings.Contains(got[0].Text, "show them at the door") ||
		strings.Contains(got[0].Text, "collect it") {
		t.Fatalf("order received emails %+v, want one saying the tickets are shown at the door", got)
	}
	mails := s.mail.withSubject("Payment confirmed")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "/tickets/"+booking.String()) {
		t.Fatalf("payment emails %+v, want one linking the tickets", mails)
	}
	// A guest's order links the page with the token the events service
	// signs its own links with: HMAC-SHA256 of "ticket-link:<id>".
	o = s.order(t, order)
	o.UserID = uuid.NullUUID{}
	links, err := s.payments.ticketLinks(context.Background(), o)
	m := hmac.New(sha256.New, s.payments.Secret)
	m.Write([]byte("ticket-link:" + booking.String()))
	token := base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
	if err != nil || len(links) != 1 || !strings.HasSuffix(links[0], "/tickets/"+booking.String()+"?t="+token) {
		t.Fatalf("a guest's ticket links = %v, %v; want /tickets/%s?t=%s", links, err, booking, token)
	}
	if b := ann.get("/"); strings.Contains(b.body, e.title()) {
		t.Fatalf("the basket still holds the tickets after paying:\n%s", b.body)
	}
}

// An order of tickets that is not paid in time gives its places back,
// and they are offered to the date's waitlist (of its free type: paid
// types have none) by email, with a claim link signed as the events
// service signs it.
func TestUnpaidTicketOrderGivesThePlacesBack(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 3)
	ann := s.payer(t, &s.shopper)
	ann.post("/items", e.form("3"))
	r := ann.post("/checkout/pay", ticketsOnlyForm(ann.checkoutForm(), s.shopper.Email))
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST /checkout/pay = %d\n%s", r.status, r.body)
	}
	order := s.orderOf(t, r.location)
	if got := s.taken(t, e); got != 3 {
		t.Fatalf("held: %d places taken, want 3", got)
	}
	// The date's free type shares its places: sold out, Cy waits for one.
	var free uuid.UUID
	if err := s.db.QueryRow(context.Background(), `INSERT INTO ticket_types (event_id, name)
		SELECT event_id, 'Helper' FROM ticket_types WHERE id = $1 RETURNING id`, e.ticketType).Scan(&free); err != nil {
		t.Fatal(err)
	}
	entry, err := bookings.New(s.db).JoinWaitlist(context.Background(), bookings.Request{OccurrenceID: e.occurrence,
		TicketTypeID: free, Quantity: 1, Name: "Cy", Email: "cy@example.org"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.orders.ExpireHolds(context.Background(), time.Now().Add(time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	if got := s.taken(t, e); got != 1 {
		t.Fatalf("after the order expired, %d places are taken, want 1 (offered to the waitlist)", got)
	}
	m := hmac.New(sha256.New, s.payments.Secret)
	m.Write([]byte("waitlist-claim:" + entry.ID.String()))
	claim := "/waitlist/" + entry.ID.String() + "/claim?t=" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
	offers := s.mail.withSubject("A place is free: Bread-making workshop")
	if len(offers) != 1 || offers[0].To != "cy@example.org" || !strings.Contains(offers[0].Text, claim) {
		t.Fatalf("waitlist emails %+v, want one to cy@example.org with %s", offers, claim)
	}
	if status, _ := s.bookingOf(t, order); status != models.BookingCancelled {
		t.Fatalf("after the order expired, its booking is %s", status)
	}
	if o := s.order(t, order); o.Status != models.OrderExpired {
		t.Fatalf("order is %s, want expired", o.Status)
	}
	// The events' own sweep finds nothing more to give back.
	if n, err := bookings.New(s.db).ExpireHolds(context.Background(), time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("bookings.ExpireHolds = %d, %v after the order expired", n, err)
	}
	if got := s.taken(t, e); got != 1 {
		t.Fatalf("%d places taken after both sweeps, want 1 (the offer)", got)
	}
}

// Two shoppers checking out the last place at once: one holds it, the
// other is told it is gone, and nothing of their order is written.
func TestTwoCheckoutsForTheLastPlace(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 1)
	ann, bob := s.payer(t, &s.shopper), s.payer(t, &s.other)
	for _, p := range []*payer{ann, bob} {
		if r := p.post("/items", e.form("1")); r.status != http.StatusSeeOther {
			t.Fatalf("adding the last place = %d\n%s", r.status, r.body)
		}
	}
	keys := []string{ann.checkoutForm(), bob.checkoutForm()}
	var wg sync.WaitGroup
	results := make([]response, 2)
	for i, p := range []*payer{ann, bob} {
		wg.Go(func() { results[i] = p.post("/checkout/pay", ticketsOnlyForm(keys[i], p.user.Email)) })
	}
	wg.Wait()
	held, told := 0, 0
	for _, r := range results {
		switch {
		case r.status == http.StatusSeeOther && strings.HasPrefix(r.location, s.sbSrv.URL+"/pay/"):
			held++
		case r.status == http.StatusUnprocessableEntity && strings.Contains(r.body, e.title()) &&
			(strings.Contains(r.body, "Sold out") || strings.Contains(r.body, "sold out")):
			told++
		default:
			t.Fatalf("a checkout = %d to %q\n%s", r.status, r.location, r.body)
		}
	}
	if held != 1 || told != 1 {
		t.Fatalf("%d checkouts hold the place and %d were told, want 1 and 1", held, told)
	}
	if got := s.taken(t, e); got != 1 {
		t.Fatalf("%d places taken, want 1", got)
	}
	if n := s.countOrders(t); n != 1 {
		t.Fatalf("%d orders written, want 1", n)
	}
}

// A payment that arrives after the places held for it expired and were
// taken by someone else confirms nothing: the order is cancelled and the
// payment refunded, and the shopper told.
func TestPaidAfterThePlacesWereTakenIsRefunded(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 1)
	ann := s.payer(t, &s.shopper)
	ann.post("/items", e.form("1"))
	r := ann.post("/checkout/pay", ticketsOnlyForm(ann.checkoutForm(), s.shopper.Email))
	order := s.orderOf(t, r.location)
	// The events' sweep expires the hold before the cart's does, and the
	// place goes to someone else.
	if n, err := bookings.New(s.db).ExpireHolds(context.Background(), time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("bookings.ExpireHolds = %d, %v", n, err)
	}
	if _, err := s.db.Exec(context.Background(), `UPDATE event_occurrences SET taken = 1 WHERE id = $1`, e.occurrence); err != nil {
		t.Fatal(err)
	}
	ret := ann.payOnSumUp(r.location, "PAID", order)
	ann.follow(ann.get(ret.location))
	s.waitWebhooks(t, 1)
	o := s.order(t, order)
	if o.Status != models.OrderCancelled || len(o.Refunds) != 1 || o.Refunds[0].Amount != 1250 {
		t.Fatalf("order is %s with refunds %+v, want cancelled with the payment of 1250 refunded", o.Status, o.Refunds)
	}
	if status, n := s.bookingOf(t, order); status == models.BookingConfirmed || n != 0 {
		t.Fatalf("the booking is %s with %d tickets, want none issued", status, n)
	}
	if got := s.taken(t, e); got != 1 {
		t.Fatalf("%d places taken, want 1 (the other's)", got)
	}
	if len(s.mail.withSubject("Your payment for Rose Ash")) != 1 {
		t.Fatalf("the shopper was not told of the refund: %+v", s.mail.sent)
	}
}

// The basket checks its tickets as it checks products: a new price is
// taken, a line above the places left is cut, a quantity above them is
// refused, and a cancelled event's places are taken out, each said in a
// sentence.
func TestBasketChecksTickets(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 10)
	ann := s.payer(t, &s.shopper)
	ctx := context.Background()
	if r := ann.post("/items", e.form("21")); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Book from 1 to 20 places") {
		t.Fatalf("adding 21 places = %d\n%s", r.status, r.body)
	}
	if r := ann.post("/items", e.form("3")); r.status != http.StatusSeeOther {
		t.Fatalf("adding = %d\n%s", r.status, r.body)
	}
	if _, err := s.db.Exec(ctx, `UPDATE ticket_types SET price_minor = 1500 WHERE id = $1`, e.ticketType); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE event_occurrences SET taken = 8 WHERE id = $1`, e.occurrence); err != nil {
		t.Fatal(err)
	}
	page := ann.get("/")
	for _, want := range []string{"The price of " + e.title() + " changed from £12.50 to £15.00.",
		"Only 2 places can be booked of " + e.title() + ", so your basket now has 2.", "£30.00"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the basket does not say %q:\n%s", want, page.body)
		}
	}
	ref := url.PathEscape("ticket:" + e.occurrence.String() + ":" + e.ticketType.String())
	if r := ann.post("/items/"+ref+"/quantity", url.Values{"quantity": {"3"}}); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "Only 2 places can be booked of") {
		t.Fatalf("raising to 3 = %d\n%s", r.status, r.body)
	}
	if r := ann.post("/items/"+ref+"/quantity", url.Values{"quantity": {"1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("lowering to 1 = %d\n%s", r.status, r.body)
	}
	if _, err := s.db.Exec(ctx, `UPDATE event_occurrences SET status = 'cancelled' WHERE id = $1`, e.occurrence); err != nil {
		t.Fatal(err)
	}
	page = ann.get("/")
	if !strings.Contains(page.body, e.title()+" is not on sale any more, so it was taken out of your basket.") {
		t.Fatalf("the basket does not say the cancelled date's places were taken out:\n%s", page.body)
	}
	if again := ann.get("/"); strings.Contains(again.body, e.title()) {
		t.Fatalf("the cancelled date's places are still in the basket:\n%s", again.body)
	}
}

// A guest's places join the user's basket at sign-in like products,
// within the places left (a guest pays for places too, as a guest).
func TestAGuestsTicketsJoinTheirsAtSignIn(t *testing.T) {
	s := newShop(t)
	e := s.mustPaidEvent(t, 3)
	srv := s.server(t)
	ann := s.browser(t, srv, &s.shopper)
	if r := ann.do(http.MethodPost, "/items", e.form("2")); r.status != http.StatusSeeOther {
		t.Fatalf("Ann's add = %d\n%s", r.status, r.body)
	}
	guest := s.browser(t, srv, nil)
	if r := guest.do(http.MethodPost, "/items", e.form("2")); r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("the guest's add = %d to %q\n%s", r.status, r.location, r.body)
	}
	mustContain(t, "the guest's basket", guest.get("/").body, "2 places at "+e.title()+" added to your basket", "£25.00")
	guest.user = &s.shopper
	mustContain(t, "the basket after signing in", guest.get("/").body,
		"The basket you filled before signing in is now part of yours.",
		"Your basket has 3 of "+e.title()+": you had 2 and chose 2 before signing in, but only 3 can be ordered.", "£37.50")
}
