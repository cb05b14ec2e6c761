package internal

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
)

// Paid event tickets are sold through the basket: an event page's "Book
// for £x" form posts its date and ticket type here, and the line's
// reference is the ticket's (calendars.TicketRef: ticket:<occurrence
// id>:<ticket type id>). Its title, price and the places left are read
// from the events' tables, never from the form; checkout holds the places
// with the order (orders.Store.Bookings).

// Tickets is what the cart reads of the events' tickets (calendars.Store).
type Tickets interface {
	TicketsForCart(ctx context.Context, refs []calendars.TicketRef, now time.Time) (map[calendars.TicketRef]calendars.CartTicket, error)
}

// errTicketNotForSale answers a ticket that is not one.
var errTicketNotForSale = models.Errorf(models.ENotFound, "That ticket is not for sale here: choose one on the event's page.")

// ticketLimit is how many places of t one line may hold now: the places
// left, at most models.MaxBookingQuantity; 0 when sold out or not on sale.
func ticketLimit(t calendars.CartTicket) int {
	if t.Sale != models.SaleOpen || t.SeatsLeft == 0 {
		return 0
	}
	if t.SeatsLeft < 0 {
		return models.MaxBookingQuantity
	}
	return min(t.SeatsLeft, models.MaxBookingQuantity)
}

// ticketOf reads the ticket named by ref now; false when there is none.
func (b basketDeps) ticketOf(ctx context.Context, ref calendars.TicketRef) (calendars.CartTicket, bool, error) {
	if b.tickets == nil {
		return calendars.CartTicket{}, false, nil
	}
	found, err := b.tickets.TicketsForCart(ctx, []calendars.TicketRef{ref}, time.Now())
	if err != nil {
		return calendars.CartTicket{}, false, err
	}
	t, ok := found[ref]
	return t, ok, nil
}

// addTicket is addItem for an event page's paid booking form (fields
// occurrence, ticket_type, quantity): the places go into the shopper's
// basket at the ticket type's price now, and the shopper is shown the
// basket (where they check out). A free type (booked on the event page),
// one not on sale, or more places than are left is refused with a page
// saying why and a link back.
func addTicket(b basketDeps, w http.ResponseWriter, r *http.Request, back string) {
	ctx := r.Context()
	qty, err := parseQuantity(r.PostFormValue("quantity"))
	if err == nil && qty > models.MaxBookingQuantity {
		err = models.Errorf(models.EInvalid, "Book from 1 to %d places at a time.", models.MaxBookingQuantity)
	}
	if err != nil {
		refuse(b.site, w, r, err, back)
		return
	}
	occ, err1 := uuid.Parse(strings.TrimSpace(r.PostFormValue("occurrence")))
	typ, err2 := uuid.Parse(strings.TrimSpace(r.PostFormValue("ticket_type")))
	if err1 != nil || err2 != nil {
		refuse(b.site, w, r, errTicketNotForSale, back)
		return
	}
	ref := calendars.TicketRef{OccurrenceID: occ, TicketTypeID: typ}
	t, ok, err := b.ticketOf(ctx, ref)
	switch {
	case err != nil:
		b.site.Error(w, r, err)
		return
	case !ok:
		refuse(b.site, w, r, errTicketNotForSale, back)
		return
	case t.Price.Minor == 0:
		refuse(b.site, w, r, models.Errorf(models.EInvalid, "%s is free: book it on the event's page.", t.Title), back)
		return
	case t.Sale != models.SaleOpen:
		refuse(b.site, w, r, models.Errorf(models.EInvalid, "%s is not on sale now.", t.Title), back)
		return
	}
	owner, ok := b.owner(r)
	newKey := ""
	if !ok {
		newKey = newGuestKey()
		owner = models.GuestCart(newKey)
	}
	held := 0
	if ok {
		if held, err = quantityHeld(ctx, b.carts, owner, ref.String()); err != nil {
			b.site.Error(w, r, err)
			return
		}
	}
	if limit := ticketLimit(t); held+qty > limit {
		refuse(b.site, w, r, models.Errorf(models.EInvalid, "%s", tooFewPlaces(t.Title, limit, held)), back)
		return
	}
	err = b.carts.AddItem(ctx, owner, models.CartItemInput{ProductRef: ref.String(), Title: cartTitle(t.Title),
		UnitPrice: t.Price, Quantity: qty})
	if err != nil {
		refuse(b.site, w, r, err, back)
		return
	}
	if owner.IsGuest() {
		key := newKey
		if key == "" {
			key, _ = b.guests.key(r)
		}
		b.guests.set(w, key)
	} else {
		b.cartChanged(ctx, owner)
	}
	b.notices.add(ctx, fmt.Sprintf("%s added to your basket: check out to pay for it.", placesOf(qty, t.Title)))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// placesOf says "1 place" or "3 places" of title.
func placesOf(n int, title string) string {
	if n == 1 {
		return "1 place at " + title
	}
	return fmt.Sprintf("%d places at %s", n, title)
}

// tooFewPlaces says why an add would pass the places one line may hold.
func tooFewPlaces(title string, limit, held int) string {
	switch {
	case limit == 0:
		return title + " is sold out."
	case held == 0:
		return fmt.Sprintf("%s can be booked of %s.", onlyPlaces(limit), title)
	default:
		return fmt.Sprintf("%s can be booked of %s, and your basket has %d already.", onlyPlaces(limit), title, held)
	}
}

// onlyPlaces says "Only 1 place" or "Only 3 places".
func onlyPlaces(n int) string {
	if n == 1 {
		return "Only 1 place"
	}
	return fmt.Sprintf("Only %d places", n)
}

// checkTickets is checkLines for a basket's ticket lines (each line's
// ticket found in tickets by its reference): the lines as they should be
// now, added to b, and the updates that make the cart so. A ticket gone,
// not on sale any more (its date cancelled, begun, its sale over), sold
// out or free now (booked on the event's page) is taken out; a price
// changed is taken; a line above the places left is cut to them. Each
// change is said in b.Changes.
func checkTickets(b *Basket, lines []models.CartLine, tickets map[calendars.TicketRef]calendars.CartTicket) []models.CartLineUpdate {
	var updates []models.CartLineUpdate
	for _, l := range lines {
		ref, _ := calendars.ParseTicketRef(l.ProductRef)
		t, ok := tickets[ref]
		if !ok {
			b.Changes = append(b.Changes, l.Title+" is no longer for sale, so it was taken out of your basket.")
			updates = append(updates, models.CartLineUpdate{ProductRef: l.ProductRef})
			continue
		}
		title := cartTitle(t.Title)
		limit := ticketLimit(t)
		switch {
		case t.Sale != models.SaleOpen:
			b.Changes = append(b.Changes, title+" is not on sale any more, so it was taken out of your basket.")
		case t.Price.Minor == 0:
			b.Changes = append(b.Changes, title+" is free now: book it on the event's page. It was taken out of your basket.")
			limit = 0
		case limit == 0:
			b.Changes = append(b.Changes, title+" is sold out, so it was taken out of your basket.")
		}
		if limit == 0 {
			updates = append(updates, models.CartLineUpdate{ProductRef: l.ProductRef})
			continue
		}
		line := BasketLine{CartLine: models.CartLine{ProductRef: l.ProductRef, Title: title, UnitPrice: t.Price,
			Quantity: l.Quantity}, EventSlug: t.EventSlug, MaxQuantity: limit}
		changed := title != l.Title
		if t.Price != l.UnitPrice {
			b.Changes = append(b.Changes, fmt.Sprintf("The price of %s changed from %s to %s.", title, l.UnitPrice, t.Price))
			changed = true
		}
		if l.Quantity > limit {
			line.Quantity = limit
			b.Changes = append(b.Changes, fmt.Sprintf("%s can be booked of %s, so your basket now has %d.", onlyPlaces(limit), title, limit))
			changed = true
		}
		if changed {
			updates = append(updates, models.CartLineUpdate{ProductRef: l.ProductRef, Title: title,
				UnitPrice: t.Price, MaxQuantity: line.Quantity})
		}
		line.VAT = models.Money{Currency: t.Price.Currency}
		b.Lines = append(b.Lines, line)
		b.ItemCount += line.Quantity
	}
	return updates
}

// ticketLines splits a cart's lines into product lines and ticket lines,
// with the tickets' references.
func ticketLines(lines []models.CartLine) (products, tickets []models.CartLine, refs []calendars.TicketRef) {
	for _, l := range lines {
		if ref, ok := calendars.ParseTicketRef(l.ProductRef); ok {
			tickets = append(tickets, l)
			refs = append(refs, ref)
			continue
		}
		products = append(products, l)
	}
	return products, tickets, refs
}

// changeTicketQuantity checks a new quantity of a basket's ticket line
// against the places left; nil when it can be set.
func (b basketDeps) changeTicketQuantity(ctx context.Context, ref calendars.TicketRef, qty int) error {
	t, ok, err := b.ticketOf(ctx, ref)
	if err != nil {
		return err
	}
	if !ok {
		return errNotInBasket
	}
	switch limit := ticketLimit(t); {
	case t.Sale != models.SaleOpen:
		return models.Errorf(models.EInvalid, "%s is not on sale now.", t.Title)
	case limit == 0:
		return models.Errorf(models.EInvalid, "%s is sold out.", t.Title)
	case qty > limit:
		return models.Errorf(models.EInvalid, "%s can be booked of %s: choose %d or fewer.", onlyPlaces(limit), t.Title, limit)
	}
	return nil
}

// ticketLinks are the addresses of the ticket pages (the events service's
// /tickets/{booking id}) of the places o paid for. A guest's carry the
// signed token the events service checks (an HMAC of "ticket-link:<id>"
// with the site's secret, as it signs its own emailed links); a member's
// page is theirs once signed in.
func (p *Payments) ticketLinks(ctx context.Context, o models.Order) ([]string, error) {
	if o.PaidAt == nil {
		return nil, nil
	}
	ids, err := p.Orders.OrderBookings(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	links := make([]string, len(ids))
	for i, id := range ids {
		links[i] = p.Site.URL("events", "/tickets/"+id.String())
		if !o.UserID.Valid {
			links[i] += "?t=" + p.sign("ticket-link", id.String())
		}
	}
	return links, nil
}

// ticketsText is what the payment email adds about o's tickets: a line
// with each ticket page's address ("" when it has none).
func (p *Payments) ticketsText(ctx context.Context, o models.Order) string {
	links, err := p.ticketLinks(ctx, o)
	if err != nil {
		p.Site.Logger.WarnContext(ctx, "ticket links not in the payment email", "order", o.Number, "error", err)
		return ""
	}
	if len(links) == 0 {
		return ""
	}
	return " Your tickets: " + strings.Join(links, " ")
}

// ticketLinkText names the i-th of n ticket links.
func ticketLinkText(i, n int) string {
	if n == 1 {
		return "See your tickets"
	}
	return fmt.Sprintf("See your tickets (%d of %d)", i+1, n)
}

// MailOffers is the Offered hook of the cart's bookings store: places an
// unpaid order gives back (expired, cancelled) are offered to the
// event's waitlist, and each offer is emailed its link to claim them on
// the events service (bookings.OfferMailer, as the events service words
// and signs it).
func (p *Payments) MailOffers(ctx context.Context, offers []models.WaitlistEntry) {
	bookings.OfferMailer{Mail: p.Mail, Secret: p.Secret, Logger: p.Site.Logger,
		EventsURL: func(path string) string { return p.Site.URL("events", path) }}.Send(ctx, offers)
}
