package bookings_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
)

// A paid ticket's seats are held while its order is paid: they expire
// and go back (to the waitlist) when it is not paid in time, and become
// tickets when it is.
func TestHoldsExpireAndRelease(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "supper-club", seats(2))
	paid := f.mustTicketType(t, "Supper", 2500, nil)
	var mailed []models.WaitlistEntry
	f.st.Offered = func(_ context.Context, offers []models.WaitlistEntry) { mailed = append(mailed, offers...) }
	order := func() uuid.UUID {
		t.Helper()
		var id uuid.UUID
		if err := db.QueryRow(ctx, `INSERT INTO orders (email, fulfilment, currency, subtotal_minor, total_minor, hold_until)
			VALUES ('pat@example.com', 'pickup', 'GBP', 5000, 5000, $1) RETURNING id`, now.Add(15*time.Minute)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
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
	pat := bookings.Request{OccurrenceID: f.occurrence, TicketTypeID: paid, Quantity: 2, Name: "Pat Payer", Email: "pat@example.com"}
	first := order()
	if err := inTx(func(tx pgx.Tx) error {
		_, err := f.st.Hold(ctx, tx, pat, first, now.Add(15*time.Minute), now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if f.taken(t) != 2 {
		t.Fatalf("taken %d while held", f.taken(t))
	}
	_, err := f.st.Book(ctx, guest(f, 1, "Fay Free"), now)
	wantError(t, err, models.EConflict, "Sold out.")
	waiting, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Fay Free"), now)
	if err != nil {
		t.Fatal(err)
	}

	// Not paid in time: expired, the seats back and offered.
	if n, err := f.st.ExpireHolds(ctx, now.Add(10*time.Minute)); err != nil || n != 0 {
		t.Fatalf("early sweep: %d, %v", n, err)
	}
	if n, err := f.st.ExpireHolds(ctx, now.Add(16*time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if f.taken(t) != 1 || len(mailed) != 1 || mailed[0].ID != waiting.ID {
		t.Fatalf("after expiry: taken %d, offers %+v", f.taken(t), mailed)
	}
	if n, _ := f.st.ExpireHolds(ctx, now.Add(17*time.Minute)); n != 0 {
		t.Fatalf("a second sweep expired %d", n)
	}
	// Paid late, with one place left of the two: refused, nothing confirmed.
	wantError(t, inTx(func(tx pgx.Tx) error { return f.st.ConfirmHeld(ctx, tx, first, now.Add(18*time.Minute)) }),
		models.EConflict, "released before it was paid")

	// A second order, paid in time: tickets.
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET capacity = 3 WHERE id = $1`, f.occurrence); err != nil {
		t.Fatal(err)
	}
	second := order()
	var held uuid.UUID
	if err := inTx(func(tx pgx.Tx) (err error) {
		held, err = f.st.Hold(ctx, tx, pat, second, now.Add(time.Hour), now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := inTx(func(tx pgx.Tx) error { return f.st.ConfirmHeld(ctx, tx, second, now.Add(5*time.Minute)) }); err != nil {
		t.Fatal(err)
	}
	b, err := f.st.Booking(ctx, held)
	if err != nil || b.Status != models.BookingConfirmed || len(b.Tickets) != 2 || f.taken(t) != 3 {
		t.Fatalf("paid booking %+v, %v, taken %d", b, err, f.taken(t))
	}

	// A third, cancelled: the seats come back once.
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET capacity = 4 WHERE id = $1`, f.occurrence); err != nil {
		t.Fatal(err)
	}
	third := order()
	one := pat
	one.Quantity = 1
	if err := inTx(func(tx pgx.Tx) error {
		_, err := f.st.Hold(ctx, tx, one, third, now.Add(time.Hour), now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := inTx(func(tx pgx.Tx) error { return f.st.ReleaseHeld(ctx, tx, third, now) }); err != nil {
			t.Fatal(err)
		}
	}
	if f.taken(t) != 3 {
		t.Fatalf("taken %d after releasing the third order", f.taken(t))
	}
}

// The periodic sweep ends offers and holds that are due.
func TestSweepWorker(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "sweep", seats(1))
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET starts_at = now() + interval '2 days', ends_at = now() + interval '3 days' WHERE id = $1`, f.occurrence); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * time.Hour)
	f.st.OfferWindow = time.Hour
	b, err := f.st.Book(ctx, guest(f, 1, "Ann Gone"), past)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Will Wait"), past)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Cancel(ctx, b.ID, past); err != nil {
		t.Fatal(err)
	}
	if err := (&bookings.SweepWorker{Store: f.st}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if e, _ := f.st.WaitlistEntry(ctx, w.ID); e.Status != models.WaitlistExpired || f.taken(t) != 0 {
		t.Fatalf("after the sweep: %s, taken %d", e.Status, f.taken(t))
	}
	if bookings.SweepPeriodic(bookings.SweepEvery) == nil || (bookings.SweepArgs{}).InsertOpts().Queue != "events" {
		t.Fatal("the periodic job")
	}
}

// An order refunded in full: CancelForOrder cancels its confirmed
// booking and tickets even past the cutoff, gives the places back and
// offers them to the waitlist; a second call cancels nothing.
func TestCancelForOrder(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "refunded-supper", seats(2))
	paid := f.mustTicketType(t, "Supper", 2500, nil)
	var mailed []models.WaitlistEntry
	f.st.Offered = func(_ context.Context, offers []models.WaitlistEntry) { mailed = append(mailed, offers...) }
	var order uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO orders (email, fulfilment, currency, subtotal_minor, total_minor, hold_until)
		VALUES ('pat@example.com', 'pickup', 'GBP', 5000, 5000, $1) RETURNING id`, now.Add(15*time.Minute)).Scan(&order); err != nil {
		t.Fatal(err)
	}
	pat := bookings.Request{OccurrenceID: f.occurrence, TicketTypeID: paid, Quantity: 2, Name: "Pat Payer", Email: "pat@example.com"}
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := f.st.Hold(ctx, tx, pat, order, now.Add(15*time.Minute), now); err != nil {
			return err
		}
		return f.st.ConfirmHeld(ctx, tx, order, now)
	}); err != nil {
		t.Fatal(err)
	}
	waiting, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Fay Free"), now)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.count(t, `SELECT count(*) FROM tickets k JOIN bookings b ON b.id = k.booking_id WHERE b.occurrence_id = $1 AND k.status = 'valid'`); got != 2 {
		t.Fatalf("%d valid tickets once paid, want 2", got)
	}
	late := f.startsAt.Add(-time.Hour) // past the event's 2-hour cutoff
	cancel := func() int {
		t.Helper()
		var n int
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			var err error
			n, err = f.st.CancelForOrder(ctx, tx, order, bookings.OrderRefundedReason, late)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := cancel(); n != 1 {
		t.Fatalf("cancelled %d bookings, want 1", n)
	}
	if got := f.count(t, `SELECT count(*) FROM bookings WHERE occurrence_id = $1 AND status = 'cancelled' AND cancel_reason = 'The order was refunded.'`); got != 1 {
		t.Fatalf("%d bookings cancelled as refunded, want 1", got)
	}
	if got := f.count(t, `SELECT count(*) FROM tickets k JOIN bookings b ON b.id = k.booking_id WHERE b.occurrence_id = $1 AND k.status = 'valid'`); got != 0 {
		t.Fatalf("%d tickets still valid", got)
	}
	if len(mailed) != 1 || mailed[0].ID != waiting.ID || f.taken(t) != 1 {
		t.Fatalf("offers mailed %+v, %d seats taken; want Fay offered her place (1 taken)", mailed, f.taken(t))
	}
	if n := cancel(); n != 0 || len(mailed) != 1 || f.taken(t) != 1 {
		t.Fatalf("a second call cancelled %d, mailed %d, taken %d", n, len(mailed), f.taken(t))
	}
}
