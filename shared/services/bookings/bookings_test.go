package bookings_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/activitypub/agenda"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
)

// fixture is one published event with one occurrence and a free ticket
// type.
type fixture struct {
	db         *pgxpool.Pool
	st         *bookings.Store
	eventID    uuid.UUID
	occurrence uuid.UUID
	free       uuid.UUID
	startsAt   time.Time
}

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

var fixtureCount int

// mustEvent adds a published event (slug) starting two days after now,
// whose occurrence has capacity seats (nil: no limit), with a free ticket
// type "Standard".
func mustEvent(t *testing.T, db *pgxpool.Pool, slug string, capacity *int) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{db: db, st: bookings.New(db), startsAt: now.Add(48 * time.Hour)}
	var cal uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO calendars (slug, title) VALUES ($1, 'Workshops')
		ON CONFLICT (slug) DO UPDATE SET title = excluded.title RETURNING id`, "workshops").Scan(&cal); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `
		INSERT INTO events (calendar_id, slug, title, location, starts_at, ends_at, status, published_at, time_zone, capacity, cancel_cutoff_minutes)
		VALUES ($1, $2, $3, 'Village Hall', $4, $5, 'scheduled', $6, 'Europe/London', $7, 120) RETURNING id`,
		cal, slug, "Event "+slug, f.startsAt, f.startsAt.Add(2*time.Hour), now.Add(-time.Hour), capacity).Scan(&f.eventID); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity) VALUES ($1, $2, $3, $4) RETURNING id`,
		f.eventID, f.startsAt, f.startsAt.Add(2*time.Hour), capacity).Scan(&f.occurrence); err != nil {
		t.Fatal(err)
	}
	f.free = f.mustTicketType(t, "Standard", 0, nil)
	return f
}

func (f fixture) mustTicketType(t *testing.T, name string, price int64, capacity *int) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := f.db.QueryRow(context.Background(), `INSERT INTO ticket_types (event_id, name, price_minor, capacity) VALUES ($1, $2, $3, $4) RETURNING id`,
		f.eventID, name, price, capacity).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f fixture) taken(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT taken FROM event_occurrences WHERE id = $1`, f.occurrence).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f fixture) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), sql, f.occurrence).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func seats(n int) *int { return &n }

func guest(f fixture, n int, name string) bookings.Request {
	return bookings.Request{OccurrenceID: f.occurrence, TicketTypeID: f.free, Quantity: n, Name: name,
		Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}
}

func mustUser(t *testing.T, db *pgxpool.Pool, email, name string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.QueryRow(context.Background(), `INSERT INTO users (email, display_name) VALUES ($1, $2) RETURNING id`, email, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func wantError(t *testing.T, err error, code models.ErrorCode, message string) {
	t.Helper()
	if models.Code(err) != code || (message != "" && !strings.Contains(models.Message(err), message)) {
		t.Fatalf("error %v, want %s %q", err, code, message)
	}
}

func TestBookAFreeTicketType(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "bread-making", seats(5))
	ann := mustUser(t, db, "ann@example.com", "Ann")

	b, err := f.st.Book(ctx, bookings.Request{OccurrenceID: f.occurrence, TicketTypeID: f.free, Quantity: 2,
		UserID: ann, Email: "ann@example.com", Name: "Ann"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != models.BookingConfirmed || b.UserID != ann || b.Quantity != 2 || len(b.Tickets) != 2 ||
		b.EventTitle != "Event bread-making" || b.TicketTypeName != "Standard" || !b.StartsAt.Equal(f.startsAt) ||
		b.Location != "Village Hall" || b.TimeZone != "Europe/London" {
		t.Fatalf("booking %+v", b)
	}
	t1, t2 := b.Tickets[0], b.Tickets[1]
	if t1.Seat != 1 || t2.Seat != 2 || len(t1.Secret) != 16 || bytes.Equal(t1.Secret, t2.Secret) || t1.Status != "valid" {
		t.Fatalf("tickets %+v", b.Tickets)
	}
	if secret, err := models.ParseTicketCode(strings.ToLower(t1.Code())); err != nil || !bytes.Equal(secret, t1.Secret) {
		t.Fatalf("code %q does not parse back: %v", t1.Code(), err)
	}
	if got := f.taken(t); got != 2 {
		t.Fatalf("taken %d", got)
	}

	// A guest's confirmation link used twice books once.
	q := guest(f, 1, "Twice Clicked")
	q.ID = uuid.New()
	first, err := f.st.Book(ctx, q, now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.st.Book(ctx, q, now)
	if err != nil || second.ID != first.ID || first.ID != q.ID || f.taken(t) != 3 {
		t.Fatalf("the same request twice: %v, %v (%v), taken %d", first.ID, second.ID, err, f.taken(t))
	}
	if _, err := f.st.Cancel(ctx, first.ID, now); err != nil {
		t.Fatal(err)
	}

	// A guest asks for more than is left: told how many, nothing taken.
	_, err = f.st.Book(ctx, guest(f, 4, "Bob Guest"), now)
	wantError(t, err, models.EConflict, "Only 3 places left.")
	if _, err := f.st.Book(ctx, guest(f, 3, "Bob Guest"), now); err != nil {
		t.Fatal(err)
	}
	_, err = f.st.Book(ctx, guest(f, 1, "Cy Late"), now)
	wantError(t, err, models.EConflict, "Sold out.")
	if got := f.taken(t); got != 5 {
		t.Fatalf("taken %d after selling out", got)
	}

	// Refusals that take nothing.
	g := mustEvent(t, db, "tasting", nil)
	paid := g.mustTicketType(t, "Paid", 1500, nil)
	_, err = g.st.Book(ctx, bookings.Request{OccurrenceID: g.occurrence, TicketTypeID: paid, Quantity: 1, Name: "A", Email: "a@example.com"}, now)
	wantError(t, err, models.EConflict, "Paid tickets are sold through the cart.")
	_, err = g.st.Book(ctx, bookings.Request{OccurrenceID: g.occurrence, TicketTypeID: f.free, Quantity: 1, Name: "A", Email: "a@example.com"}, now)
	wantError(t, err, models.EInvalid, "not one of this event's")
	_, err = g.st.Book(ctx, guest(g, 0, "Zero"), now)
	wantError(t, err, models.EInvalid, "Book 1 to 20 places.")
	_, err = g.st.Book(ctx, bookings.Request{OccurrenceID: g.occurrence, TicketTypeID: g.free, Quantity: 1, Email: "x@example.com"}, now)
	wantError(t, err, models.EInvalid, "Enter your name.")
	_, err = g.st.Book(ctx, bookings.Request{OccurrenceID: g.occurrence, TicketTypeID: g.free, Quantity: 1, Name: "X", Email: "not-an-address"}, now)
	wantError(t, err, models.EInvalid, "email address")
	_, err = g.st.Book(ctx, guest(g, 1, "Too Late"), g.startsAt)
	wantError(t, err, models.EConflict, "started")
	_, err = g.st.Book(ctx, bookings.Request{OccurrenceID: uuid.New(), TicketTypeID: g.free, Quantity: 1, Name: "A", Email: "a@example.com"}, now)
	wantError(t, err, models.ENotFound, "")

	// A ticket type's own capacity, and its sale window.
	vip := g.mustTicketType(t, "VIP", 0, seats(2))
	if _, err := g.st.Book(ctx, bookings.Request{OccurrenceID: g.occurrence, TicketTypeID: vip, Quantity: 2, Name: "V", Email: "v@example.com"}, now); err != nil {
		t.Fatal(err)
	}
	_, err = g.st.Book(ctx, bookings.Request{OccurrenceID: g.occurrence, TicketTypeID: vip, Quantity: 1, Name: "W", Email: "w@example.com"}, now)
	wantError(t, err, models.EConflict, "Sold out.")
	if _, err := db.Exec(ctx, `UPDATE ticket_types SET sales_start = $2 WHERE id = $1`, g.free, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = g.st.Book(ctx, guest(g, 1, "Early Bird"), now)
	wantError(t, err, models.EConflict, "not on sale yet")
	if _, err := db.Exec(ctx, `UPDATE events SET status = 'cancelled' WHERE id = $1`, g.eventID); err != nil {
		t.Fatal(err)
	}
	_, err = g.st.Book(ctx, guest(g, 1, "Early Bird"), now.Add(2*time.Hour))
	wantError(t, err, models.EConflict, "cancelled")
	if got := g.taken(t); got != 2 {
		t.Fatalf("refused bookings took seats: taken %d", got)
	}
}

// The test: 100 bookers at once for 10 seats give exactly 10
// tickets; the 90 refused join the waitlist.
func TestHundredConcurrentBookersForTenSeats(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "rush", seats(10))
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		booked, waiting int
		unexpected      []error
	)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := guest(f, 1, fmt.Sprintf("Booker %d", i))
			_, err := f.st.Book(ctx, q, now)
			if models.Code(err) == models.EConflict && models.Message(err) == "Sold out." {
				_, err = f.st.JoinWaitlist(ctx, q, now)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					unexpected = append(unexpected, err)
				} else {
					waiting++
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				unexpected = append(unexpected, err)
			} else {
				booked++
			}
		}()
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected errors: %v", unexpected)
	}
	tickets := f.count(t, `SELECT count(*) FROM tickets t JOIN bookings b ON b.id = t.booking_id WHERE b.occurrence_id = $1 AND t.status = 'valid'`)
	entries := f.count(t, `SELECT count(*) FROM waitlist_entries WHERE occurrence_id = $1 AND status = 'waiting'`)
	if booked != 10 || waiting != 90 || tickets != 10 || entries != 90 || f.taken(t) != 10 {
		t.Fatalf("booked %d, waiting %d, tickets %d, entries %d, taken %d; want 10, 90, 10, 90, 10",
			booked, waiting, tickets, entries, f.taken(t))
	}
	var name string
	if err := db.QueryRow(ctx, `SELECT name FROM waitlist_entries WHERE occurrence_id = $1 LIMIT 1`, f.occurrence).Scan(&name); err != nil {
		t.Fatal(err)
	}
	_, err := f.st.JoinWaitlist(ctx, guest(f, 1, name), now)
	wantError(t, err, models.EConflict, "on the waitlist")
}

func TestCancelOffersTheSeatsToTheWaitlist(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "pottery", seats(2))
	f.st.OfferWindow = time.Hour
	var mailed []models.WaitlistEntry
	f.st.Offered = func(_ context.Context, offers []models.WaitlistEntry) { mailed = append(mailed, offers...) }

	ann, err := f.st.Book(ctx, guest(f, 2, "Ann Holder"), now)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Bob Waiting"), now)
	if err != nil {
		t.Fatal(err)
	}
	cy, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Cy Waiting"), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	dee, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Dee Waiting"), now.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.ClaimOffer(ctx, bob.ID, now); models.Code(err) != models.EConflict {
		t.Fatalf("claiming before an offer: %v", err)
	}

	offers, err := f.st.Cancel(ctx, ann.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(offers) != 2 || offers[0].ID != bob.ID || offers[1].ID != cy.ID || len(mailed) != 2 ||
		offers[0].Status != models.WaitlistOffered || !offers[0].OfferExpiresAt.Equal(now.Add(time.Hour)) ||
		offers[0].EventTitle != "Event pottery" || offers[0].Email != "bob.waiting@example.com" {
		t.Fatalf("offers %+v, mailed %d", offers, len(mailed))
	}
	cancelled, err := f.st.Booking(ctx, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.Status != models.BookingCancelled || cancelled.Tickets[0].Status != "cancelled" || cancelled.Tickets[1].Status != "cancelled" {
		t.Fatalf("cancelled booking %+v", cancelled)
	}
	// Two seats given back, two taken by the offers.
	if got := f.taken(t); got != 2 {
		t.Fatalf("taken %d", got)
	}
	// Cancelling again gives nothing back twice.
	if _, err := f.st.Cancel(ctx, ann.ID, now); models.Code(err) != models.EConflict {
		t.Fatalf("second cancel: %v", err)
	}
	if got := f.taken(t); got != 2 {
		t.Fatalf("taken %d after a second cancel", got)
	}
	// Nobody else books the offered seats.
	_, err = f.st.Book(ctx, guest(f, 1, "Eve Sneaky"), now)
	wantError(t, err, models.EConflict, "Sold out.")

	// Bob claims his; twice is the same booking.
	b, err := f.st.ClaimOffer(ctx, bob.ID, now.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != models.BookingConfirmed || len(b.Tickets) != 1 || b.Name != "Bob Waiting" {
		t.Fatalf("claimed %+v", b)
	}
	if again, err := f.st.ClaimOffer(ctx, bob.ID, now.Add(31*time.Minute)); err != nil || again.ID != b.ID {
		t.Fatalf("second claim %v, %v", again.ID, err)
	}
	// Cy lets hers lapse: the sweep gives it to Dee.
	late := now.Add(2 * time.Hour)
	_, err = f.st.ClaimOffer(ctx, cy.ID, late)
	wantError(t, err, models.EConflict, "expired")
	mailed = nil
	next, err := f.st.ExpireOffers(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	if len(next) != 1 || next[0].ID != dee.ID || len(mailed) != 1 || !next[0].OfferExpiresAt.Equal(late.Add(time.Hour)) {
		t.Fatalf("after the sweep: %+v", next)
	}
	if e, _ := f.st.WaitlistEntry(ctx, cy.ID); e.Status != models.WaitlistExpired {
		t.Fatalf("Cy's entry %s", e.Status)
	}
	if got := f.taken(t); got != 2 {
		t.Fatalf("taken %d after the sweep", got)
	}
	if again, err := f.st.ExpireOffers(ctx, late); err != nil || len(again) != 0 {
		t.Fatalf("second sweep %v, %v", again, err)
	}
	if _, err := f.st.ClaimOffer(ctx, dee.ID, late.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM tickets t JOIN bookings b ON b.id = t.booking_id WHERE b.occurrence_id = $1 AND t.status = 'valid'`); n != 2 {
		t.Fatalf("%d valid tickets, want 2", n)
	}

	// Leaving: a waiting entry just goes; an offered one passes its seats on.
	gil, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Gil Gone"), late)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.LeaveWaitlist(ctx, gil.ID, late); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.st.LeaveWaitlist(ctx, gil.ID, late), models.EConflict, "not on this waitlist")
	if e, _ := f.st.WaitlistEntry(ctx, gil.ID); e.Status != models.WaitlistLeft || f.taken(t) != 2 {
		t.Fatalf("Gil left: %s, taken %d", e.Status, f.taken(t))
	}

	// More seats: the next waiting are offered them.
	eve, err := f.st.JoinWaitlist(ctx, guest(f, 2, "Eve Later"), late)
	if err != nil {
		t.Fatal(err)
	}
	if offers, err := f.st.OfferSeats(ctx, f.occurrence, late); err != nil || len(offers) != 0 {
		t.Fatalf("offers with no free seat: %v, %v", offers, err)
	}
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET capacity = 4 WHERE id = $1`, f.occurrence); err != nil {
		t.Fatal(err)
	}
	if offers, err := f.st.OfferSeats(ctx, f.occurrence, late); err != nil || len(offers) != 1 || offers[0].ID != eve.ID || f.taken(t) != 4 {
		t.Fatalf("offers after adding seats: %v, %v, taken %d", offers, err, f.taken(t))
	}
	if err := f.st.LeaveWaitlist(ctx, eve.ID, late); err != nil || f.taken(t) != 2 {
		t.Fatalf("Eve leaves her offer: %v, taken %d", err, f.taken(t))
	}

	// Past the cutoff (120 minutes before the start), no cancelling.
	_, err = f.st.Cancel(ctx, b.ID, f.startsAt.Add(-119*time.Minute))
	wantError(t, err, models.EConflict, "too late")
	if _, err := f.st.Cancel(ctx, uuid.New(), now); models.Code(err) != models.ENotFound {
		t.Fatalf("unknown booking: %v", err)
	}
}

func TestRemoteJoinAndLeave(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	// Remote bookings use the real clock: an event two days from now.
	f := mustEvent(t, db, "fedi-meetup", seats(1))
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET starts_at = now() + interval '2 days', ends_at = now() + interval '3 days' WHERE id = $1`, f.occurrence); err != nil {
		t.Fatal(err)
	}
	actor, join := "https://mobilizon.example/@amy", "https://mobilizon.example/join/1"
	// inTx runs fn in a transaction as federation does, committed when it
	// succeeds.
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
	book := func(actor, join string) error {
		return inTx(func(tx pgx.Tx) error { return f.st.BookRemote(ctx, tx, f.occurrence, actor, join) })
	}
	leave := func(join string) error {
		return inTx(func(tx pgx.Tx) error { return f.st.CancelRemote(ctx, tx, join) })
	}
	if err := book(actor, join); err != nil {
		t.Fatal(err)
	}
	if err := book(actor, join); err != nil {
		t.Fatalf("the same Join again: %v", err)
	}
	list, err := f.st.BookingsOfOccurrence(ctx, f.occurrence)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].RemoteActor != actor || list[0].Quantity != 1 || list[0].Status != models.BookingConfirmed || f.taken(t) != 1 {
		t.Fatalf("remote bookings %+v", list)
	}
	wantError(t, book("https://mobilizon.example/@ben", "https://mobilizon.example/join/2"), models.EConflict, "Sold out.")
	if next, err := f.st.NextOccurrence(ctx, f.eventID, time.Now()); err != nil || next != f.occurrence {
		t.Fatalf("next occurrence %v, %v", next, err)
	}

	// Someone waits; the Leave offers them the seat.
	var mailed []models.WaitlistEntry
	f.st.Offered = func(_ context.Context, offers []models.WaitlistEntry) { mailed = append(mailed, offers...) }
	waiting, err := f.st.JoinWaitlist(ctx, guest(f, 1, "Wai Ting"), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := leave(join); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.st.Booking(ctx, list[0].ID); got.Status != models.BookingCancelled || f.taken(t) != 1 ||
		len(mailed) != 1 || mailed[0].ID != waiting.ID || mailed[0].Status != models.WaitlistOffered {
		t.Fatalf("after Leave: %s, taken %d, offers %+v", got.Status, f.taken(t), mailed)
	}
	wantError(t, leave(join), models.EConflict, "cancelled already")
	wantError(t, leave("https://mobilizon.example/join/unknown"), models.ENotFound, "")
	if f.taken(t) != 1 {
		t.Fatalf("taken %d", f.taken(t))
	}
}

func TestBookingsOfUserAndOccurrence(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "soon", nil)
	g := mustEvent(t, db, "later", nil)
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET starts_at = starts_at + interval '7 days', ends_at = ends_at + interval '7 days' WHERE id = $1`, g.occurrence); err != nil {
		t.Fatal(err)
	}
	ann := mustUser(t, db, "ann@example.com", "Ann")
	for _, x := range []fixture{g, f} {
		if _, err := x.st.Book(ctx, bookings.Request{OccurrenceID: x.occurrence, TicketTypeID: x.free, Quantity: 1, UserID: ann, Email: "ann@example.com", Name: "Ann"}, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.st.Book(ctx, guest(f, 3, "Other Person"), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	mine, err := f.st.BookingsOfUser(ctx, ann, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 2 || mine[0].EventSlug != "soon" || mine[1].EventSlug != "later" {
		t.Fatalf("Ann's bookings %+v", mine)
	}
	all, err := f.st.BookingsOfOccurrence(ctx, f.occurrence)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].UserID != ann || all[1].Quantity != 3 {
		t.Fatalf("occurrence's bookings %+v", all)
	}
}

// Federation's Join and Leave handling books through the store.
var _ agenda.Attendance = (*bookings.Store)(nil)
