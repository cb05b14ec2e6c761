package bookings_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
)

// When an event is cancelled, every booking of its dates to come is
// cancelled (tickets too, seats given back), free, paid and held alike;
// its waitlist ends (an offer's seats given back) and nobody is offered
// anything; a date already past keeps its bookings. What was cancelled
// is returned with each booker and, for the paid one, its order. A
// second call changes nothing, and the order whose places were held
// while it was being paid can no longer be confirmed.
func TestCancelForEventCancelsEveryBookingOfItsDatesToCome(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "harvest-supper", seats(7))
	paid := f.mustTicketType(t, "Supper", 2500, nil)
	var offered []models.WaitlistEntry
	f.st.Offered = func(_ context.Context, offers []models.WaitlistEntry) { offered = append(offered, offers...) }
	inTx := func(fn func(tx pgx.Tx) error) error {
		t.Helper()
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	order := func(email string) uuid.UUID {
		t.Helper()
		var id uuid.UUID
		if err := db.QueryRow(ctx, `INSERT INTO orders (email, fulfilment, currency, subtotal_minor, total_minor, hold_until)
			VALUES ($1, 'pickup', 'GBP', 5000, 5000, $2) RETURNING id`, email, now.Add(15*time.Minute)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}

	// Seven seats: Ann (a member, 2), Gus (a guest, 1), Pat (2, paid for),
	// Hana (1, held while her order is paid), Otto (1, who cancels).
	annID := mustUser(t, db, "ann@example.com", "Ann")
	ann, err := f.st.Book(ctx, bookings.Request{OccurrenceID: f.occurrence, TicketTypeID: f.free, Quantity: 2, UserID: annID,
		Email: "ann@example.com", Name: "Ann"}, now)
	if err != nil {
		t.Fatal(err)
	}
	gus, err := f.st.Book(ctx, guest(f, 1, "Gus Guest"), now)
	if err != nil {
		t.Fatal(err)
	}
	patOrder, hanaOrder := order("pat@example.com"), order("hana@example.com")
	if err := inTx(func(tx pgx.Tx) error {
		if _, err := f.st.Hold(ctx, tx, bookings.Request{OccurrenceID: f.occurrence, TicketTypeID: paid, Quantity: 2,
			Name: "Pat Payer", Email: "pat@example.com"}, patOrder, now.Add(15*time.Minute), now); err != nil {
			return err
		}
		if err := f.st.ConfirmHeld(ctx, tx, patOrder, now); err != nil {
			return err
		}
		_, err := f.st.Hold(ctx, tx, bookings.Request{OccurrenceID: f.occurrence, TicketTypeID: paid, Quantity: 1,
			Name: "Hana Held", Email: "hana@example.com"}, hanaOrder, now.Add(15*time.Minute), now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	otto, err := f.st.Book(ctx, guest(f, 1, "Otto Out"), now)
	if err != nil {
		t.Fatal(err)
	}
	// Full: Wendy and Walt wait; Otto cancels, and Wendy is offered his
	// seat.
	if _, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Wendy Wait"), now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.JoinWaitlist(ctx, guest(f, 2, "Walt Wait"), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if offers, err := f.st.Cancel(ctx, otto.ID, now); err != nil || len(offers) != 1 || offers[0].Email != "wendy.wait@example.com" {
		t.Fatalf("Otto's cancellation offered %+v (%v), want Wendy's place", offers, err)
	}
	if f.taken(t) != 7 {
		t.Fatalf("taken %d before the cancellation, want 7", f.taken(t))
	}
	// Last week's date of the same event, attended.
	var past, pastBooking uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity, taken) VALUES ($1, $2, $3, 7, 1) RETURNING id`,
		f.eventID, now.Add(-7*24*time.Hour), now.Add(-7*24*time.Hour+2*time.Hour)).Scan(&past); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO bookings (occurrence_id, ticket_type_id, quantity, email, name, status, confirmed_at)
		VALUES ($1, $2, 1, 'early@example.com', 'Early Bird', 'confirmed', $3) RETURNING id`, past, f.free, now.Add(-8*24*time.Hour)).Scan(&pastBooking); err != nil {
		t.Fatal(err)
	}

	// The organiser cancels the event (the calendars store's change).
	if _, err := db.Exec(ctx, `UPDATE events SET status = 'cancelled', cancel_reason = 'The hall flooded.' WHERE id = $1`, f.eventID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET status = 'cancelled' WHERE event_id = $1`, f.eventID); err != nil {
		t.Fatal(err)
	}
	var c bookings.Cancellation
	if err := inTx(func(tx pgx.Tx) error {
		var err error
		c, err = f.st.CancelForEvent(ctx, tx, f.eventID, now.Add(time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}

	if c.Reason != "The hall flooded." || c.EventID != f.eventID {
		t.Errorf("the cancellation's event %s and reason %q", c.EventID, c.Reason)
	}
	byEmail := map[string]bookings.CancelledBooking{}
	for _, b := range c.Bookings {
		byEmail[b.Email] = b
		if b.Status != models.BookingCancelled || b.CancelReason != bookings.EventCancelledReason || b.EventTitle != "Event harvest-supper" ||
			!b.StartsAt.Equal(f.startsAt) {
			t.Errorf("cancelled booking %+v", b.Booking)
		}
	}
	if len(c.Bookings) != 4 {
		t.Fatalf("%d bookings cancelled, want Ann's, Gus's, Pat's and Hana's: %+v", len(c.Bookings), c.Bookings)
	}
	if a := byEmail["ann@example.com"]; a.ID != ann.ID || a.UserID != annID || a.Was != models.BookingConfirmed || a.Paid() {
		t.Errorf("Ann's: %+v", a)
	}
	if g := byEmail["gus.guest@example.com"]; g.ID != gus.ID || g.Paid() || g.OrderID != uuid.Nil {
		t.Errorf("Gus's: %+v", g)
	}
	if p := byEmail["pat@example.com"]; !p.Paid() || p.OrderID != patOrder || p.Quantity != 2 || p.PriceMinor != 2500 {
		t.Errorf("Pat's paid booking: %+v (paid %v)", p, p.Paid())
	}
	if h := byEmail["hana@example.com"]; h.Was != models.BookingHeld || h.Paid() || h.OrderID != hanaOrder {
		t.Errorf("Hana's held booking: %+v", h)
	}
	if len(c.Waitlist) != 2 || c.Waitlist[0].Email != "wendy.wait@example.com" || c.Waitlist[1].Email != "walt.wait@example.com" ||
		c.Waitlist[0].Status != "expired" || c.Waitlist[1].Status != "expired" {
		t.Errorf("the waitlist ended: %+v", c.Waitlist)
	}
	if len(offered) != 1 {
		t.Errorf("%d offers were made, want only Wendy's before the cancellation", len(offered))
	}

	// In the database: no seat taken, no valid ticket, nobody waiting at
	// the cancelled date; last week's booking stands.
	if f.taken(t) != 0 {
		t.Errorf("taken %d at the cancelled date, want 0", f.taken(t))
	}
	if n := f.count(t, `SELECT count(*) FROM tickets k JOIN bookings b ON b.id = k.booking_id WHERE b.occurrence_id = $1 AND k.status = 'valid'`); n != 0 {
		t.Errorf("%d valid tickets at the cancelled date", n)
	}
	if n := f.count(t, `SELECT count(*) FROM waitlist_entries WHERE occurrence_id = $1 AND status IN ('waiting', 'offered')`); n != 0 {
		t.Errorf("%d still waiting at the cancelled date", n)
	}
	var status string
	if err := db.QueryRow(ctx, `SELECT status FROM bookings WHERE id = $1`, pastBooking).Scan(&status); err != nil || status != models.BookingConfirmed {
		t.Errorf("last week's booking is %q (%v), want confirmed", status, err)
	}

	// Again: nothing more.
	if err := inTx(func(tx pgx.Tx) error {
		again, err := f.st.CancelForEvent(ctx, tx, f.eventID, now.Add(2*time.Hour))
		if err == nil && (len(again.Bookings) != 0 || len(again.Waitlist) != 0) {
			t.Errorf("a second call cancelled %+v", again)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Hana's order, paid after all, confirms nothing: the cart refunds.
	err = inTx(func(tx pgx.Tx) error { return f.st.ConfirmHeld(ctx, tx, hanaOrder, now.Add(3*time.Hour)) })
	wantError(t, err, models.EConflict, "was cancelled")
	if n := f.count(t, `SELECT count(*) FROM bookings WHERE occurrence_id = $1 AND status = 'confirmed'`); n != 0 {
		t.Errorf("%d confirmed bookings after paying for a cancelled event's places", n)
	}
}

// Registered as the calendars store's OnChange hook, CancelWithEvent
// cancels the bookings of a date an edit takes out of a weekly event (the
// date is cancelled because it was booked) in the edit's transaction, and
// hands them to the collector of the edit's context; the other dates'
// bookings stand.
func TestCancelWithEventOnADroppedDate(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	events, st := calendars.New(db), bookings.New(db)
	events.OnChange(st.CancelWithEvent)
	var cal uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO calendars (slug, title) VALUES ('clubs', 'Clubs') RETURNING id`).Scan(&cal); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(7 * 24 * time.Hour).Truncate(time.Hour)
	saved, err := events.CreateEvent(ctx, models.EventEntry{CalendarID: cal, Slug: "thursday-club", Title: "Thursday club",
		TimeZone: "Europe/London", StartsAt: start, EndsAt: start.Add(2 * time.Hour), Status: models.EventScheduled,
		RRule: "FREQ=WEEKLY;COUNT=4", Capacity: seats(10), TicketTypes: []models.TicketType{{Name: "Place"}}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, `SELECT id, starts_at FROM event_occurrences WHERE event_id = $1 ORDER BY starts_at`, saved.ID)
	if err != nil {
		t.Fatal(err)
	}
	type date struct {
		ID       uuid.UUID
		StartsAt time.Time
	}
	dates, err := pgx.CollectRows(rows, pgx.RowToStructByPos[date])
	if err != nil || len(dates) != 4 {
		t.Fatalf("dates %v (%v), want 4", dates, err)
	}
	saved, err = events.Event(ctx, "thursday-club")
	if err != nil {
		t.Fatal(err)
	}
	book := func(d date, name string) models.Booking {
		t.Helper()
		b, err := st.Book(ctx, bookings.Request{OccurrenceID: d.ID, TicketTypeID: saved.TicketTypes[0].ID, Quantity: 1, Name: name,
			Email: strings.ToLower(name) + "@example.com"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bea, cas := book(dates[0], "Bea"), book(dates[1], "Cas")

	e := saved
	e.ExDates = []time.Time{dates[1].StartsAt}
	collecting, cancelled := bookings.CollectCancellations(ctx)
	if _, err := events.UpdateEvent(collecting, e); err != nil {
		t.Fatal(err)
	}
	cs := cancelled()
	if len(cs) != 1 || len(cs[0].Bookings) != 1 || cs[0].Bookings[0].ID != cas.ID || cs[0].Reason != "" ||
		!cs[0].Bookings[0].StartsAt.Equal(dates[1].StartsAt) {
		t.Fatalf("collected %+v, want Cas's booking of the dropped date", cs)
	}
	var casStatus, beaStatus string
	var taken int
	if err := db.QueryRow(ctx, `SELECT (SELECT status FROM bookings WHERE id = $1), (SELECT status FROM bookings WHERE id = $2),
		(SELECT taken FROM event_occurrences WHERE id = $3)`, cas.ID, bea.ID, dates[1].ID).Scan(&casStatus, &beaStatus, &taken); err != nil {
		t.Fatal(err)
	}
	if casStatus != models.BookingCancelled || beaStatus != models.BookingConfirmed || taken != 0 {
		t.Errorf("Cas's booking %s, Bea's %s, %d seats taken at the dropped date; want cancelled, confirmed, 0", casStatus, beaStatus, taken)
	}
	// An edit that drops nothing collects nothing.
	e, err = events.Event(ctx, "thursday-club")
	if err != nil {
		t.Fatal(err)
	}
	e.Title = "Thursday evening club"
	collecting, cancelled = bookings.CollectCancellations(ctx)
	if _, err := events.UpdateEvent(collecting, e); err != nil {
		t.Fatal(err)
	}
	if cs := cancelled(); len(cs) != 0 {
		t.Errorf("an edit of the title collected %+v", cs)
	}
}
