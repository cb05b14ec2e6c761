package internal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
)

// mountBookings mounts the booking routes (booking a ticket type of an
// occurrence, a guest's confirmation link, the tickets page, cancelling,
// the waitlist, check-in) on r, whose middleware has loaded the visitor's
// session and sign-in state. It also sets the bookings store's Offered
// hook, when unset, to email waitlist offers their claim links.
func mountBookings(r chi.Router, d Deps) {
	h := &bookingHandlers{Deps: d, now: time.Now}
	if d.Bookings != nil && d.Bookings.Offered == nil {
		d.Bookings.Offered = h.mailOffers
	}
	r.Post("/events/{slug}/book", h.book)
	r.Get("/bookings/confirm", h.showConfirm)
	r.Post("/bookings/confirm", h.confirm)
	r.With(d.Site.RequireUser).Get("/tickets", h.showMyTickets)
	r.Get("/tickets/{id}", h.showTickets)
	r.Get("/tickets/{id}/qr/{seat}", h.showTicketQR)
	r.Post("/tickets/{id}/cancel", h.cancelBooking)
	r.Post("/events/{slug}/waitlist", h.joinWaitlist)
	r.Get("/waitlist/{id}/claim", h.showClaim)
	r.Post("/waitlist/{id}/claim", h.claim)
	r.Post("/waitlist/{id}/leave", h.leaveWaitlist)
	r.Get(checkinScriptPath, serveCheckinScript)
	r.With(d.Site.RequireUser).Get("/admin/check-in/{slug}", h.showCheckin)
	r.With(d.Site.RequireUser).Post("/admin/check-in/{slug}/scan", h.scan)
	r.With(d.Site.RequireUser).Post("/admin/check-in/{slug}/lists", h.createCheckinList)
	r.With(d.Site.RequireUser).Get("/admin/bookings/{slug}", h.showEventBookings)
	r.With(d.Site.RequireUser).Get("/admin/bookings/{slug}/csv", h.exportEventBookings)
}

// OfferMailer returns what a bookings.Store's Offered hook should be in
// the events service (mountBookings sets it on the server's store): each
// waitlist offer is emailed its signed claim link, and the page cache is
// purged. A store built elsewhere in the service (the sweep's worker)
// gets it from here; d needs Site, Mail, Secret and Pages.
func OfferMailer(d Deps) func(ctx context.Context, offers []models.WaitlistEntry) {
	h := &bookingHandlers{Deps: d, now: time.Now}
	return h.mailOffers
}

// bookingHandlers serve the booking routes.
type bookingHandlers struct {
	Deps
	now func() time.Time
	// purgePending is set while a purge of the page cache waits to run.
	purgePending atomic.Bool
}

// purgeDelay gathers the seat changes of a sale rush into one purge of
// the page cache (a purge scans Redis) at most this often.
const purgeDelay = 500 * time.Millisecond

// seatsChanged purges the page cache of anonymous calendar pages, which
// show seats left, shortly after a booking or cancellation: one purge for
// all the changes of purgeDelay.
func (h *bookingHandlers) seatsChanged() {
	if h.Pages == nil || !h.purgePending.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(purgeDelay, func() {
		h.purgePending.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Pages.Purge(ctx); err != nil {
			h.Site.Logger.WarnContext(ctx, "page cache not purged after a booking", "error", err)
		}
	})
}

// ticketsChanged drops the cached account-nav fragment of the member
// who holds a booking just made or cancelled (its badge counts their
// upcoming tickets); a guest's booking (uuid.Nil) has none. A failure is
// only logged: the cached copy expires with the fragment TTL.
func (h *bookingHandlers) ticketsChanged(ctx context.Context, userID uuid.UUID) {
	if h.Site.Fragments == nil || userID == uuid.Nil {
		return
	}
	if err := h.Site.Fragments.InvalidateNamed(ctx, fragments.AccountNav, &userID); err != nil {
		h.Site.Logger.WarnContext(ctx, "account-nav not invalidated after a booking", "error", err)
	}
}

// guestLinkTTL is how long a guest's confirmation link stays good.
const guestLinkTTL = 48 * time.Hour

// sign returns the HMAC of purpose and value with the site's secret, as a
// URL-safe string.
func (h *bookingHandlers) sign(purpose, value string) string {
	m := hmac.New(sha256.New, h.Secret)
	m.Write([]byte(purpose + ":" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (h *bookingHandlers) verify(purpose, value, sig string) bool {
	return sig != "" && hmac.Equal([]byte(sig), []byte(h.sign(purpose, value)))
}

// ticketToken lets whoever holds it see and cancel the booking id
// without signing in (a guest's emailed link).
func (h *bookingHandlers) ticketToken(id uuid.UUID) string { return h.sign("ticket-link", id.String()) }

// ticketPath is a booking's ticket page, with its token for a guest.
func (h *bookingHandlers) ticketPath(b models.Booking) string {
	if b.UserID != uuid.Nil {
		return "/tickets/" + b.ID.String()
	}
	return "/tickets/" + b.ID.String() + "?t=" + h.ticketToken(b.ID)
}

// claimToken lets whoever holds it claim the waitlist offer id.
func (h *bookingHandlers) claimToken(id uuid.UUID) string { return bookings.ClaimToken(h.Secret, id) }

// guestBooking is what a guest's confirmation link carries: the booking
// asked for, the booking's id to be (so that the link books once) and
// when the link expires.
type guestBooking struct {
	Event      string    `json:"v"`
	Occurrence uuid.UUID `json:"o"`
	TicketType uuid.UUID `json:"t"`
	Quantity   int       `json:"q"`
	Name       string    `json:"n"`
	Email      string    `json:"e"`
	ID         uuid.UUID `json:"i"`
	Expires    int64     `json:"x"`
}

func (h *bookingHandlers) guestToken(g guestBooking) string {
	payload, _ := json.Marshal(g) // plain fields: cannot fail
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + h.sign("guest-booking", p)
}

var errBadLink = models.Errorf(models.ENotFound, "This confirmation link is not valid. Please book again from the event's page.")

// guestBookingOf reads and checks a confirmation link's token.
func (h *bookingHandlers) guestBookingOf(token string) (guestBooking, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || !h.verify("guest-booking", p, sig) {
		return guestBooking{}, errBadLink
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return guestBooking{}, errBadLink
	}
	var g guestBooking
	if err := json.Unmarshal(raw, &g); err != nil {
		return guestBooking{}, errBadLink
	}
	if h.now().Unix() > g.Expires {
		return guestBooking{}, models.Errorf(models.EConflict, "This confirmation link has expired (links last 48 hours). Please book again from the event's page.")
	}
	return g, nil
}

// sendMail sends a plain-text and HTML message whose body is the
// paragraphs and a link; a failure is logged and reported.
// extraHTML (trusted markup: images the caller built) follows the link
// in the HTML part.
func (h *bookingHandlers) sendMail(ctx context.Context, to, subject string, paragraphs []string, linkText, link, extraHTML string) error {
	if h.Mail == nil {
		return errors.New("no mail sender")
	}
	var text, body strings.Builder
	text.WriteString("Hello,\n\n")
	body.WriteString("<p>Hello,</p>")
	for _, p := range paragraphs {
		text.WriteString(p + "\n\n")
		body.WriteString("<p>" + html.EscapeString(p) + "</p>")
	}
	text.WriteString(linkText + ": " + link + "\n\n-- Rose Ash\n")
	body.WriteString(`<p><a href="` + html.EscapeString(link) + `">` + html.EscapeString(linkText) + `</a></p>` + extraHTML + `<p>-- Rose Ash</p>`)
	err := h.Mail.Send(ctx, mail.Message{To: to, Subject: subject, Text: text.String(), HTML: body.String()})
	if err != nil {
		h.Site.Logger.WarnContext(ctx, "booking email not sent", "subject", subject, "error", err)
	}
	return err
}

// mailOffers emails each waitlist offer its link to claim the places
// (bookings.OfferMailer, the words every service uses) and purges the
// pages that show places left.
func (h *bookingHandlers) mailOffers(ctx context.Context, offers []models.WaitlistEntry) {
	h.seatsChanged()
	bookings.OfferMailer{Mail: h.Mail, Secret: h.Secret, Logger: h.Site.Logger,
		EventsURL: func(path string) string { return h.Site.URL("events", path) }}.Send(ctx, offers)
}

func placesText(n int) string {
	if n == 1 {
		return "1 place"
	}
	return strconv.Itoa(n) + " places"
}
