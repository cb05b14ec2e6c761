package internal

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/sumup"
)

const confirmed = "Payment confirmed for your Rose Ash "

// A shopper with two 340 g jars in the basket checks out: the form asks
// for the email (theirs, filled in), pickup or delivery and the terms;
// Pay sends them to SumUp's hosted page; they pay; SumUp sends them back
// and the order page says Paid, the basket is empty, the jars are taken
// from the stock, and one email confirms the payment with a link to the
// order.
func TestPaymentHappyPath(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	if r := b.post("/items", variantForm(s.large, "2")); r.status != http.StatusSeeOther {
		t.Fatalf("adding two jars = %d\n%s", r.status, r.body)
	}
	form := b.get("/checkout")
	mustContain(t, "the checkout form", form.body, `action="/checkout/pay"`, `value="ann@example.org"`, pickupPlace,
		"Deliver it (£3.50)", `name="terms"`, "Pay with SumUp")

	order, hosted := b.checkout()
	if got := s.stock(t, s.large); got != 0 {
		t.Fatalf("the order holds its two jars, yet %d of 2 are left", got)
	}
	page := b.get(hosted)
	mustContain(t, "SumUp's hosted page", page.body, "£14.50")
	back := b.payOnSumUp(hosted, sumup.StatusPaid, order)
	final := b.follow(back)
	if final.status != http.StatusOK || !isPaidPage(final.body) {
		t.Fatalf("after paying, the order page = %d, not saying Paid\n%s", final.status, final.body)
	}
	mustContain(t, "the paid order page", final.body, "Heather honey (340 g)", "£14.50", "Collect at "+pickupPlace)
	if strings.Contains(final.body, "Pay now") {
		t.Fatalf("a paid order offers to pay again\n%s", final.body)
	}
	if got := s.lines(t); len(got) != 0 {
		t.Fatalf("the basket after paying holds %+v", got)
	}
	s.waitWebhooks(t, 1) // the webhook came too, and changed nothing
	o := s.order(t, order)
	if o.Status != models.OrderPaid || paidAttempts(o) != 1 || eventsLike(o, "Payment confirmed") != 1 || o.Total != 1450 {
		t.Fatalf("order after paying: %s, %d paid attempts, %d confirmations, total %d", o.Status, paidAttempts(o),
			eventsLike(o, "Payment confirmed"), o.Total)
	}
	mails := s.mail.withSubject(confirmed)
	if len(mails) != 1 {
		t.Fatalf("%d confirmation emails, want 1", len(mails))
	}
	if m := mails[0]; m.To != "ann@example.org" || !strings.Contains(m.Text, "£14.50") ||
		!strings.Contains(m.Text, s.cart.URL+"/orders/"+order.String()+"?t=") {
		t.Fatalf("the confirmation email: to %s\n%s", m.To, m.Text)
	}
	if got := s.stock(t, s.large); got != 0 {
		t.Fatalf("a paid order gave its jars back: %d left", got)
	}
}

// The shopper is back before SumUp's webhook: the return asks SumUp and
// the order is paid then; the late webhook changes nothing and sends no
// second email.
func TestPaymentReturnBeforeTheWebhook(t *testing.T) {
	s := newPayShop(t)
	s.sb.DelayWebhooks(700 * time.Millisecond)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, hosted := b.checkout()
	final := b.follow(b.payOnSumUp(hosted, sumup.StatusPaid, order))
	if n := s.webhooks.Load(); n != 0 {
		t.Fatalf("%d webhooks arrived before the return: the delay did not hold", n)
	}
	if !isPaidPage(final.body) {
		t.Fatalf("the order page on return does not say Paid\n%s", final.body)
	}
	s.waitWebhooks(t, 1)
	o := s.order(t, order)
	if o.Status != models.OrderPaid || eventsLike(o, "Payment confirmed") != 1 || len(s.mail.withSubject(confirmed)) != 1 {
		t.Fatalf("after the late webhook: %s, %d confirmations, %d emails", o.Status, eventsLike(o, "Payment confirmed"),
			len(s.mail.withSubject(confirmed)))
	}
}

// SumUp's webhook is lost and the shopper never comes back: the sweep
// leaves a payment a minute old alone, then asks SumUp about it and the
// order is paid (basket emptied, one email); sweeping again changes
// nothing.
func TestPaymentReconciledBySweep(t *testing.T) {
	s := newPayShop(t)
	s.sb.DropWebhooks(true)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "3"))
	order, hosted := b.checkout()
	if err := s.sb.Pay(checkoutID(hosted), sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.payments.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if o := s.order(t, order); o.Status != models.OrderPendingPayment {
		t.Fatalf("the sweep asked about a payment under a minute old: %s", o.Status)
	}
	s.backdate(t, order)
	if err := s.payments.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	o := s.order(t, order)
	if o.Status != models.OrderPaid || len(s.mail.withSubject(confirmed)) != 1 || len(s.lines(t)) != 0 {
		t.Fatalf("after the sweep: %s, %d emails, basket %+v", o.Status, len(s.mail.withSubject(confirmed)), s.lines(t))
	}
	s.backdate(t, order)
	if err := s.payments.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if o := s.order(t, order); o.Status != models.OrderPaid || eventsLike(o, "Payment confirmed") != 1 || len(s.mail.withSubject(confirmed)) != 1 {
		t.Fatalf("a second sweep: %s, %d confirmations, %d emails", o.Status, eventsLike(o, "Payment confirmed"), len(s.mail.withSubject(confirmed)))
	}
	if s.webhooks.Load() != 0 {
		t.Fatalf("webhooks arrived though dropped")
	}
}

// Every webhook five times over, and out of order (the PAID ones before
// the FAILED ones of a declined card tried again): the order is paid
// once, with one email.
func TestPaymentDuplicatedAndReorderedWebhooks(t *testing.T) {
	s := newPayShop(t)
	s.sb.DuplicateWebhooks(5)
	s.sb.Reorder(true)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "2"))
	order, hosted := b.checkout()
	for _, outcome := range []string{sumup.StatusFailed, sumup.StatusPaid} {
		if err := s.sb.Pay(checkoutID(hosted), outcome); err != nil {
			t.Fatalf("%s: %v", outcome, err)
		}
	}
	s.sb.Reorder(false)
	s.waitWebhooks(t, 10)
	o := s.order(t, order)
	if o.Status != models.OrderPaid || paidAttempts(o) != 1 || eventsLike(o, "Payment confirmed") != 1 {
		t.Fatalf("after 10 webhooks: %s, %d paid attempts, %d confirmations", o.Status, paidAttempts(o), eventsLike(o, "Payment confirmed"))
	}
	if n := len(s.mail.withSubject(confirmed)); n != 1 {
		t.Fatalf("%d confirmation emails, want 1", n)
	}
}

// SumUp says PAID for another amount than the order's: the order is not
// paid, the basket is kept, no email; its history holds an ALERT.
func TestPaymentAmountMismatch(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, hosted := b.checkout()
	// The order's attempt now asks £1 more than the checkout SumUp holds.
	if _, err := s.db.Exec(context.Background(), `UPDATE payment_attempts SET amount_minor = amount_minor + 100 WHERE order_id = $1`, order); err != nil {
		t.Fatal(err)
	}
	final := b.follow(b.payOnSumUp(hosted, sumup.StatusPaid, order))
	s.waitWebhooks(t, 1)
	if isPaidPage(final.body) {
		t.Fatalf("an order paid for the wrong amount says Paid\n%s", final.body)
	}
	o := s.order(t, order)
	if o.Status != models.OrderPendingPayment || paidAttempts(o) != 0 || eventsLike(o, "ALERT") == 0 {
		t.Fatalf("mismatched payment: %s, %d paid attempts, %d alerts\n%+v", o.Status, paidAttempts(o), eventsLike(o, "ALERT"), o.Events)
	}
	if n := len(s.mail.withSubject(confirmed)); n != 0 || len(s.lines(t)) != 1 {
		t.Fatalf("mismatched payment: %d emails, basket %+v", n, s.lines(t))
	}
}

// A mismatched payment is one alert, however often its checkout is asked
// about: the return, the webhook and every sweep (once a minute, for two
// days) must not each add another to the order's history.
func TestPaymentMismatchAlertedOnce(t *testing.T) {
	s := newPayShop(t)
	s.sb.DropWebhooks(true)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, hosted := b.checkout()
	if _, err := s.db.Exec(context.Background(), `UPDATE payment_attempts SET amount_minor = amount_minor + 100 WHERE order_id = $1`, order); err != nil {
		t.Fatal(err)
	}
	b.follow(b.payOnSumUp(hosted, sumup.StatusPaid, order))
	for range 3 {
		s.backdate(t, order)
		if err := s.payments.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if o := s.order(t, order); eventsLike(o, "ALERT") != 1 {
		t.Fatalf("the return and three sweeps left %d ALERT entries in the order's history, want 1", eventsLike(o, "ALERT"))
	}
}

// A declined card: the order page says so and offers Pay now; a retry
// makes attempt 2 (reference order-<id>-2) with a new checkout; paying it
// pays the order once.
func TestPaymentRetryAfterAFailedAttempt(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, hosted := b.checkout()
	page := b.follow(b.payOnSumUp(hosted, sumup.StatusFailed, order))
	mustContain(t, "the order page after a declined card", page.body, "The payment did not go through", "Pay now",
		`action="/orders/`+order.String()+`/retry`, "Awaiting payment")
	r := b.post("/orders/"+order.String()+"/retry", url.Values{})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, s.sbSrv.URL+"/pay/") || r.location == hosted {
		t.Fatalf("retry = %d to %q, want 303 to a new hosted page\n%s", r.status, r.location, r.body)
	}
	cos := s.sb.Checkouts()
	if len(cos) != 2 || cos[1].Reference != "order-"+order.String()+"-2" || cos[1].ID != checkoutID(r.location) {
		t.Fatalf("SumUp's checkouts after a retry: %+v", cos)
	}
	final := b.follow(b.payOnSumUp(r.location, sumup.StatusPaid, order))
	if !isPaidPage(final.body) {
		t.Fatalf("the retried payment's order page does not say Paid\n%s", final.body)
	}
	s.waitWebhooks(t, 2)
	o := s.order(t, order)
	if len(o.Attempts) != 2 || o.Attempts[0].Status != models.AttemptFailed || o.Attempts[1].Status != models.AttemptPaid ||
		o.Attempts[1].Reference != "order-"+order.String()+"-2" {
		t.Fatalf("attempts: %+v", o.Attempts)
	}
	if o.Status != models.OrderPaid || eventsLike(o, "Payment confirmed") != 1 || len(s.mail.withSubject(confirmed)) != 1 {
		t.Fatalf("after the retry: %s, %d confirmations, %d emails", o.Status, eventsLike(o, "Payment confirmed"), len(s.mail.withSubject(confirmed)))
	}
	// Retrying a paid order is refused.
	if r := b.post("/orders/"+order.String()+"/retry", url.Values{}); r.status != http.StatusConflict {
		t.Fatalf("retrying a paid order = %d\n%s", r.status, r.body)
	}
}

// After a declined card and a retry, the shopper pays the second
// checkout, then the first (its tab still open: SumUp lets a FAILED
// checkout be paid with another card). They paid twice for one order:
// the second payment must be given back.
func TestPaymentOnADeclinedCheckoutAfterARetryIsRefunded(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, first := b.checkout()
	b.follow(b.payOnSumUp(first, sumup.StatusFailed, order))
	r := b.post("/orders/"+order.String()+"/retry", url.Values{})
	b.follow(b.payOnSumUp(r.location, sumup.StatusPaid, order))
	b.follow(b.payOnSumUp(first, sumup.StatusPaid, order)) // the old tab
	s.waitWebhooks(t, 3)
	var paid []sumup.Checkout
	for _, co := range s.sb.Checkouts() {
		if co.Status == sumup.StatusPaid {
			paid = append(paid, co)
		}
	}
	if len(paid) != 2 {
		t.Fatalf("SumUp holds %d paid checkouts, want the 2 the shopper paid", len(paid))
	}
	refunded := 0
	for _, co := range paid {
		tx, _ := co.PaidTransaction()
		refunded += len(s.sb.Refunds(tx.ID))
	}
	o := s.order(t, order)
	if refunded != 1 || o.Status != models.OrderPaid {
		t.Fatalf("the shopper paid twice for order %s (%s): %d of the payments refunded, want 1; attempts %+v",
			o.Name(), o.Status, refunded, o.Attempts)
	}
}

// The shopper pays the first checkout and, before SumUp's webhook says
// so, presses Pay now on the order page (the first checkout cannot be
// deactivated: it is paid) and pays the second. The order is paid, the
// second payment of it is refunded, and the order stays paid: the shop
// hands it over (it was paid once, net).
func TestPaymentTwoCheckoutsPaidTheOrderStaysPaid(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, first := b.checkout()
	s.sb.Reorder(true)
	if err := s.sb.Pay(checkoutID(first), sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	r := b.post("/orders/"+order.String()+"/retry", url.Values{})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, s.sbSrv.URL+"/pay/") {
		t.Fatalf("Pay now = %d to %q", r.status, r.location)
	}
	s.sb.Reorder(false) // nothing held yet but the first checkout's webhook
	b.follow(b.payOnSumUp(r.location, sumup.StatusPaid, order))
	s.waitWebhooks(t, 2)
	refunds := 0
	for _, co := range s.sb.Checkouts() {
		tx, _ := co.PaidTransaction()
		refunds += len(s.sb.Refunds(tx.ID))
	}
	o := s.order(t, order)
	if refunds != 1 || o.Status != models.OrderPaid || len(s.mail.withSubject(confirmed)) != 1 {
		t.Fatalf("two checkouts paid: %d refunded (want 1), the order is %q (want paid), %d confirmations\n%+v",
			refunds, o.Status, len(s.mail.withSubject(confirmed)), o.Events)
	}
}

// The shopper pays just as the order's hold runs out, and SumUp's
// webhook arrives after the sweep expired the order (a checkout the sweep
// deactivated first cannot be paid at all: the sandbox refuses it, as
// SumUp does). The payment is refunded in full, the order stays expired
// with its stock given back, and the shopper is told by email.
func TestPaymentAfterExpiryIsRefunded(t *testing.T) {
	s := newPayShop(t)
	ctx := context.Background()
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.large, "2"))
	order, hosted := b.checkout()
	s.sb.Reorder(true) // the webhook is held back
	if err := s.sb.Pay(checkoutID(hosted), sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE orders SET hold_until = now() - interval '1 minute' WHERE id = $1`, order); err != nil {
		t.Fatal(err)
	}
	if err := s.payments.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if o := s.order(t, order); o.Status != models.OrderExpired || s.stock(t, s.large) != 2 {
		t.Fatalf("after the hold ran out: %s, %d jars left (want expired, 2)", o.Status, s.stock(t, s.large))
	}
	s.sb.Reorder(false)
	s.waitWebhooks(t, 1)
	o := s.order(t, order)
	tx, _ := s.sb.Checkouts()[0].PaidTransaction()
	refunds := s.sb.Refunds(tx.ID)
	if len(refunds) != 1 || refunds[0] != (models.Money{Minor: 1450, Currency: "GBP"}) {
		t.Fatalf("refunds at SumUp: %+v, want one of £14.50", refunds)
	}
	if o.Status != models.OrderExpired || len(o.Attempts) != 1 || o.Attempts[0].Status != models.AttemptRefunded ||
		eventsLike(o, "A payment of £14.50 was given back") != 1 {
		t.Fatalf("the expired order after the late payment: %s, attempts %+v\n%+v", o.Status, o.Attempts, o.Events)
	}
	if n := len(s.mail.withSubject(confirmed)); n != 0 {
		t.Fatalf("%d confirmation emails for an order that expired", n)
	}
	mails := s.mail.withSubject("Your payment for Rose Ash ")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "in full") || !strings.Contains(mails[0].Text, "£14.50") {
		t.Fatalf("refund emails: %+v", mails)
	}
	if s.stock(t, s.large) != 2 {
		t.Fatalf("a late payment took the stock again: %d left", s.stock(t, s.large))
	}
	// Another webhook or sweep does not refund twice.
	s.backdate(t, order)
	if err := s.payments.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.sb.Refunds(tx.ID)); n != 1 {
		t.Fatalf("%d refunds after another sweep", n)
	}
}

// A double click on Pay: two requests with the form's one key at once
// make one order and one SumUp checkout, and both go to its hosted page.
func TestPaymentDoubleClickOnPay(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "2"))
	form := pickupForm(b.checkoutForm(), "ann@example.org")
	var wg sync.WaitGroup
	got := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, s.cart.URL+"/checkout/pay", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(testUserHeader, s.shopper.ID.String())
			resp, err := noRedirects.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got[i] = resp.Status + " " + resp.Header.Get("Location")
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got[0] != got[1] || !strings.HasPrefix(got[0], "303 See Other "+s.sbSrv.URL+"/pay/") {
		t.Fatalf("two clicks on Pay were answered %q and %q, want the same hosted page", got[0], got[1])
	}
	if n := s.countOrders(t); n != 1 {
		t.Fatalf("two clicks on Pay placed %d orders", n)
	}
	if cos := s.sb.Checkouts(); len(cos) != 1 {
		t.Fatalf("two clicks on Pay made %d SumUp checkouts", len(cos))
	}
	if left := s.stock(t, s.small); left != 8 {
		t.Fatalf("two clicks on Pay for 2 jars left %d of 10", left)
	}
}

// The checkout form without the terms, the email, a way to hand it over
// or a pickup place offered, or with an empty basket, is shown again
// (422) saying what to fix; no order is placed and no stock held.
func TestPaymentCheckoutRefusesBadInput(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "2"))
	key := b.checkoutForm()
	for _, c := range []struct {
		name   string
		change func(url.Values)
		want   string
	}{
		{"no terms", func(f url.Values) { f.Del("terms") }, "Accept the terms of sale to order."},
		{"no email", func(f url.Values) { f.Del("email") }, "Give an email address for the order"},
		{"a bad email", func(f url.Values) { f.Set("email", "ann at example") }, "Give an email address for the order"},
		{"no fulfilment", func(f url.Values) { f.Del("fulfilment") }, "Choose delivery or pickup."},
		{"a pickup place not offered", func(f url.Values) { f.Set("pickup_place", "The moon") }, "Choose one of the pickup places offered."},
		{"delivery without an address", func(f url.Values) { f.Set("fulfilment", "delivery") }, "Give the delivery address"},
	} {
		f := pickupForm(key, "ann@example.org")
		c.change(f)
		r := b.post("/checkout/pay", f)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, c.want) || !strings.Contains(r.body, `action="/checkout/pay"`) {
			t.Errorf("%s: %d, want 422 saying %q\n%s", c.name, r.status, c.want, r.body)
		}
	}
	// Bob's basket is empty: the form sends him to it; a submitted one is refused.
	bob := s.payer(t, &s.other)
	if r := bob.get("/checkout"); r.status != http.StatusSeeOther || r.location != "/" {
		t.Errorf("the checkout of an empty basket = %d to %q", r.status, r.location)
	}
	if r := bob.post("/checkout/pay", pickupForm("k", "bob@example.org")); r.status != http.StatusSeeOther && r.status != http.StatusUnprocessableEntity {
		t.Errorf("paying for an empty basket = %d\n%s", r.status, r.body)
	}
	if n := s.countOrders(t); n != 0 {
		t.Fatalf("bad checkouts placed %d orders", n)
	}
	if left := s.stock(t, s.small); left != 10 {
		t.Fatalf("bad checkouts held stock: %d of 10 left", left)
	}
	if len(s.sb.Checkouts()) != 0 {
		t.Fatalf("bad checkouts made SumUp checkouts")
	}
}

// SumUp is down when the shopper pays: the order page says the payment
// service is unavailable, the items stay held, and once SumUp is back
// Pay now takes them to its hosted page and the order is paid.
func TestPaymentWhenSumUpIsDown(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.large, "1"))
	s.sumUpDown()
	r := b.post("/checkout/pay", pickupForm(b.checkoutForm(), "ann@example.org"))
	if r.status != http.StatusSeeOther || !strings.Contains(r.location, "?problem=unavailable") {
		t.Fatalf("paying with SumUp down = %d to %q\n%s", r.status, r.location, r.body)
	}
	page := b.get(r.location)
	mustContain(t, "the order page with SumUp down", page.body, "The payment service is unavailable just now", "Pay now", "Awaiting payment")
	if left := s.stock(t, s.large); left != 1 {
		t.Fatalf("with SumUp down the order holds no jar: %d of 2 left", left)
	}
	u, err := url.Parse(r.location)
	if err != nil {
		t.Fatal(err)
	}
	order, err := uuid.Parse(strings.TrimPrefix(u.Path, "/orders/"))
	if err != nil {
		t.Fatal(err)
	}
	s.sumUpUp(t)
	retry := b.post("/orders/"+order.String()+"/retry", url.Values{})
	if retry.status != http.StatusSeeOther || !strings.HasPrefix(retry.location, s.sbSrv.URL+"/pay/") {
		t.Fatalf("Pay now with SumUp back = %d to %q\n%s", retry.status, retry.location, retry.body)
	}
	if !isPaidPage(b.follow(b.payOnSumUp(retry.location, sumup.StatusPaid, order)).body) {
		t.Fatal("the order paid once SumUp was back does not say Paid")
	}
	if o := s.order(t, order); len(o.Attempts) != 1 || o.Attempts[0].Reference != "order-"+order.String()+"-1" || o.Status != models.OrderPaid {
		t.Fatalf("order after SumUp came back: %s, attempts %+v", o.Status, o.Attempts)
	}
}

// Someone else's order is not found, whatever its address: the page, the
// return from SumUp and Pay now; SumUp's webhook for a checkout that is
// not ours is answered 200 (or SumUp would retry it), a malformed one 400.
func TestPaymentRefusesOthersAndBadWebhooks(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, _ := b.checkout()
	bob := s.payer(t, &s.other)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/orders/" + order.String()},
		{http.MethodGet, "/orders/" + order.String() + "/return"},
		{http.MethodPost, "/orders/" + order.String() + "/retry"},
		{http.MethodGet, "/orders/" + uuid.NewString() + "/return"},
		{http.MethodGet, "/orders/not-an-order"},
	} {
		if r := bob.do(c.method, c.path, url.Values{}); r.status != http.StatusNotFound {
			t.Errorf("bob: %s %s = %d, want 404\n%s", c.method, c.path, r.status, r.body)
		}
	}
	if o := s.order(t, order); len(o.Attempts) != 1 || o.Attempts[0].Status != models.AttemptPending {
		t.Fatalf("bob's requests changed ann's order: %+v", o.Attempts)
	}
	// Ann's return address, its order id changed to bob's: not found.
	bob.post("/items", variantForm(s.large, "1"))
	bobs, _ := bob.checkout()
	if r := b.get("/orders/" + bobs.String() + "/return?t=" + s.payments.token(order)); r.status != http.StatusNotFound {
		t.Errorf("ann's return address with bob's order = %d, want 404\n%s", r.status, r.body)
	}
	hook := func(body string) int {
		resp, err := http.Post(s.cart.URL+"/payments/sumup/webhook", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := hook(`{"event_type":"CHECKOUT_STATUS_CHANGED","id":"` + uuid.NewString() + `"}`); got != http.StatusOK {
		t.Errorf("a webhook for an unknown checkout = %d, want 200", got)
	}
	for _, body := range []string{`{"event_type":`, `not json`, `{"event_type":"CHECKOUT_STATUS_CHANGED"}`, ``} {
		if got := hook(body); got != http.StatusBadRequest {
			t.Errorf("the webhook %q = %d, want 400", body, got)
		}
	}
}

// A guest (signed out) cannot see an order; the link in its email, with
// its signed token, shows it; a wrong token does not.
func TestPaymentGuestSeesAnOrderOnlyWithItsLink(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, hosted := b.checkout()
	b.follow(b.payOnSumUp(hosted, sumup.StatusPaid, order))
	s.waitWebhooks(t, 1)
	guest := s.payer(t, nil)
	if r := guest.get("/orders/" + order.String()); r.status != http.StatusNotFound || isPaidPage(r.body) {
		t.Fatalf("a guest without the link: %d\n%s", r.status, r.body)
	}
	mails := s.mail.withSubject(confirmed)
	if len(mails) != 1 {
		t.Fatalf("%d confirmation emails", len(mails))
	}
	link := regexp.MustCompile(`http://\S+/orders/\S+\?t=[A-Za-z0-9_-]+`).FindString(mails[0].Text)
	if link == "" {
		t.Fatalf("no order link in the email:\n%s", mails[0].Text)
	}
	if r := guest.get(link); r.status != http.StatusOK || !isPaidPage(r.body) {
		t.Fatalf("a guest with the email's link: %d\n%s", r.status, r.body)
	}
	if r := guest.get(link[:len(link)-2] + "xx"); r.status != http.StatusNotFound {
		t.Fatalf("a guest with a wrong token: %d", r.status)
	}
}

// A declined card, then another card on the same SumUp page (a declined
// checkout can still be paid), but the shopper closes the tab and the
// webhook is lost: the sweep asks SumUp about the declined attempt too,
// and the order is paid.
func TestPaymentDeclinedThenPaidIsReconciledBySweep(t *testing.T) {
	s := newPayShop(t)
	b := s.payer(t, &s.shopper)
	b.post("/items", variantForm(s.small, "1"))
	order, hosted := b.checkout()
	b.follow(b.payOnSumUp(hosted, sumup.StatusFailed, order))
	s.waitWebhooks(t, 1)
	s.sb.DropWebhooks(true)
	if err := s.sb.Pay(checkoutID(hosted), sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	s.backdate(t, order)
	if err := s.payments.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := s.order(t, order); o.Status != models.OrderPaid || len(s.mail.withSubject(confirmed)) != 1 {
		t.Fatalf("SumUp took the payment, the sweep ran, yet the order is %q with %d confirmations; attempts %+v",
			o.Status, len(s.mail.withSubject(confirmed)), o.Attempts)
	}
}
