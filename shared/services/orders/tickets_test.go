package orders_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/orders"
)

// mustTicket adds a published event next week with 4 places and a £8
// ticket type, and returns the ticket's reference.
func (s shop) mustTicket(t *testing.T) calendars.TicketRef {
	t.Helper()
	starts := time.Now().UTC().Add(7 * 24 * time.Hour).Truncate(time.Hour)
	var cal, event uuid.UUID
	var ref calendars.TicketRef
	if err := s.db.QueryRow(s.ctx, `INSERT INTO calendars (slug, title) VALUES ('talks', 'Talks') RETURNING id`).Scan(&cal); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(s.ctx, `
		INSERT INTO events (calendar_id, slug, title, location, starts_at, ends_at, status, published_at, time_zone, capacity)
		VALUES ($1, 'soil', 'Soil talk', 'Barn', $2, $3, 'scheduled', now(), 'Europe/London', 4) RETURNING id`,
		cal, starts, starts.Add(time.Hour)).Scan(&event); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(s.ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity) VALUES ($1, $2, $3, 4) RETURNING id`,
		event, starts, starts.Add(time.Hour)).Scan(&ref.OccurrenceID); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(s.ctx, `INSERT INTO ticket_types (event_id, name, price_minor) VALUES ($1, 'Seat', 800) RETURNING id`,
		event).Scan(&ref.TicketTypeID); err != nil {
		t.Fatal(err)
	}
	return ref
}

func (s shop) taken(t *testing.T, ref calendars.TicketRef) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(s.ctx, `SELECT taken FROM event_occurrences WHERE id = $1`, ref.OccurrenceID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A guest's mixed basket (honey to collect, places at a talk) is one
// order: the honey's stock and the talk's places are held together, the
// ticket line at the ticket type's price under its calendar's name; an
// admin cancelling it unpaid gives both back.
func TestMixedOrderHoldsAndReleasesPlaces(t *testing.T) {
	s, honey, _ := newShop(t)
	s.orders.Bookings = bookings.New(s.db)
	ref := s.mustTicket(t)
	o, _, err := s.orders.Place(s.ctx, pickup(orders.LineInput{VariantID: honey, Quantity: 2}, orders.LineInput{Ticket: ref, Quantity: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if o.Total != 2*725+3*800 || len(o.Lines) != 2 || !o.Lines[1].Ticket || o.Lines[1].MarketName != "Talks" || o.Lines[1].Held != 0 {
		t.Fatalf("order total %d, lines %+v", o.Total, o.Lines)
	}
	if s.stock(t, honey) != 3 || s.taken(t, ref) != 3 {
		t.Fatalf("held: stock %d, places taken %d; want 3 and 3", s.stock(t, honey), s.taken(t, ref))
	}
	var status, name string
	if err := s.db.QueryRow(s.ctx, `SELECT status, name FROM bookings WHERE order_id = $1`, o.ID).Scan(&status, &name); err != nil {
		t.Fatal(err)
	}
	if status != models.BookingHeld || name != "shopper@example.org" {
		t.Fatalf("the booking is %s for %q", status, name)
	}
	// A member's booking carries their name, not their email.
	member := pickup(orders.LineInput{Ticket: ref, Quantity: 1})
	member.UserID, member.Name = s.member(t), "Ann Member"
	mo, _, err := s.orders.Place(s.ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(s.ctx, `SELECT name FROM bookings WHERE order_id = $1`, mo.ID).Scan(&name); err != nil || name != "Ann Member" {
		t.Fatalf("a member's booking is for %q (%v), want their name", name, err)
	}
	if _, err := s.orders.Move(s.ctx, mo.ID, models.OrderCancelled, orders.Actor{Name: "test"}, "the test's"); err != nil {
		t.Fatal(err)
	}
	// One place left: a second order of 2 is refused, nothing written.
	_, _, err = s.orders.Place(s.ctx, pickup(orders.LineInput{Ticket: ref, Quantity: 2}))
	if msg := models.Message(err); models.Code(err) != models.EConflict || msg != o.Lines[1].Title+": Only 1 place left." ||
		!strings.HasPrefix(msg, "Soil talk — Seat, ") {
		t.Fatalf("a second order of 2 places: %v", err)
	}
	if _, err := s.orders.Move(s.ctx, o.ID, models.OrderCancelled, orders.Actor{Name: "admin"}, "asked by phone"); err != nil {
		t.Fatal(err)
	}
	if s.stock(t, honey) != 5 || s.taken(t, ref) != 0 {
		t.Fatalf("after cancelling: stock %d, places taken %d; want 5 and 0", s.stock(t, honey), s.taken(t, ref))
	}
	got, err := s.orders.Order(s.ctx, o.ID)
	if err != nil || !got.Lines[1].Ticket || got.Lines[1].TicketTypeID.UUID != ref.TicketTypeID {
		t.Fatalf("the order read back: %+v, %v", got.Lines, err)
	}
}

// A store that sells no tickets (no bookings store) refuses ticket lines
// with a sentence, writing nothing.
func TestTicketsRefusedWithoutBookings(t *testing.T) {
	s, _, _ := newShop(t)
	ref := s.mustTicket(t)
	_, _, err := s.orders.Place(s.ctx, pickup(orders.LineInput{Ticket: ref, Quantity: 1}))
	if models.Code(err) != models.EUnavailable || s.taken(t, ref) != 0 {
		t.Fatalf("a ticket line without bookings: %v, %d places taken", err, s.taken(t, ref))
	}
}

// member adds a user and returns their id.
func (s shop) member(t *testing.T) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := s.db.QueryRow(s.ctx, `INSERT INTO users (email, username, display_name) VALUES ('ann@example.org', 'ann', 'Ann Member') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
