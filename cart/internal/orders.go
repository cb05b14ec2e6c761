package internal

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/web"
)

// order loads the order of the path for whoever may see it: its owner, an
// admin, or anyone with the signed link of its emails (?t=). Anyone else
// gets a 404, as for an order that does not exist.
func (p *Payments) order(w http.ResponseWriter, r *http.Request) (models.Order, bool) {
	notFound := models.Errorf(models.ENotFound, "There is no such order, or it is not yours: sign in with the account that placed it, or use the link in its email.")
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		p.Site.Error(w, r, notFound)
		return models.Order{}, false
	}
	o, err := p.Orders.Order(r.Context(), id)
	if models.Code(err) == models.ENotFound {
		p.Site.Error(w, r, notFound)
		return models.Order{}, false
	}
	if err != nil {
		p.Site.Error(w, r, err)
		return models.Order{}, false
	}
	user, signedIn := web.Viewer(r.Context())
	owner := signedIn && ((o.UserID.Valid && o.UserID.UUID == user.ID) || user.IsAdmin)
	linked := subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("t")), []byte(p.token(o.ID))) == 1
	if !owner && !linked {
		p.Site.Error(w, r, notFound)
		return models.Order{}, false
	}
	return o, true
}

// showOrder is the order page: its state in words, its lines by market,
// totals with VAT, how it is handed over, its payments and history, and a
// button to pay again while it awaits payment.
func (p *Payments) showOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := p.order(w, r)
	if !ok {
		return
	}
	v := orderView{Order: o, Token: r.URL.Query().Get("t")}
	links, err := p.ticketLinks(r.Context(), o)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	v.Tickets = links
	if r.URL.Query().Get("problem") == "unavailable" {
		v.Problem = "The payment service is unavailable just now: try again in a moment. Your items stay reserved until " +
			o.HoldUntil.Format("15:04") + " UTC."
	}
	if o.Status == models.OrderPendingPayment && len(o.Attempts) > 0 {
		last := o.Attempts[len(o.Attempts)-1]
		v.CanRetry = true
		if last.Status == models.AttemptFailed || last.Status == models.AttemptExpired {
			v.Problem = "The payment did not go through. You can try again: your items stay reserved until " + o.HoldUntil.Format("15:04") + " UTC."
		}
	}
	p.Site.Render(w, r, http.StatusOK, OrderPage(p.Site.Page(r, o.Name()), v))
}

// orderView is what the order page shows.
type orderView struct {
	Order    models.Order
	Token    string
	Problem  string
	CanRetry bool
	// Tickets link the ticket pages of the event places the order paid
	// for (on the events service).
	Tickets []string
}

// OnlyTickets reports whether the order is of event tickets alone.
func (v orderView) OnlyTickets() bool {
	for _, l := range v.Order.Lines {
		if !l.Ticket {
			return false
		}
	}
	return len(v.Order.Lines) > 0
}

// returned is where SumUp sends the browser back: the order's latest
// checkout is asked about (what the address says is not trusted), then
// the order page is shown.
func (p *Payments) returned(w http.ResponseWriter, r *http.Request) {
	o, ok := p.order(w, r)
	if !ok {
		return
	}
	if p.SumUp != nil {
		for i := len(o.Attempts) - 1; i >= 0; i-- {
			if a := o.Attempts[i]; a.CheckoutID != "" {
				if _, _, err := p.verify(r.Context(), a.CheckoutID); err != nil {
					p.Site.Logger.WarnContext(r.Context(), "payment not verified on return", "order", o.Number, "error", err)
				}
				break
			}
		}
	}
	p.Kept.changed(r.Context())
	http.Redirect(w, r, p.orderURL(o.ID)+tokenQuery(r), http.StatusSeeOther)
}

func tokenQuery(r *http.Request) string {
	if t := r.URL.Query().Get("t"); t != "" {
		return "?t=" + t
	}
	return ""
}

// retry pays an unpaid order again: a new attempt (the pending one's
// checkout deactivated), and the shopper sent to SumUp.
func (p *Payments) retry(w http.ResponseWriter, r *http.Request) {
	o, ok := p.order(w, r)
	if !ok {
		return
	}
	if p.SumUp == nil {
		p.Site.Error(w, r, errPaymentsOff)
		return
	}
	next, cancelled, err := p.Orders.Retry(r.Context(), o.ID)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	if cancelled != nil && cancelled.CheckoutID != "" {
		if _, err := p.SumUp.DeactivateCheckout(r.Context(), cancelled.CheckoutID); err != nil {
			p.Site.Logger.WarnContext(r.Context(), "old checkout not deactivated", "order", o.Number, "error", err)
		}
	}
	p.toSumUp(w, r, o, next)
}

// webhook is SumUp's notification that a checkout changed: the body only
// says which checkout, so it is asked about with a GET before anything
// changes. An unknown checkout is answered 200 and logged (SumUp would
// retry anything else); a SumUp we cannot reach answers 503 so that SumUp
// retries later.
func (p *Payments) webhook(w http.ResponseWriter, r *http.Request) {
	var body struct {
		EventType string `json:"event_type"`
		ID        string `json:"id"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(raw, &body) != nil || body.ID == "" {
		http.Error(w, "expected {\"event_type\":\"CHECKOUT_STATUS_CHANGED\",\"id\":\"<checkout id>\"}", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if _, err := p.Orders.AttemptByCheckout(ctx, body.ID); models.Code(err) == models.ENotFound {
		p.Site.Logger.WarnContext(ctx, "SumUp webhook for a checkout that is not ours: ignored", "checkout", body.ID, "event", body.EventType)
		w.WriteHeader(http.StatusOK)
		return
	} else if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	if p.SumUp == nil {
		http.Error(w, "payments are not configured", http.StatusServiceUnavailable)
		return
	}
	if _, _, err := p.verify(ctx, body.ID); err != nil {
		p.Site.Logger.WarnContext(ctx, "SumUp webhook not verified: SumUp will retry", "checkout", body.ID, "error", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Sweep expires the unpaid orders whose hold ran out (their SumUp
// checkouts deactivated, so they can no longer be paid), deletes guests'
// baskets idle for longer than their cookie lasts, gives back payments
// that did not pay their order and were not refunded yet, and asks SumUp
// about payments left pending for more than a minute: the reconciler for
// webhooks that never came and shoppers who never returned.
func (p *Payments) Sweep(ctx context.Context) error {
	now := time.Now()
	stale, err := p.Orders.ExpireHolds(ctx, now, 200)
	if err != nil {
		return err
	}
	if len(stale) > 0 && p.StockChanged != nil {
		p.StockChanged(ctx)
	}
	if _, err := p.Baskets.DeleteIdleGuestCarts(ctx, now.Add(-GuestBasketLifetime)); err != nil {
		return err
	}
	if p.SumUp == nil {
		return nil
	}
	for _, a := range stale {
		if a.CheckoutID == "" {
			continue
		}
		if _, err := p.SumUp.DeactivateCheckout(ctx, a.CheckoutID); err != nil {
			p.Site.Logger.WarnContext(ctx, "expired order's checkout not deactivated", "checkout", a.CheckoutID, "error", err)
		}
	}
	due, err := p.Orders.ReturnsDue(ctx, now.Add(-time.Minute), 50)
	if err != nil {
		return err
	}
	for _, a := range due {
		o, err := p.Orders.Order(ctx, a.OrderID)
		if err != nil {
			return err
		}
		p.refundLate(ctx, o, a)
	}
	if err := p.refundCancelledEvents(ctx, now); err != nil {
		return err
	}
	pending, err := p.Orders.StalePending(ctx, now.Add(-time.Minute), 100)
	if err != nil {
		return err
	}
	for _, a := range pending {
		if _, _, err := p.verify(ctx, a.CheckoutID); err != nil {
			p.Site.Logger.WarnContext(ctx, "pending payment not checked", "checkout", a.CheckoutID, "error", err)
		}
		if err := p.Orders.Touch(ctx, a.ID); err != nil {
			return err
		}
	}
	return nil
}

// myOrders lists the signed-in shopper's orders, newest first, each with
// its state and total and a link to its page.
func (p *Payments) myOrders(w http.ResponseWriter, r *http.Request) {
	user, _ := web.Viewer(r.Context())
	list, err := p.Orders.OrdersOf(r.Context(), user.ID, 100)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	p.Site.Render(w, r, http.StatusOK, MyOrdersPage(p.Site.Page(r, "Your orders"), list))
}
