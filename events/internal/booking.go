package internal

import (
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/web"
)

// bookingFormView is a booking (or waitlist) form shown again: what was
// asked for, the typed values and why it was refused.
type bookingFormView struct {
	Offer    bookings.Offer
	Quantity int
	Name     string
	Email    string
	SignedIn bool
	Problem  string
	// SoldOut offers the waitlist.
	SoldOut bool
}

// bookingWhen is an instant as an event's visitors read it, in its zone.
func bookingWhen(t time.Time, zone string) string {
	return t.In(models.ZoneOf(zone)).Format("Monday 2 January 2006, 15:04 MST")
}

// readBookingForm reads the fields the event page's booking form posts:
// occurrence, ticket_type, quantity (1 when absent), name and email.
func (h *bookingHandlers) readBookingForm(w http.ResponseWriter, r *http.Request) (bookingFormView, bool) {
	occ, err1 := uuid.Parse(r.PostFormValue("occurrence"))
	tt, err2 := uuid.Parse(r.PostFormValue("ticket_type"))
	if err1 != nil || err2 != nil {
		h.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no such date or ticket for this event."))
		return bookingFormView{}, false
	}
	offer, err := h.Bookings.OfferOf(r.Context(), chi.URLParam(r, "slug"), occ, tt)
	if err != nil {
		h.Site.Error(w, r, err)
		return bookingFormView{}, false
	}
	v := bookingFormView{Offer: offer, Quantity: 1, Name: strings.TrimSpace(r.PostFormValue("name")),
		Email: strings.TrimSpace(r.PostFormValue("email"))}
	if q := strings.TrimSpace(r.PostFormValue("quantity")); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			n = 0
		}
		v.Quantity = n
	}
	if u, ok := web.Viewer(r.Context()); ok {
		v.SignedIn = true
		if v.Name == "" {
			v.Name = u.Name()
		}
		v.Email = u.Email
	}
	return v, true
}

// refuseBooking shows the form again with err's message: sold out offers
// the waitlist. Internal errors get the error page.
func (h *bookingHandlers) refuseBooking(w http.ResponseWriter, r *http.Request, v bookingFormView, err error) {
	code := models.Code(err)
	if code == models.EInternal || code == models.EUnavailable {
		h.Site.Error(w, r, err)
		return
	}
	v.Problem = models.Message(err)
	// Sold out offers the waitlist; "Only 3 places left." the booking
	// form again, to ask for fewer.
	v.SoldOut = v.SoldOut || (code == models.EConflict && strings.HasPrefix(v.Problem, "Sold out"))
	if code == models.EConflict && strings.HasPrefix(v.Problem, "Sold out") {
		v.Problem = "Sold out: every place at this date is taken. Join the waitlist and we will email you if a place comes free."
	}
	h.Site.Render(w, r, web.Status(code), BookingFormPage(h.Site.Page(r, "Book: "+v.Offer.EventTitle), v))
}

// book books a free ticket type from the event page's form: a signed-in
// user's booking is made at once (303 to its tickets); a guest is sent an
// email with a link to confirm it (a GET of which books nothing).
func (h *bookingHandlers) book(w http.ResponseWriter, r *http.Request) {
	v, ok := h.readBookingForm(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := models.ValidateQuantity(v.Quantity); err != nil {
		h.refuseBooking(w, r, v, err)
		return
	}
	if v.Offer.PriceMinor > 0 {
		h.refuseBooking(w, r, v, models.Errorf(models.EConflict, "Paid tickets are sold through the cart."))
		return
	}
	if u, ok := web.Viewer(ctx); ok {
		b, err := h.Bookings.Book(ctx, bookings.Request{OccurrenceID: v.Offer.OccurrenceID, TicketTypeID: v.Offer.TicketTypeID,
			Quantity: v.Quantity, UserID: u.ID, Email: u.Email, Name: v.Name}, h.now())
		if err != nil {
			h.refuseBooking(w, r, v, err)
			return
		}
		h.seatsChanged()
		h.ticketsChanged(ctx, u.ID)
		h.mailTickets(r, b)
		http.Redirect(w, r, h.ticketPath(b), http.StatusSeeOther)
		return
	}
	if err := models.ValidateBooker(v.Name, v.Email, true); err != nil {
		h.refuseBooking(w, r, v, err)
		return
	}
	if v.Offer.SeatsLeft >= 0 && v.Offer.SeatsLeft < v.Quantity {
		h.refuseBooking(w, r, v, models.Errorf(models.EConflict, "%s", models.SeatsLeftMessage(v.Offer.SeatsLeft)))
		return
	}
	g := guestBooking{Event: v.Offer.EventSlug, Occurrence: v.Offer.OccurrenceID, TicketType: v.Offer.TicketTypeID,
		Quantity: v.Quantity, Name: v.Name, Email: v.Email, ID: uuid.New(), Expires: h.now().Add(guestLinkTTL).Unix()}
	link := h.Site.URL("events", "/bookings/confirm?t="+h.guestToken(g))
	err := h.sendMail(ctx, v.Email, "Confirm your booking: "+v.Offer.EventTitle, []string{
		"You asked to book " + placesText(v.Quantity) + " (" + v.Offer.TicketTypeName + ") at " + v.Offer.EventTitle + ", " +
			bookingWhen(v.Offer.StartsAt, v.Offer.TimeZone) + ".",
		"Nothing is booked until you confirm. The link works for 48 hours; if you did not ask for this, ignore this email.",
	}, "Confirm your booking", link, "")
	if err != nil {
		h.refuseBooking(w, r, v, models.Errorf(models.EUnavailable, "We could not send the confirmation email just now. Please try again in a moment."))
		return
	}
	h.Site.Render(w, r, http.StatusOK, BookingEmailSentPage(h.Site.Page(r, "Check your email"), v))
}

// mailTickets emails the booker the link to their tickets; a failure is
// logged (the page they are sent to shows the tickets).
func (h *bookingHandlers) mailTickets(r *http.Request, b models.Booking) {
	if b.Email == "" {
		return
	}
	token := h.ticketToken(b.ID)
	link := h.Site.URL("events", "/tickets/"+b.ID.String()+"?t="+token)
	var qr strings.Builder
	for i, t := range b.Tickets {
		if t.Status != "valid" {
			continue
		}
		src := h.Site.URL("events", "/tickets/"+b.ID.String()+"/qr/"+strconv.Itoa(t.Seat)+".png?t="+token)
		qr.WriteString(`<p><img src="` + html.EscapeString(src) + `" alt="` + html.EscapeString(qrAlt(b, i)) +
			`" width="240" height="240"><br>` + html.EscapeString(t.Code()) + `</p>`)
	}
	_ = h.sendMail(r.Context(), b.Email, "Your tickets: "+b.EventTitle, []string{
		"You have booked " + placesText(b.Quantity) + " (" + b.TicketTypeName + ") at " + b.EventTitle + ", " +
			bookingWhen(b.StartsAt, b.TimeZone) + placeSuffix(b) + ".",
		"Show the QR codes on your ticket page at the door. You can cancel there until " + bookingWhen(b.CancelDeadline(), b.TimeZone) + ".",
	}, "Your tickets", link, qr.String())
}

func placeSuffix(b models.Booking) string {
	switch {
	case b.Location != "" && b.Address != "":
		return ", " + b.Location + ", " + b.Address
	case b.Location != "":
		return ", " + b.Location
	}
	return ""
}

// showConfirm shows a guest's booking to confirm with a button: a GET
// books nothing (mail scanners fetch links).
func (h *bookingHandlers) showConfirm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	g, err := h.guestBookingOf(token)
	if err != nil {
		h.Site.Error(w, r, err)
		return
	}
	offer, err := h.Bookings.OfferOf(r.Context(), g.Event, g.Occurrence, g.TicketType)
	if err != nil {
		h.Site.Error(w, r, err)
		return
	}
	h.Site.Render(w, r, http.StatusOK, BookingConfirmPage(h.Site.Page(r, "Confirm your booking"), offer, g.Quantity, g.Name, g.Email, token))
}

// confirm books a guest's confirmed booking (once, however often the
// button is pressed) and sends them to its tickets.
func (h *bookingHandlers) confirm(w http.ResponseWriter, r *http.Request) {
	g, err := h.guestBookingOf(r.PostFormValue("t"))
	if err != nil {
		h.Site.Error(w, r, err)
		return
	}
	offer, err := h.Bookings.OfferOf(r.Context(), g.Event, g.Occurrence, g.TicketType)
	if err != nil {
		h.Site.Error(w, r, err)
		return
	}
	b, err := h.Bookings.Book(r.Context(), bookings.Request{ID: g.ID, OccurrenceID: g.Occurrence, TicketTypeID: g.TicketType,
		Quantity: g.Quantity, Email: g.Email, Name: g.Name}, h.now())
	if err != nil {
		h.refuseBooking(w, r, bookingFormView{Offer: offer, Quantity: g.Quantity, Name: g.Name, Email: g.Email}, err)
		return
	}
	h.seatsChanged()
	h.mailTickets(r, b)
	http.Redirect(w, r, h.ticketPath(b), http.StatusSeeOther)
}

// joinWaitlist puts the visitor on a sold-out date's waitlist.
func (h *bookingHandlers) joinWaitlist(w http.ResponseWriter, r *http.Request) {
	v, ok := h.readBookingForm(w, r)
	if !ok {
		return
	}
	q := bookings.Request{OccurrenceID: v.Offer.OccurrenceID, TicketTypeID: v.Offer.TicketTypeID, Quantity: v.Quantity,
		Email: v.Email, Name: v.Name}
	if u, ok := web.Viewer(r.Context()); ok {
		q.UserID = u.ID
	}
	if err := models.ValidateBooker(v.Name, v.Email, true); err != nil {
		v.SoldOut = true
		h.refuseBooking(w, r, v, err)
		return
	}
	e, err := h.Bookings.JoinWaitlist(r.Context(), q, h.now())
	if err != nil {
		v.SoldOut = true
		h.refuseBooking(w, r, v, err)
		return
	}
	h.Site.Render(w, r, http.StatusOK, WaitlistJoinedPage(h.Site.Page(r, "You are on the waitlist"), e))
}

// claimEntry reads the waitlist entry of a claim link, 404 unless its
// token is good.
func (h *bookingHandlers) claimEntry(w http.ResponseWriter, r *http.Request, token string) (models.WaitlistEntry, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil || !h.verify("waitlist-claim", id.String(), token) {
		h.Site.Error(w, r, models.Errorf(models.ENotFound, "This link is not valid."))
		return models.WaitlistEntry{}, false
	}
	e, err := h.Bookings.WaitlistEntry(r.Context(), id)
	if err != nil {
		h.Site.Error(w, r, err)
		return models.WaitlistEntry{}, false
	}
	return e, true
}

// showClaim shows a waitlist offer with a button to claim it (a GET
// claims nothing).
func (h *bookingHandlers) showClaim(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	e, ok := h.claimEntry(w, r, token)
	if !ok {
		return
	}
	h.Site.Render(w, r, http.StatusOK, ClaimPage(h.Site.Page(r, "Claim your places"), e, token, "", h.now()))
}

// claim turns a waitlist offer into a booking and sends its holder to the
// tickets.
func (h *bookingHandlers) claim(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("t")
	e, ok := h.claimEntry(w, r, token)
	if !ok {
		return
	}
	b, err := h.Bookings.ClaimOffer(r.Context(), e.ID, h.now())
	if err != nil {
		if c := models.Code(err); c == models.EInternal {
			h.Site.Error(w, r, err)
			return
		}
		h.Site.Render(w, r, web.Status(models.Code(err)), ClaimPage(h.Site.Page(r, "Claim your places"), e, token, models.Message(err), h.now()))
		return
	}
	h.ticketsChanged(r.Context(), b.UserID)
	h.mailTickets(r, b)
	http.Redirect(w, r, "/tickets/"+b.ID.String()+"?t="+h.ticketToken(b.ID), http.StatusSeeOther)
}

// leaveWaitlist takes a claim link's entry off the waitlist (an offer it
// had passes to the next waiting) and shows the page again.
func (h *bookingHandlers) leaveWaitlist(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("t")
	e, ok := h.claimEntry(w, r, token)
	if !ok {
		return
	}
	if err := h.Bookings.LeaveWaitlist(r.Context(), e.ID, h.now()); err != nil {
		if models.Code(err) == models.EInternal {
			h.Site.Error(w, r, err)
			return
		}
		h.Site.Render(w, r, web.Status(models.Code(err)), ClaimPage(h.Site.Page(r, "Claim your places"), e, token, models.Message(err), h.now()))
		return
	}
	http.Redirect(w, r, "/waitlist/"+e.ID.String()+"/claim?t="+token, http.StatusSeeOther)
}
