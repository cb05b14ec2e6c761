package internal

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/web"
)

// eventBookingsView is an event's bookings for its organiser.
type eventBookingsView struct {
	Event    bookings.EventRef
	Search   string
	Bookings []models.Booking
	// Places counts the confirmed and held places listed.
	Places int
}

// showEventBookings lists an event's bookings, every date, with a search
// by name or email, for its organiser and admins.
func (h *bookingHandlers) showEventBookings(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.organisedEvent(w, r)
	if !ok {
		return
	}
	v := eventBookingsView{Event: ev, Search: strings.TrimSpace(r.URL.Query().Get("q"))}
	var err error
	if v.Bookings, err = h.Bookings.BookingsOfEvent(r.Context(), ev.ID, v.Search); err != nil {
		h.Site.Error(w, r, err)
		return
	}
	for _, b := range v.Bookings {
		if b.Status == models.BookingConfirmed || b.Status == models.BookingHeld {
			v.Places += b.Quantity
		}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	h.Site.Render(w, r, http.StatusOK, EventBookingsPage(h.Site.Page(r, "Bookings: "+ev.Title), v))
}

// bookingsCSVHeader is the export's first row.
var bookingsCSVHeader = []string{"booking", "date_local", "name", "email", "remote_actor", "ticket_type", "places", "status", "booked_at_utc"}

// exportEventBookings answers the event's bookings the search matches as
// a CSV file.
func (h *bookingHandlers) exportEventBookings(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.organisedEvent(w, r)
	if !ok {
		return
	}
	list, err := h.Bookings.BookingsOfEvent(r.Context(), ev.ID, r.URL.Query().Get("q"))
	if err != nil {
		h.Site.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="bookings-`+ev.Slug+`.csv"`)
	w.Header().Set("Cache-Control", "private, no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write(bookingsCSVHeader)
	for _, b := range list {
		_ = cw.Write([]string{b.ID.String(), b.StartsAt.In(b.Zone()).Format("2006-01-02 15:04"), web.SpreadsheetSafe(b.Name),
			web.SpreadsheetSafe(b.Email), web.SpreadsheetSafe(b.RemoteActor), web.SpreadsheetSafe(b.TicketTypeName),
			strconv.Itoa(b.Quantity), b.Status, b.CreatedAt.UTC().Format(time.RFC3339)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		h.Site.Logger.ErrorContext(r.Context(), "bookings export cut short", "error", err)
	}
}
