package internal

import (
	"context"
	"strconv"
	"time"

	"rose-ash.com/platform/shared/models"
)

// refundCancelledEvents refunds, once each, the paid bookings whose
// event (or date) was cancelled: the ticket line's price times its
// places, through SumUp, and emails the shopper as an admin's refund
// does. SumUp refusing or away leaves the booking for the next sweep;
// refunds recorded but never confirmed (a sweep stopped mid-way) are
// reported as an ALERT, never given again.
func (p *Payments) refundCancelledEvents(ctx context.Context, now time.Time) error {
	due, err := p.Orders.BookingRefundsDue(ctx, 50)
	if err != nil {
		return err
	}
	for _, d := range due {
		reason, why := d.Title+" x "+strconv.Itoa(d.Quantity)+": the event was cancelled",
			"The event of your "+places(d.Quantity)+" ("+d.Title+") was cancelled."
		if d.ByHolder {
			reason, why = d.Title+" x "+strconv.Itoa(d.Quantity)+": cancelled by the shopper",
				"You cancelled your "+places(d.Quantity)+" ("+d.Title+")."
		}
		o, amount, err := p.Orders.RefundBooking(ctx, d, reason,
			func(ctx context.Context, o models.Order, at models.PaymentAttempt, amount int64) error {
				m := o.Money(amount)
				return p.SumUp.Refund(ctx, at.TransactionID, &m)
			})
		if err != nil {
			level := p.Site.Logger.WarnContext
			msg := "a cancelled event's booking was not refunded (the next sweep tries again)"
			if models.Code(err) == models.EInternal {
				level, msg = p.Site.Logger.ErrorContext, "ALERT: a cancelled event's booking refund may be given without its record: check it in SumUp"
			}
			level(ctx, msg, "booking", d.BookingID, "order", d.OrderID, "error", err)
			continue
		}
		p.emailRefund(ctx, o, amount, why)
	}
	stuck, err := p.Orders.StuckBookingRefunds(ctx, now.Add(-5*time.Minute))
	if err != nil {
		return err
	}
	if stuck > 0 {
		p.Site.Logger.ErrorContext(ctx, "ALERT: refunds of cancelled events' bookings were recorded but SumUp's answer never was: check them in SumUp",
			"count", stuck)
	}
	return nil
}

// emailRefund tells the shopper that amount of their order was refunded,
// why first when given.
func (p *Payments) emailRefund(ctx context.Context, o models.Order, amount int64, why string) {
	text := "We have refunded " + o.Money(amount).String() + " of " + o.Name() + " to the card you paid with. " +
		"It usually shows on your statement within a few working days."
	if why != "" {
		text = why + " " + text
	}
	p.email(ctx, o, "Your Rose Ash "+o.Name()+": refund of "+o.Money(amount).String(), text)
}

// places says "place" or "3 places".
func places(n int) string {
	if n == 1 {
		return "place"
	}
	return strconv.Itoa(n) + " places"
}
