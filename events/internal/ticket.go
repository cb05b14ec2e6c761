package internal

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/ticketqr"
	"rose-ash.com/platform/shared/web"
)

// ticketsView is a booking's ticket page.
type ticketsView struct {
	Booking models.Booking
	// Token is the signed token the page was opened with ("" for its
	// signed-in owner), carried by the cancel form.
	Token string
	// QR holds each ticket's QR code as a data: URI of an SVG image,
	// index for index with Booking.Tickets ("" for a cancelled ticket).
	QR        []string
	CanCancel bool
	// PaidPlaces marks a paid booking: cancelling it refunds what was
	// paid for it (the cart's sweep refunds bookings cancelled by their
	// holder, bookings.HolderCancelledReason).
	PaidPlaces bool
	Problem    string
}

// bookingFor loads the booking named in the path for whoever may see it:
// its signed-in owner, an admin, or the holder of its signed token (t in
// the query or the form). Anyone else gets 404, as for no booking.
func (h *bookingHandlers) bookingFor(w http.ResponseWriter, r *http.Request) (models.Booking, string, bool) {
	notFound := models.Errorf(models.ENotFound, "There is no such booking.")
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		h.Site.Error(w, r, notFound)
		return models.Booking{}, "", false
	}
	token := r.URL.Query().Get("t")
	if token == "" && r.Method == http.MethodPost {
		token = r.PostFormValue("t")
	}
	b, err := h.Bookings.Booking(r.Context(), id)
	if err != nil {
		h.Site.Error(w, r, err)
		return models.Booking{}, "", false
	}
	u, signedIn := web.Viewer(r.Context())
	owner := signedIn && (u.IsAdmin || (b.UserID != uuid.Nil && u.ID == b.UserID))
	if h.verify("ticket-link", id.String(), token) {
		return b, token, true
	}
	if owner {
		return b, "", true
	}
	h.Site.Error(w, r, notFound)
	return models.Booking{}, "", false
}

// showMyTickets lists the signed-in user's bookings, those to come first,
// each linking to its tickets.
func (h *bookingHandlers) showMyTickets(w http.ResponseWriter, r *http.Request) {
	u, _ := web.Viewer(r.Context())
	list, err := h.Bookings.BookingsOfUser(r.Context(), u.ID, h.now())
	if err != nil {
		h.Site.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, no-store")
	h.Site.Render(w, r, http.StatusOK, MyTicketsPage(h.Site.Page(r, "Your tickets"), list, h.now()))
}

// showTickets shows a booking's tickets, each with its QR code, and a
// cancel button until the cutoff.
func (h *bookingHandlers) showTickets(w http.ResponseWriter, r *http.Request) {
	b, token, ok := h.bookingFor(w, r)
	if !ok {
		return
	}
	h.renderTickets(w, r, http.StatusOK, b, token, "")
}

func (h *bookingHandlers) renderTickets(w http.ResponseWriter, r *http.Request, status int, b models.Booking, token, problem string) {
	cancellable := b.Cancellable(h.now()) && b.RemoteActor == ""
	v := ticketsView{Booking: b, Token: token, CanCancel: cancellable, PaidPlaces: b.PriceMinor > 0,
		Problem: problem, QR: make([]string, len(b.Tickets))}
	if b.Status == models.BookingConfirmed {
		for i, t := range b.Tickets {
			if t.Status != "valid" {
				continue
			}
			uri, err := qrDataURI(t.Code())
			if err != nil {
				h.Site.Error(w, r, models.Wrap(models.EInternal, "", err))
				return
			}
			v.QR[i] = uri
		}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	h.Site.Render(w, r, status, TicketsPage(h.Site.Page(r, "Your tickets: "+b.EventTitle), v))
}

// cancelBooking cancels a booking at its holder's request (until the
// cutoff; paid places are refused: the organiser refunds their order)
// and shows its page again.
func (h *bookingHandlers) cancelBooking(w http.ResponseWriter, r *http.Request) {
	b, token, ok := h.bookingFor(w, r)
	if !ok {
		return
	}
	if _, err := h.Bookings.Cancel(r.Context(), b.ID, h.now()); err != nil {
		if models.Code(err) == models.EInternal {
			h.Site.Error(w, r, err)
			return
		}
		h.renderTickets(w, r, web.Status(models.Code(err)), b, token, models.Message(err))
		return
	}
	h.seatsChanged()
	h.ticketsChanged(r.Context(), b.UserID)
	to := "/tickets/" + b.ID.String()
	if token != "" {
		to += "?t=" + token
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// showTicketQR serves one ticket's QR code as a PNG image (for emails,
// whose readers do not show SVG or data: images), to whoever may see
// the booking; /tickets/{id}/qr/{seat}.png.
func (h *bookingHandlers) showTicketQR(w http.ResponseWriter, r *http.Request) {
	b, _, ok := h.bookingFor(w, r)
	if !ok {
		return
	}
	seat, err := strconv.Atoi(strings.TrimSuffix(chi.URLParam(r, "seat"), ".png"))
	if err != nil || seat < 1 || seat > len(b.Tickets) || b.Status != models.BookingConfirmed || b.Tickets[seat-1].Status != "valid" {
		h.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no such ticket."))
		return
	}
	img, err := qrPNG(b.Tickets[seat-1].Code())
	if err != nil {
		h.Site.Error(w, r, models.Wrap(models.EInternal, "", err))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(img)
}

// qrPNG returns text's QR code as a PNG image (ticketqr.PNG).
func qrPNG(text string) ([]byte, error) { return ticketqr.PNG(text) }

// qrAlt is a ticket's QR code's alternative text.
func qrAlt(b models.Booking, i int) string {
	return fmt.Sprintf("QR code for ticket %d of %d, %s", b.Tickets[i].Seat, b.Quantity, b.EventTitle)
}

// qrDataURI returns text's QR code as an SVG image in a data: URI
// (ticketqr.SVGDataURI).
func qrDataURI(text string) (string, error) { return ticketqr.SVGDataURI(text) }
