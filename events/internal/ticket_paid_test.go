package internal

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/bookings"
)

// A member's paid places (held for a cart order, then paid): their page
// shows the tickets and no Cancel button but says the organiser cancels
// them with a refund; a cancel posted anyway is refused with 409 and the
// places stay booked, none given back.
func TestPaidBookingIsNotCancelledByItsHolder(t *testing.T) {
	d := newBookingDesk(t, 10)
	ctx := context.Background()
	now := time.Now()
	var order uuid.UUID
	if err := d.db.QueryRow(ctx, `INSERT INTO orders (user_id, email, fulfilment, currency, subtotal_minor, total_minor, hold_until)
		VALUES ($1, $2, 'pickup', 'GBP', 3000, 3000, $3) RETURNING id`, d.member.ID, d.member.Email, now.Add(15*time.Minute)).Scan(&order); err != nil {
		t.Fatal(err)
	}
	store := bookings.New(d.db)
	var booking uuid.UUID
	if err := postgres.InTx(ctx, d.db, func(tx pgx.Tx) error {
		var err error
		booking, err = store.Hold(ctx, tx, bookings.Request{OccurrenceID: d.occurrence, TicketTypeID: d.paid, Quantity: 2,
			UserID: d.member.ID, Email: d.member.Email, Name: "Ann"}, order, now.Add(15*time.Minute), now)
		if err != nil {
			return err
		}
		return store.ConfirmHeld(ctx, tx, order, now)
	}); err != nil {
		t.Fatal(err)
	}

	res, body := d.do("GET", "/tickets/"+booking.String(), d.member.ID, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Ticket 2 of 2") {
		t.Fatalf("the paid booking's page: %d\n%s", res.StatusCode, body)
	}
	if strings.Contains(body, "/cancel\"") || !strings.Contains(body, "To cancel paid places, ask the organiser") {
		t.Errorf("the paid booking's page offers to cancel it, or does not say who does:\n%s", body)
	}

	res, body = d.do("POST", "/tickets/"+booking.String()+"/cancel", d.member.ID, nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Paid places are not cancelled here") {
		t.Errorf("a cancel of paid places answers %d:\n%s", res.StatusCode, body)
	}
	if n := d.count(`SELECT count(*) FROM bookings WHERE status = 'confirmed'`); n != 1 {
		t.Errorf("%d confirmed bookings after the refused cancel, want 1", n)
	}
	if n := d.count(`SELECT taken FROM event_occurrences`); n != 2 {
		t.Errorf("%d places taken after the refused cancel, want 2", n)
	}
}
