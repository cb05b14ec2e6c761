package internal

import (
	"context"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/services/bookings"
)

// newEventsAdmin returns the events admin of d: with a bookings store,
// an event cancelled (or dates dropped from it) cancels their bookings in
// the same transaction (bookings.CancelWithEvent as the calendars
// store's OnChange hook), and the admin then emails their holders.
func newEventsAdmin(d Deps, pg *pages) *eventsAdmin {
	a := &eventsAdmin{site: d.Site, events: d.Events, pages: pg, cache: d.Pages}
	if d.Events != nil && d.Bookings != nil {
		d.Events.OnChange(d.Bookings.CancelWithEvent)
		a.tell = CancellationMailer(d)
	}
	return a
}

// CancellationMailer returns what tells the people a cancelled event (or
// date) concerned, once the change has committed: each booker with an
// email is told their booking is cancelled (and, for a paid one, that
// the payment is refunded), each person on a waitlist that it is
// closed. Remote fediverse bookers have no email: the events actor's
// Update of the Event tells them. d needs Site, Mail and Secret.
func CancellationMailer(d Deps) func(ctx context.Context, cs []bookings.Cancellation) {
	h := &bookingHandlers{Deps: d}
	return h.mailCancellations
}

// mailCancellations emails everyone cs cancelled; failures are logged
// (the bookings stay cancelled, and their ticket pages say so). The
// mails are sent whatever becomes of the request that cancelled.
func (h *bookingHandlers) mailCancellations(ctx context.Context, cs []bookings.Cancellation) {
	ctx = context.WithoutCancel(ctx)
	for _, c := range cs {
		var because []string
		if c.Reason != "" {
			because = []string{"The organiser's reason: " + c.Reason}
		}
		for _, b := range c.Bookings {
			if b.Email == "" {
				continue // a remote actor's: told by the Event's Update
			}
			when := bookingWhen(b.StartsAt, b.TimeZone)
			paragraphs := append([]string{
				b.EventTitle + " on " + when + placeSuffix(b.Booking) + " is cancelled, so your booking is cancelled: " +
					placesText(b.Quantity) + " (" + b.TicketTypeName + ").",
			}, because...)
			switch {
			case b.Paid():
				paragraphs = append(paragraphs, "You paid for these places with your order: the payment for them will be refunded to the card you paid with.")
			case b.OrderID != uuid.Nil:
				paragraphs = append(paragraphs, "Your order for these places can no longer be paid; if a payment for it went through, it will be refunded.")
			}
			paragraphs = append(paragraphs, "We are sorry for the change of plans.")
			link := h.Site.URL("events", "/tickets/"+b.ID.String()+"?t="+h.ticketToken(b.ID))
			_ = h.sendMail(ctx, b.Email, "Cancelled: "+b.EventTitle+", "+when, paragraphs, "Your booking", link, "")
		}
		for _, w := range c.Waitlist {
			when := bookingWhen(w.StartsAt, w.TimeZone)
			paragraphs := append([]string{
				w.EventTitle + " on " + when + " is cancelled, so its waitlist is closed: you are no longer waiting for a place.",
			}, because...)
			_ = h.sendMail(ctx, w.Email, "Cancelled: "+w.EventTitle+", "+when, paragraphs, "About the event",
				h.Site.URL("events", "/events/"+w.EventSlug), "")
		}
	}
}
