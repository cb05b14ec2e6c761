package internal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/sumup"
	"rose-ash.com/platform/shared/web"
)

// Payments is the cart's checkout and payment flow: the checkout form, the
// order it places, the SumUp checkout the shopper pays on, and the three
// paths by which a payment is confirmed (the browser's return, SumUp's
// webhook and the reconciler), each verified by a GET of the checkout.
type Payments struct {
	Site   *web.Site
	Orders *orders.Store
	// SumUp is nil when online payments are not configured.
	SumUp *sumup.Client
	Mail  mail.Sender
	// Baskets are the shoppers' baskets a checkout orders (the carts
	// store).
	Baskets Baskets
	// StockChanged runs after orders took or gave back stock: the
	// market's cached pages, which show it, are dropped.
	StockChanged func(ctx context.Context)
	// Secret signs the links to orders sent to guests.
	Secret []byte
	// Kept are the kept basket pages: the shopper's return from paying
	// starts a new generation, as the payment emptied the basket (nil:
	// none kept).
	Kept *KeptBaskets
}

// Baskets is what checkout needs of the carts store: a basket's lines, to
// empty a guest's once its order is placed, and to drop idle guest
// baskets (the sweep).
type Baskets interface {
	BasketLines(ctx context.Context, owner models.CartOwner) ([]models.CartLine, error)
	Empty(ctx context.Context, owner models.CartOwner) error
	DeleteIdleGuestCarts(ctx context.Context, before time.Time) (int64, error)
}

// lines returns the owner's basket as order lines: variants, and event
// tickets (a line from before variants, whose reference is neither a
// variant id nor a ticket's, cannot be ordered).
func (p *Payments) lines(ctx context.Context, owner models.CartOwner) ([]orders.LineInput, error) {
	lines, err := p.Baskets.BasketLines(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]orders.LineInput, 0, len(lines))
	for _, l := range lines {
		if t, ok := calendars.ParseTicketRef(l.ProductRef); ok {
			out = append(out, orders.LineInput{Ticket: t, Quantity: l.Quantity})
		} else if id, err := uuid.Parse(l.ProductRef); err == nil {
			out = append(out, orders.LineInput{VariantID: id, Quantity: l.Quantity})
		}
	}
	return out, nil
}

// errPaymentsOff answers a checkout when SumUp is not configured.
var errPaymentsOff = models.Errorf(models.EUnavailable, "Online payment is not available just now: try again later.")

// toCheckout answers the basket's Checkout button with the checkout form.
func (p *Payments) toCheckout(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/checkout", http.StatusSeeOther)
}

// checkoutForm shows the checkout: contact email (prefilled), delivery or
// pickup, the address, the order summary, the terms, and Pay.
func (p *Payments) checkoutForm(w http.ResponseWriter, r *http.Request) {
	p.renderCheckout(w, r, http.StatusOK, checkoutValues{Fulfilment: models.FulfilPickup}, "")
}

// checkoutValues are the checkout form's fields, kept when it is shown
// again with a problem.
type checkoutValues struct {
	Email, Fulfilment, PickupPlace string
	Address                        models.Address
	Terms                          bool
}

// owner is whose basket the request checks out: the signed-in user's, or
// the guest's of the basket cookie; false when there is neither.
func (p *Payments) owner(r *http.Request) (models.CartOwner, models.User, bool) {
	if user, ok := web.Viewer(r.Context()); ok {
		return models.UserCart(user.ID), user, true
	}
	if key, ok := newGuestCookie(p.Site).key(r); ok {
		return models.GuestCart(key), models.User{}, true
	}
	return models.CartOwner{}, models.User{}, false
}

func (p *Payments) renderCheckout(w http.ResponseWriter, r *http.Request, status int, v checkoutValues, problem string) {
	ctx := r.Context()
	owner, user, ok := p.owner(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	lines, err := p.lines(ctx, owner)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	if len(lines) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	ids := make([]uuid.UUID, 0, len(lines))
	for _, l := range lines {
		if !l.IsTicket() {
			ids = append(ids, l.VariantID)
		}
	}
	fee, places, err := p.Orders.Handover(ctx, ids)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	if v.Email == "" {
		v.Email = user.Email
	}
	if v.PickupPlace == "" && len(places) > 0 {
		v.PickupPlace = places[0]
	}
	if len(places) == 0 {
		v.Fulfilment = models.FulfilDelivery
	}
	view := checkoutView{Values: v, Places: places, Fee: fee, Key: newKey(), Problem: problem, OnlyTickets: len(ids) == 0}
	p.Site.Render(w, r, status, CheckoutPage(p.Site.Page(r, "Checkout"), view))
}

// checkoutView is what the checkout page shows.
type checkoutView struct {
	Values  checkoutValues
	Places  []string
	Fee     int64
	Key     string
	Problem string
	// OnlyTickets marks a basket of event tickets alone: nothing to
	// deliver or collect, so no such question.
	OnlyTickets bool
}

func newKey() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pay places the order of the checkout form (its stock held), creates its
// SumUp checkout and sends the shopper to SumUp's hosted page. The form's
// one-time key makes a second submission (double click, another tab, the
// back button) land on the same order and checkout.
func (p *Payments) pay(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	owner, user, ok := p.owner(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	v := checkoutValues{Email: r.PostFormValue("email"), Fulfilment: r.PostFormValue("fulfilment"),
		PickupPlace: r.PostFormValue("pickup_place"), Terms: r.PostFormValue("terms") != "",
		Address: models.Address{Name: r.PostFormValue("name"), Line1: r.PostFormValue("line1"), Line2: r.PostFormValue("line2"),
			City: r.PostFormValue("city"), Postcode: r.PostFormValue("postcode"), Country: r.PostFormValue("country")}}
	if p.SumUp == nil {
		p.renderCheckout(w, r, http.StatusServiceUnavailable, v, models.Message(errPaymentsOff))
		return
	}
	lines, err := p.lines(ctx, owner)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	var name string
	if user.ID != uuid.Nil {
		name = user.Name()
	}
	o, at, err := p.Orders.Place(ctx, orders.PlaceInput{UserID: user.ID, Name: name, Email: v.Email, Fulfilment: v.Fulfilment,
		PickupPlace: v.PickupPlace, Address: v.Address, AcceptTerms: v.Terms, Lines: lines,
		Key: strings.TrimSpace(r.PostFormValue("key"))})
	switch models.Code(err) {
	case "":
	case models.EInvalid, models.EConflict, models.ENotFound:
		p.renderCheckout(w, r, http.StatusUnprocessableEntity, v, models.Message(err))
		return
	default:
		p.Site.Error(w, r, err)
		return
	}
	if p.StockChanged != nil {
		p.StockChanged(ctx)
	}
	if owner.IsGuest() {
		// A guest's order is theirs through its signed link, and their
		// basket has become this order.
		if err := p.Baskets.Empty(ctx, owner); err != nil {
			p.Site.Logger.WarnContext(ctx, "guest basket not emptied", "order", o.Number, "error", err)
		}
	}
	if at.Status != models.AttemptPending {
		http.Redirect(w, r, p.orderLink(o.ID, owner.IsGuest()), http.StatusSeeOther) // settled before: show it
		return
	}
	p.toSumUp(w, r, o, at)
}

// toSumUp sends the shopper to the hosted page of the attempt's checkout,
// creating it unless it exists; SumUp unavailable shows the order with a
// button to try again (its stock stays held).
func (p *Payments) toSumUp(w http.ResponseWriter, r *http.Request, o models.Order, at models.PaymentAttempt) {
	ctx := r.Context()
	if at.HostedURL != "" {
		http.Redirect(w, r, at.HostedURL, http.StatusSeeOther)
		return
	}
	co, err := p.checkoutFor(ctx, o, at)
	if err != nil {
		p.Site.Logger.WarnContext(ctx, "SumUp checkout not created", "order", o.Number, "error", err)
		http.Redirect(w, r, p.orderURL(o.ID)+"?problem=unavailable&t="+p.token(o.ID), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, co.HostedURL, http.StatusSeeOther)
}

// checkoutFor creates the attempt's SumUp checkout, or finds the one a
// concurrent request created (409 DUPLICATED_CHECKOUT), and records it.
func (p *Payments) checkoutFor(ctx context.Context, o models.Order, at models.PaymentAttempt) (sumup.Checkout, error) {
	co, err := p.SumUp.CreateCheckout(ctx, sumup.CreateRequest{Reference: at.Reference, Amount: at.Amount,
		Description: "Rose Ash " + o.Name(), ReturnURL: p.Site.URL("cart", "/payments/sumup/webhook"),
		RedirectURL: p.Site.URL("cart", "/orders/"+o.ID.String()+"/return?t="+p.token(o.ID))})
	if sumup.IsDuplicate(err) {
		var found []sumup.Checkout
		found, err = p.SumUp.CheckoutsByReference(ctx, at.Reference)
		if err == nil && len(found) == 0 {
			err = models.Errorf(models.EUnavailable, "SumUp reported the checkout %s but does not list it", at.Reference)
		}
		if err == nil {
			co = found[0]
		}
	}
	if err != nil {
		return sumup.Checkout{}, err
	}
	if err := p.Orders.AttachCheckout(ctx, at.ID, co.ID, co.HostedURL); err != nil {
		return sumup.Checkout{}, err
	}
	return co, nil
}

// verify asks SumUp about a checkout and settles its attempt with what it
// says; then does what follows once (the confirmation email, the cart-mini
// refreshed, a refund of a payment that came too late).
func (p *Payments) verify(ctx context.Context, checkoutID string) (orders.Outcome, models.Order, error) {
	co, err := p.SumUp.GetCheckout(ctx, checkoutID)
	if err != nil {
		return orders.Unchanged, models.Order{}, err
	}
	checked := orders.Checked{CheckoutID: co.ID, Status: co.Status, Amount: co.Amount, MerchantCode: co.MerchantCode}
	if tx, ok := co.PaidTransaction(); ok {
		checked.TransactionID = tx.ID
	}
	out, o, err := p.Orders.Settle(ctx, checked, p.SumUp.MerchantCode())
	if err != nil {
		return out, o, err
	}
	switch out {
	case orders.NowPaid:
		if o.UserID.Valid { // the Paid hook emptied the basket
			userCartChanged(ctx, p.Site, o.UserID.UUID)
		}
		p.email(ctx, o, "Payment confirmed for your Rose Ash "+o.Name(),
			"We have your payment of "+o.Money(o.Total).String()+" for "+o.Name()+". Thank you!"+p.ticketsText(ctx, o))
	case orders.Mismatch:
		p.Site.Logger.ErrorContext(ctx, "ALERT: a SumUp checkout says PAID for another amount or merchant: the order is not paid",
			"checkout", co.ID, "order", o.Number)
	case orders.RefundDue:
		at, err := p.Orders.AttemptByCheckout(ctx, co.ID)
		if err != nil {
			p.Site.Logger.ErrorContext(ctx, "ALERT: a late payment could not be refunded automatically (the sweep tries again)", "order", o.Number, "error", err)
			break
		}
		p.refundLate(ctx, o, at)
	}
	return out, o, nil
}

// refundLate gives back a payment that did not pay its order (it came
// after the order expired or was cancelled, or a second checkout was paid
// too), records it and tells the shopper. SumUp answering that the
// transaction is refunded already (a refund made before its record
// failed) counts as done. A failure is logged as an ALERT; the sweep tries
// again (Orders.ReturnsDue).
func (p *Payments) refundLate(ctx context.Context, o models.Order, at models.PaymentAttempt) {
	err := p.SumUp.Refund(ctx, at.TransactionID, nil)
	if models.Code(err) == models.EConflict {
		err = nil
	}
	if err == nil {
		err = p.Orders.RecordReturnedPayment(ctx, o.ID, at.ID, "paid when the order was already "+strings.ToLower(models.OrderStatusText(o.Status)))
	}
	if err != nil {
		p.Site.Logger.ErrorContext(ctx, "ALERT: a late payment could not be refunded automatically (the sweep tries again)", "order", o.Number, "error", err)
		return
	}
	p.email(ctx, o, "Your payment for Rose Ash "+o.Name()+" was refunded",
		"A payment of "+at.Amount.String()+" arrived when "+o.Name()+" was already "+strings.ToLower(models.OrderStatusText(o.Status))+
			", so we refunded that payment in full. Nothing else is needed from you.")
}

// email sends the shopper a plain-text and HTML message about o with a
// link to it; a failure is logged, never shown (the order page says the
// same).
func (p *Payments) email(ctx context.Context, o models.Order, subject, text string) {
	if p.Mail == nil {
		return
	}
	link := p.guestLink(o.ID)
	body := "Hello,\n\n" + text + "\n\nYour order: " + link + "\n\n-- Rose Ash\n"
	html := "<p>Hello,</p><p>" + html.EscapeString(text) + "</p><p><a href=\"" + html.EscapeString(link) + "\">See your order</a></p><p>-- Rose Ash</p>"
	if err := p.Mail.Send(ctx, mail.Message{To: o.Email, Subject: subject, Text: body, HTML: html}); err != nil {
		p.Site.Logger.WarnContext(ctx, "order email not sent", "order", o.Number, "error", err)
	}
}

// orderURL is the order page's address on the cart.
func (p *Payments) orderURL(id uuid.UUID) string { return "/orders/" + id.String() }

// orderLink is the order page's address, signed for a guest.
func (p *Payments) orderLink(id uuid.UUID, guest bool) string {
	if guest {
		return p.orderURL(id) + "?t=" + p.token(id)
	}
	return p.orderURL(id)
}

// guestLink is the order page's address with the signed token that lets
// whoever holds the email see it without signing in.
func (p *Payments) guestLink(id uuid.UUID) string {
	return p.Site.URL("cart", "/orders/"+id.String()+"?t="+p.token(id))
}

func (p *Payments) token(id uuid.UUID) string { return p.sign("order-link", id.String()) }

// sign returns the HMAC of purpose and value with the site's secret, as a
// URL-safe string (the events service signs its links alike).
func (p *Payments) sign(purpose, value string) string {
	m := hmac.New(sha256.New, p.Secret)
	m.Write([]byte(purpose + ":" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}
