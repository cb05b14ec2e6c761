package internal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
)

// paidTickets has ann buy n places of e (and a jar of honey with them
// when withJar) through the cart and pay on SumUp; it returns the order,
// paid, its booking confirmed.
func (s *payShop) paidTickets(t *testing.T, e paidEvent, n string, withJar bool) models.Order {
	t.Helper()
	ann := s.payer(t, &s.shopper)
	if r := ann.post("/items", e.form(n)); r.status != http.StatusSeeOther {
		t.Fatalf("adding tickets = %d\n%s", r.status, r.body)
	}
	form := ticketsOnlyForm(ann.checkoutForm(), s.shopper.Email)
	if withJar {
		ann.post("/items", variantForm(s.large, "1"))
		form = pickupForm(ann.checkoutForm(), s.shopper.Email)
	}
	r := ann.post("/checkout/pay", form)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, s.sbSrv.URL+"/pay/") {
		t.Fatalf("POST /checkout/pay = %d to %q\n%s", r.status, r.location, r.body)
	}
	order := s.orderOf(t, r.location)
	ann.payOnSumUp(r.location, "PAID", order)
	s.waitWebhooks(t, 1)
	if status, _ := s.bookingOf(t, order); status != models.BookingConfirmed {
		t.Fatalf("after paying, the booking is %s", status)
	}
	return s.order(t, order)
}

// cancelEvent cancels e's event and its date as the events service does:
// in one transaction with bookings.CancelForEvent.
func (s *payShop) cancelEvent(t *testing.T, e paidEvent) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var event uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT event_id FROM event_occurrences WHERE id = $1`, e.occurrence).Scan(&event); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE events SET status = 'cancelled', cancel_reason = 'The hall is flooded.' WHERE id = $1`, event); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE event_occurrences SET status = 'cancelled' WHERE event_id = $1`, event); err != nil {
			return err
		}
		_, err := s.orders.Bookings.CancelForEvent(ctx, tx, event, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sumUpRefunds are the refunds SumUp made of the order's payment.
func (s *payShop) sumUpRefunds(t *testing.T, o models.Order) []models.Money {
	t.Helper()
	for _, a := range o.Attempts {
		if a.Status == models.AttemptPaid {
			return s.sb.Refunds(a.TransactionID)
		}
	}
	t.Fatalf("order %s has no paid attempt", o.Name())
	return nil
}

func (s *payShop) sweep(t *testing.T) {
	t.Helper()
	if err := s.payments.Sweep(context.Background()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
}

// Cancelling an event with a paid booking: the next sweep refunds the
// ticket line's price times its places (the price paid, not the ticket
// type's price now, and not the jar bought with it) once, records it on
// the order and emails the shopper; another sweep refunds nothing.
func TestCancelledEventsPaidTicketsAreRefundedOnce(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 10)
	o := s.paidTickets(t, e, "2", true) // 2 x £12.50 and a jar
	if _, err := s.db.Exec(context.Background(), `UPDATE ticket_types SET price_minor = 2000 WHERE id = $1`, e.ticketType); err != nil {
		t.Fatal(err)
	}
	s.sweep(t)
	if got := s.sumUpRefunds(t, o); len(got) != 0 {
		t.Fatalf("refunds before the event was cancelled: %v", got)
	}

	s.cancelEvent(t, e)
	s.sweep(t)
	want := models.Money{Minor: 2500, Currency: "GBP"}
	if got := s.sumUpRefunds(t, o); len(got) != 1 || got[0] != want {
		t.Fatalf("SumUp's refunds after the sweep = %v, want one of £25.00", got)
	}
	after := s.order(t, o.ID)
	if after.Status != models.OrderPartiallyRefunded || after.Refunded != 2500 || len(after.Refunds) != 1 ||
		!strings.Contains(after.Refunds[0].Reason, "the event was cancelled") || eventsLike(after, "Refunded £25.00") != 1 {
		t.Fatalf("the order after the sweep: %s, refunded %d, refunds %+v", after.Status, after.Refunded, after.Refunds)
	}
	mails := s.mail.withSubject("Your Rose Ash " + o.Name() + ": refund of £25.00")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "was cancelled") || !strings.Contains(mails[0].Text, "2 places") {
		t.Fatalf("refund emails = %+v, want one saying the event was cancelled", mails)
	}

	s.sweep(t)
	if got := s.sumUpRefunds(t, o); len(got) != 1 {
		t.Fatalf("SumUp's refunds after a second sweep = %v, want the first only", got)
	}
	if n := len(s.mail.withSubject("Your Rose Ash " + o.Name() + ": refund")); n != 1 {
		t.Fatalf("%d refund emails after a second sweep, want 1", n)
	}
	if after := s.order(t, o.ID); after.Refunded != 2500 || len(after.Refunds) != 1 {
		t.Fatalf("after a second sweep: refunded %d, %d refunds", after.Refunded, len(after.Refunds))
	}
}

// SumUp away during the sweep: nothing is recorded, the order stays paid;
// the next sweep, SumUp back, refunds it once.
func TestCancelledEventsRefundWaitsForSumUp(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 10)
	o := s.paidTickets(t, e, "1", false)
	s.cancelEvent(t, e)

	s.sumUpDown()
	s.sweep(t)
	s.sumUpUp(t)
	var rows int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM order_refunds WHERE order_id = $1`, o.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if after := s.order(t, o.ID); rows != 0 || after.Status != models.OrderPaid || after.Refunded != 0 || len(s.sumUpRefunds(t, o)) != 0 {
		t.Fatalf("with SumUp away: %d refunds recorded, %s, refunded %d", rows, after.Status, after.Refunded)
	}
	if n := len(s.mail.withSubject("Your Rose Ash " + o.Name() + ": refund")); n != 0 {
		t.Fatalf("%d refund emails with SumUp away", n)
	}

	s.sweep(t)
	s.sweep(t)
	if got := s.sumUpRefunds(t, o); len(got) != 1 || got[0].Minor != 1250 {
		t.Fatalf("SumUp's refunds once back = %v, want one of £12.50", got)
	}
	if after := s.order(t, o.ID); after.Status != models.OrderRefunded || after.Refunded != 1250 {
		t.Fatalf("once SumUp is back: %s, refunded %d", after.Status, after.Refunded)
	}
}

// A refund that stops after SumUp gave the money and before it was
// recorded as given (here: its context ends right after) is never asked
// of SumUp again: the pending record keeps the booking from the sweep.
func TestCancelledEventsRefundStoppedMidwayIsNotRepeated(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 10)
	o := s.paidTickets(t, e, "1", false)
	s.cancelEvent(t, e)
	due, err := s.orders.BookingRefundsDue(context.Background(), 10)
	if err != nil || len(due) != 1 || due[0].Amount != 1250 || due[0].OrderID != o.ID {
		t.Fatalf("refunds due = %+v, %v; want the booking's £12.50", due, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	_, _, err = s.orders.RefundBooking(ctx, due[0], "test", func(ctx context.Context, o models.Order, at models.PaymentAttempt, amount int64) error {
		m := o.Money(amount)
		err := s.payments.SumUp.Refund(ctx, at.TransactionID, &m)
		stop() // the process dies before the refund is recorded as given
		return err
	})
	if models.Code(err) != models.EInternal {
		t.Fatalf("a refund stopped mid-way = %v, want an internal error", err)
	}
	s.sweep(t)
	s.sweep(t)
	if got := s.sumUpRefunds(t, o); len(got) != 1 {
		t.Fatalf("SumUp's refunds = %v, want the one given before the stop only", got)
	}
	if n, err := s.orders.StuckBookingRefunds(context.Background(), time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("stuck refunds = %d, %v; want 1 for an admin to check", n, err)
	}
}

// An admin's partial refund of a ticket order leaves its tickets valid;
// the refund of what is left (the order refunded in full) cancels them
// and gives their places back.
func TestAdminFullRefundCancelsTickets(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 10)
	o := s.paidTickets(t, e, "2", false) // £25.00
	admin := models.User{Email: "ada@example.org", DisplayName: "Ada", IsAdmin: true}
	if err := s.db.QueryRow(context.Background(), `INSERT INTO users (email, username, display_name, is_admin) VALUES ($1, 'ada', 'Ada', true) RETURNING id`,
		admin.Email).Scan(&admin.ID); err != nil {
		t.Fatal(err)
	}
	s.users[admin.ID] = admin
	ada := s.payer(t, &admin)
	path := "/admin/orders/" + o.ID.String()

	if r := ada.post(path+"/refund", url.Values{"amount": {"5"}, "reason": {"Late start"}}); r.status != http.StatusSeeOther {
		t.Fatalf("partial refund = %d\n%s", r.status, r.body)
	}
	if status, n := s.bookingOf(t, o.ID); status != models.BookingConfirmed || n != 2 || s.taken(t, e) != 2 {
		t.Fatalf("after a partial refund the booking is %s with %d tickets, %d places taken; want confirmed, 2, 2", status, n, s.taken(t, e))
	}

	if r := ada.post(path+"/refund", url.Values{"amount": {"20.00"}, "reason": {"Cannot come"}}); r.status != http.StatusSeeOther {
		t.Fatalf("refund of the rest = %d\n%s", r.status, r.body)
	}
	var valid int
	if err := s.db.QueryRow(context.Background(), `
		SELECT count(*) FROM tickets k JOIN bookings b ON b.id = k.booking_id WHERE b.order_id = $1 AND k.status = 'valid'`, o.ID).Scan(&valid); err != nil {
		t.Fatal(err)
	}
	var reason string
	if err := s.db.QueryRow(context.Background(), `SELECT cancel_reason FROM bookings WHERE order_id = $1`, o.ID).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	status, _ := s.bookingOf(t, o.ID)
	if status != models.BookingCancelled || reason != bookings.OrderRefundedReason || valid != 0 || s.taken(t, e) != 0 {
		t.Fatalf("after the full refund the booking is %s with %d valid tickets, %d places taken; want cancelled, 0, 0", status, valid, s.taken(t, e))
	}
	after := s.order(t, o.ID)
	if after.Status != models.OrderRefunded || eventsLike(after, "tickets are cancelled") != 1 {
		t.Fatalf("the order after the full refund: %s\n%+v", after.Status, after.Events)
	}
	if got := s.sumUpRefunds(t, o); len(got) != 2 || got[0].Minor != 500 || got[1].Minor != 2000 {
		t.Fatalf("SumUp's refunds = %v, want £5.00 then £20.00", got)
	}
	mails := s.mail.withSubject("Your Rose Ash " + o.Name() + ": refund of £20.00")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "tickets are cancelled") {
		t.Fatalf("the full refund's emails = %+v, want one saying the tickets are cancelled", mails)
	}
	// The event's own cancellation later refunds nothing more.
	s.cancelEvent(t, e)
	s.sweep(t)
	if got := s.sumUpRefunds(t, o); len(got) != 2 {
		t.Fatalf("SumUp's refunds after the event's cancellation = %v, want no more", got)
	}
}

// A holder who cancels their paid places before the cutoff (on the events
// ticket page, bookings.Store.Cancel) is refunded by the next sweep, once,
// what those places cost, and told they cancelled them.
func TestPlacesCancelledByTheirHolderAreRefundedOnce(t *testing.T) {
	s := newPayShop(t)
	e := s.mustPaidEvent(t, 10)
	o := s.paidTickets(t, e, "2", true) // 2 x £12.50 and a jar
	ctx := context.Background()
	var booking uuid.UUID
	if err := s.db.QueryRow(ctx, `SELECT id FROM bookings WHERE order_id = $1`, o.ID).Scan(&booking); err != nil {
		t.Fatal(err)
	}
	if _, err := s.orders.Bookings.Cancel(ctx, booking, time.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s.sweep(t)
	}
	want := models.Money{Minor: 2500, Currency: "GBP"}
	if got := s.sumUpRefunds(t, o); len(got) != 1 || got[0] != want {
		t.Fatalf("SumUp's refunds after two sweeps = %v, want one of £25.00", got)
	}
	after := s.order(t, o.ID)
	if after.Status != models.OrderPartiallyRefunded || after.Refunded != 2500 || len(after.Refunds) != 1 ||
		!strings.Contains(after.Refunds[0].Reason, "cancelled by the shopper") {
		t.Fatalf("the order after the sweeps: %s, refunded %d, refunds %+v", after.Status, after.Refunded, after.Refunds)
	}
	mails := s.mail.withSubject("Your Rose Ash " + o.Name() + ": refund of £25.00")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "You cancelled your 2 places") {
		t.Fatalf("refund emails = %+v, want one saying the shopper cancelled", mails)
	}
}
