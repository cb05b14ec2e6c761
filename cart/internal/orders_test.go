package internal

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/sumup"
)

// A signed-in shopper finds their orders from the basket ("Your orders"),
// each linked with its state; another shopper's list does not show them.
func TestMyOrdersListsOnlyTheShoppersOwn(t *testing.T) {
	s := newPayShop(t)
	ann := s.payer(t, &s.shopper)
	if r := ann.post("/items", variantForm(s.large, "1")); r.status != http.StatusSeeOther {
		t.Fatalf("adding a jar = %d\n%s", r.status, r.body)
	}
	if home := ann.get("/"); !strings.Contains(home.body, `href="/orders"`) {
		t.Errorf("the basket page does not link the shopper's orders:\n%s", home.body)
	}
	order, _ := ann.checkout()
	list := ann.get("/orders")
	if list.status != http.StatusOK || !strings.Contains(list.body, "/orders/"+order.String()) || !strings.Contains(list.body, "Awaiting payment") {
		t.Errorf("ann's orders = %d, want her order awaiting payment:\n%s", list.status, list.body)
	}
	bob := s.payer(t, &s.other).get("/orders")
	if strings.Contains(bob.body, order.String()) || !strings.Contains(bob.body, "No orders yet.") {
		t.Errorf("bob's orders show ann's:\n%s", bob.body)
	}
	if r := s.payer(t, nil).get("/orders"); r.status != http.StatusSeeOther {
		t.Errorf("a visitor's /orders = %d, want a redirect to sign in", r.status)
	}
}

// A late payment whose automatic refund did not happen when it was
// settled (SumUp unreachable for the refund, say) is given back by the
// sweep, once.
func TestSweepRefundsALatePaymentLeftUnrefunded(t *testing.T) {
	s := newPayShop(t)
	ctx := context.Background()
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.large, "2"))
	order, hosted := b.checkout()
	s.sb.DropWebhooks(true)
	if err := s.sb.Pay(checkoutID(hosted), sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE orders SET hold_until = now() - interval '1 minute' WHERE id = $1`, order); err != nil {
		t.Fatal(err)
	}
	if _, err := s.payments.Orders.ExpireHolds(ctx, time.Now(), 10); err != nil {
		t.Fatal(err)
	}
	// Settled without the refund that should follow.
	co := s.sb.Checkouts()[0]
	tx, _ := co.PaidTransaction()
	out, _, err := s.payments.Orders.Settle(ctx, orders.Checked{CheckoutID: co.ID, Status: "PAID", Amount: co.Amount,
		MerchantCode: co.MerchantCode, TransactionID: tx.ID}, s.payments.SumUp.MerchantCode())
	if err != nil || out != orders.RefundDue {
		t.Fatalf("settle: %v %v", out, err)
	}
	s.backdate(t, order)
	for range 2 {
		if err := s.payments.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	o := s.order(t, order)
	if refunds := s.sb.Refunds(tx.ID); len(refunds) != 1 || o.Attempts[0].Status != models.AttemptRefunded || o.Status != models.OrderExpired {
		t.Fatalf("after two sweeps: %d refunds at SumUp (want 1), attempt %s, order %s", len(refunds), o.Attempts[0].Status, o.Status)
	}
	if mails := s.mail.withSubject("Your payment for Rose Ash "); len(mails) != 1 {
		t.Errorf("%d refund emails, want 1", len(mails))
	}
}
