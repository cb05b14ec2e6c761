package internal

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/bookings"
)

// A member's paid places (held for a cart order, then paid) can be
// cancelled by their holder until the cutoff, like free ones: the page
// says what was paid is refunded, the cancel gives the places back and
// leaves the booking for the cart's sweep to refund
// (bookings.HolderCancelledReason; the cart's tests refund it).
func TestPaidBookingCancelledByItsHolderAwaitsItsRefund(t *testing.T) {
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
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Ticket 2 of 2") || !strings.Contains(body, "Cancel and refund") ||
		!strings.Contains(body, "refunded to your card") {
		t.Fatalf("the paid booking's page does not offer to cancel and refund it: %d\n%s", res.StatusCode, body)
	}
	res, _ = d.do("POST", "/tickets/"+booking.String()+"/cancel", d.member.ID, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the holder's cancel of paid places answers %d", res.StatusCode)
	}
	var status, reason string
	if err := d.db.QueryRow(ctx, `SELECT status, cancel_reason FROM bookings WHERE id = $1`, booking).Scan(&status, &reason); err != nil ||
		status != models.BookingCancelled || reason != bookings.HolderCancelledReason {
		t.Fatalf("after the holder's cancel the booking is %q (%q, %v)", status, reason, err)
	}
	if n := d.count(`SELECT taken FROM event_occurrences`); n != 0 {
		t.Errorf("%d places taken after the cancel, want 0", n)
	}
}
