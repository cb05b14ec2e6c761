package internal

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/sumup"
	"rose-ash.com/platform/shared/web"
)

// adminOrderView is what the admins' page of one order shows.
type adminOrderView struct {
	Order models.Order
	// Markets are the order's lines grouped by the market they came from,
	// in the order of the lines.
	Markets []marketLines
	// Moves are the states the order may be moved to.
	Moves []string
	// Paid is the attempt a refund gives back; CanRefund says whether
	// anything is left to refund of it.
	Paid      models.PaymentAttempt
	CanRefund bool
	// Amount and Reason are the refund form as typed (Amount is what is
	// left to refund when the form is new).
	Amount, Reason string
	Notice         string
	Problem        string
}

// marketLines are an order's lines from one market.
type marketLines struct {
	Name  string
	Lines []models.OrderLine
	Total int64
}

func groupByMarket(lines []models.OrderLine) []marketLines {
	var out []marketLines
	for _, l := range lines {
		i := slices.IndexFunc(out, func(m marketLines) bool { return m.Name == l.MarketName })
		if i < 0 {
			out = append(out, marketLines{Name: l.MarketName})
			i = len(out) - 1
		}
		out[i].Lines = append(out[i].Lines, l)
		out[i].Total += l.Total()
	}
	return out
}

// Notices of the order page after a change, by the key its address
// carries (?done=): fixed texts, so the address cannot put words on the
// page.
var adminNotices = map[string]string{
	models.OrderReadyForPickup: "Marked ready for pickup; the shopper was emailed.",
	models.OrderDispatched:     "Marked dispatched; the shopper was emailed.",
	models.OrderCompleted:      "Marked completed; the shopper was emailed.",
	models.OrderCancelled:      "Cancelled, its stock given back; the shopper was emailed.",
	"refunded":                 "Refunded through SumUp; the shopper was emailed.",
}

// adminOrder loads the order of the path for an admin; answered with a
// 404 when there is none.
func (p *Payments) adminOrder(w http.ResponseWriter, r *http.Request) (models.Order, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		p.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no such order."))
		return models.Order{}, false
	}
	o, err := p.Orders.Order(r.Context(), id)
	if err != nil {
		p.Site.Error(w, r, err)
		return models.Order{}, false
	}
	return o, true
}

// showAdminOrder is the admins' page of an order: its lines by market,
// totals, handover, payment attempts, refunds and full history, with the
// moves its state allows and a refund form.
func (p *Payments) showAdminOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := p.adminOrder(w, r)
	if !ok {
		return
	}
	p.renderAdminOrder(w, r, http.StatusOK, o, adminOrderView{Notice: adminNotices[r.URL.Query().Get("done")]})
}

func (p *Payments) renderAdminOrder(w http.ResponseWriter, r *http.Request, status int, o models.Order, v adminOrderView) {
	v.Order = o
	v.Markets = groupByMarket(o.Lines)
	v.Moves = orders.NextStates(o.Status)
	v.Paid, v.CanRefund = orders.PaidAttempt(o)
	v.CanRefund = v.CanRefund && o.Refunded < o.Total
	if v.Amount == "" && v.CanRefund {
		v.Amount = o.Money(o.Total - o.Refunded).Decimal()
	}
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	p.Site.Render(w, r, status, AdminOrderPage(p.Site.Page(r, o.Name()), v))
}

// refused shows the order page again with what went wrong: a user's
// mistake (a move the state does not allow, a bad amount, SumUp
// refusing or away) with its status and message, anything else as the
// site's error page.
func (p *Payments) refused(w http.ResponseWriter, r *http.Request, o models.Order, v adminOrderView, err error) {
	switch models.Code(err) {
	case models.EConflict, models.EInvalid, models.EUnavailable, models.ENotFound:
		if fresh, ferr := p.Orders.Order(r.Context(), o.ID); ferr == nil {
			o = fresh
		}
		v.Problem = models.Message(err)
		if models.Code(err) == models.EUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		p.renderAdminOrder(w, r, web.Status(models.Code(err)), o, v)
	default:
		p.Site.Error(w, r, err)
	}
}

// actor is the signed-in admin as the order's history names them.
func actor(r *http.Request) orders.Actor {
	u, _ := web.Viewer(r.Context())
	name := u.DisplayName
	if name == "" {
		name = u.Email
	}
	if name == "" {
		name = "admin"
	}
	return orders.Actor{ID: u.ID, Name: truncate(name, 100)}
}

func truncate(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// readReason reads the form's reason. Errors: EInvalid (too long).
func readReason(r *http.Request) (string, error) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if utf8.RuneCountInString(reason) > 500 {
		return reason, models.Errorf(models.EInvalid, "Keep the reason under 500 characters.")
	}
	return reason, nil
}

// moveOrder makes the order ready for pickup, dispatched or completed,
// or cancels it, as the admin chose among the moves its state allows,
// then emails the shopper.
func (p *Payments) moveOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := p.adminOrder(w, r)
	if !ok {
		return
	}
	to := r.PostFormValue("to")
	v := adminOrderView{}
	reason, err := readReason(r)
	if err != nil {
		p.refused(w, r, o, v, err)
		return
	}
	if !slices.Contains(orderStates, to) {
		p.refused(w, r, o, v, models.Errorf(models.EInvalid, "Choose what to do with the order."))
		return
	}
	moved, err := p.Orders.Move(r.Context(), o.ID, to, actor(r), reason)
	if err != nil {
		p.refused(w, r, o, v, err)
		return
	}
	moved.Lines = o.Lines
	p.emailMove(r.Context(), moved)
	http.Redirect(w, r, "/admin/orders/"+o.ID.String()+"?done="+to, http.StatusSeeOther)
}

// refundOrder gives back part or all of what is left of the order's
// payment through SumUp, records it and emails the shopper. SumUp
// refusing or away records nothing. An order refunded in full has its
// tickets cancelled and their places given back (orders.Store.Refund).
func (p *Payments) refundOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := p.adminOrder(w, r)
	if !ok {
		return
	}
	v := adminOrderView{Amount: r.PostFormValue("amount"), Reason: r.PostFormValue("reason")}
	reason, err := readReason(r)
	if err != nil {
		p.refused(w, r, o, v, err)
		return
	}
	amount, err := readAmount(v.Amount, o.Currency)
	if err != nil {
		p.refused(w, r, o, v, err)
		return
	}
	if p.SumUp == nil {
		p.refused(w, r, o, v, models.Errorf(models.EUnavailable,
			"Online payments are not configured, so nothing can be refunded through SumUp: nothing was recorded."))
		return
	}
	var given bool
	refunded, err := p.Orders.Refund(r.Context(), o.ID, amount, actor(r), reason,
		func(ctx context.Context, o models.Order, at models.PaymentAttempt) error {
			m := o.Money(amount)
			if err := p.SumUp.Refund(ctx, at.TransactionID, &m); err != nil {
				return sumupRefused(err)
			}
			given = true
			return nil
		})
	if err != nil {
		if given {
			p.Site.Logger.ErrorContext(r.Context(), "ALERT: SumUp refunded a payment that was not recorded: record it by hand",
				"order", o.Number, "amount", o.Money(amount).String(), "error", err)
		}
		p.refused(w, r, o, v, err)
		return
	}
	why := ""
	if refunded.Status == models.OrderRefunded && slices.ContainsFunc(o.Lines, func(l models.OrderLine) bool { return l.Ticket }) {
		why = "Your order is refunded in full, so its tickets are cancelled and no longer valid."
	}
	p.emailRefund(r.Context(), refunded, amount, why)
	http.Redirect(w, r, "/admin/orders/"+o.ID.String()+"?done=refunded", http.StatusSeeOther)
}

// sumupRefused words SumUp's refusal of a refund for the admin; SumUp
// away keeps its own message.
func sumupRefused(err error) error {
	switch models.Code(err) {
	case models.EUnavailable:
		return models.Wrap(models.EUnavailable, "SumUp cannot be reached just now: nothing was refunded or recorded. Try again in a moment.", err)
	case models.EInvalid, models.EConflict, models.ENotFound:
		return models.Wrap(models.EConflict, "SumUp refused the refund ("+sumupReason(err)+"): nothing was recorded.", err)
	}
	return err
}

func sumupReason(err error) string {
	var e *sumup.APIError
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "the payment has changed"
}

// readAmount reads an amount typed in the currency's major unit ("7.25",
// "12", "0.5", "£7.25") exactly into minor units. Errors: EInvalid,
// saying what to type.
func readAmount(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	for _, sym := range []string{"£", "€", "$"} {
		s = strings.TrimSpace(strings.TrimPrefix(s, sym))
	}
	example := models.Money{Minor: 725, Currency: currency}.Decimal()
	if s == "" {
		return 0, models.Errorf(models.EInvalid, "Give the amount to refund, such as %s.", example)
	}
	whole, frac, point := strings.Cut(s, ".")
	if (whole == "" && frac == "") || !digitsOnly(whole) || !digitsOnly(frac) || (point && frac == "") || len(whole) > 12 {
		return 0, models.Errorf(models.EInvalid, "The amount to refund must be a number such as %s (you typed %q).", example, s)
	}
	if whole == "" {
		whole = "0"
	}
	if frac != "" {
		whole += "." + frac
	}
	m, err := sumup.ParseAmount(whole, currency)
	if err != nil {
		return 0, models.Errorf(models.EInvalid, "The amount to refund may have at most %d decimal places (you typed %q).",
			models.CurrencyDigits(currency), s)
	}
	if m.Minor <= 0 {
		return 0, models.Errorf(models.EInvalid, "The amount to refund must be more than nothing.")
	}
	return m.Minor, nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// emailMove tells the shopper what an admin's move means for them.
func (p *Payments) emailMove(ctx context.Context, o models.Order) {
	switch o.Status {
	case models.OrderReadyForPickup:
		p.email(ctx, o, "Your Rose Ash "+o.Name()+" is ready for pickup",
			o.Name()+" is ready: collect it at "+o.PickupPlace+". Bring this email or your order number ("+o.Name()+").")
	case models.OrderDispatched:
		a := o.Address
		p.email(ctx, o, "Your Rose Ash "+o.Name()+" is on its way",
			o.Name()+" has been dispatched to "+joinNonEmpty(", ", a.Name, a.Line1, a.Line2, a.City, a.Postcode)+".")
	case models.OrderCompleted:
		p.email(ctx, o, "Your Rose Ash "+o.Name()+" is complete",
			o.Name()+" is complete. Thank you for buying from the markets of Rose Ash!")
	case models.OrderCancelled:
		p.email(ctx, o, "Your Rose Ash "+o.Name()+" was cancelled",
			o.Name()+" was cancelled before it was paid: nothing was taken from you, and the items it reserved are back on sale.")
	}
}

func joinNonEmpty(sep string, parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return strings.TrimSpace(s) == "" }), sep)
}

// OrderReceived emails the shopper that their order was placed: what it
// holds, its total, how it is handed over and until when its items are
// kept for payment. Call it once, when Place creates the order (not when
// a checkout form's key finds an order placed before). A failure to send
// is logged, never returned.
func (p *Payments) OrderReceived(ctx context.Context, o models.Order) {
	var b strings.Builder
	b.WriteString("We have received " + o.Name() + ":\n")
	for _, l := range o.Lines {
		b.WriteString("\n  " + l.Title + " x " + strconv.Itoa(l.Quantity) + " (" + l.MarketName + "): " + o.Money(l.Total()).String())
	}
	b.WriteString("\n\nSubtotal " + o.Money(o.Subtotal).String())
	if o.Fulfilment == models.FulfilDelivery {
		b.WriteString(", delivery " + o.Money(o.Delivery).String())
	}
	b.WriteString(", total " + o.Money(o.Total).String() + " (including VAT of " + o.Money(o.VAT).String() + ").\n\n")
	switch {
	case o.Fulfilment == models.FulfilPickup && o.PickupPlace == "":
		// Event tickets alone (a pickup of products always has a place).
		b.WriteString("Your tickets will be on their own page once you have paid: show them at the door.")
	case o.Fulfilment == models.FulfilPickup:
		b.WriteString("You will collect it at " + o.PickupPlace + ": we will email you when it is ready.")
	default:
		a := o.Address
		b.WriteString("It will be delivered to " + joinNonEmpty(", ", a.Name, a.Line1, a.Line2, a.City, a.Postcode, a.Country) + ".")
	}
	if o.Status == models.OrderPendingPayment {
		b.WriteString(" Its items are kept for you until " + o.HoldUntil.UTC().Format("15:04") + " UTC while you pay.")
	}
	p.email(ctx, o, "We have received your Rose Ash "+o.Name(), b.String())
}
