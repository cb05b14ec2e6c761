package internal

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/ticketqr"
	"rose-ash.com/platform/shared/web"
)

// dashboardOrders is how many of a member's orders the dashboard lists;
// dashboardTickets how many bookings with tickets it shows.
const (
	dashboardOrders  = 20
	dashboardTickets = 20
)

// showHome renders the account service's home page: for a signed-in user,
// a greeting, their profile, what their basket holds, their orders and
// their tickets (upcoming first, with QR codes); for a visitor, an
// invitation to sign in (every service serves its "/" to visitors: the
// platform check in servicetest asks for it, so no redirect here).
func showHome(site *web.Site, carts contracts.Carts, orderStore *orders.Store, bookingStore *bookings.Store, db *pgxpool.Pool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := site.Page(r, "")
		var d *dashboard
		if u, ok := web.Viewer(r.Context()); ok {
			sum, err := carts.CartSummary(r.Context(), u.ID)
			if err != nil {
				site.Error(w, r, err)
				return
			}
			d = &dashboard{user: u, cart: sum, ordersURL: site.URL("cart", "/orders/"), ticketsURL: site.URL("events", "/tickets/")}
			d.newsletters = newslettersFrom(r.Context())
			d.security = securityFrom(r.Context())
			if d.profile, err = dashboardProfile(r.Context(), site, db, u); err != nil {
				site.Error(w, r, err)
				return
			}
			if d.orders, err = orderStore.OrdersOf(r.Context(), u.ID, dashboardOrders); err != nil {
				site.Error(w, r, err)
				return
			}
			if d.items, err = orderItems(r.Context(), db, d.orders); err != nil {
				site.Error(w, r, err)
				return
			}
			now := time.Now()
			if d.bookings, err = bookingStore.BookingsOfUser(r.Context(), u.ID, now); err != nil {
				site.Error(w, r, err)
				return
			}
			if d.tickets, err = ticketsOf(r.Context(), bookingStore, d.bookings); err != nil {
				site.Error(w, r, err)
				return
			}
			d.now = now
		}
		site.Render(w, r, http.StatusOK, HomePage(p, site.OtherServices(), d, site.URL("cart", "/"), site.URL("federation", "/")))
	}
}

// orderItems returns what each order bought ("2 × Sourdough loaf"), in
// the order's line order, by order id: one read of order_lines for all.
func orderItems(ctx context.Context, db *pgxpool.Pool, list []models.Order) (map[uuid.UUID][]string, error) {
	ids := make([]uuid.UUID, len(list))
	for i, o := range list {
		ids[i] = o.ID
	}
	rows, err := db.Query(ctx, `SELECT order_id, title, quantity FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, position, id`, ids)
	if err != nil {
		return nil, models.Wrap(models.EInternal, "", fmt.Errorf("account: order items: %w", err))
	}
	defer rows.Close()
	out := map[uuid.UUID][]string{}
	for rows.Next() {
		var id uuid.UUID
		var title string
		var n int
		if err := rows.Scan(&id, &title, &n); err != nil {
			return nil, models.Wrap(models.EInternal, "", fmt.Errorf("account: order items: %w", err))
		}
		out[id] = append(out[id], strconv.Itoa(n)+" × "+title)
	}
	if err := rows.Err(); err != nil {
		return nil, models.Wrap(models.EInternal, "", fmt.Errorf("account: order items: %w", err))
	}
	return out, nil
}

// ticketsOf returns the confirmed ones of the user's bookings (list, from
// BookingsOfUser: upcoming first, then past ones, latest first) with their
// valid tickets and each ticket's QR code.
func ticketsOf(ctx context.Context, store *bookings.Store, list []models.Booking) ([]bookingTickets, error) {
	var out []bookingTickets
	for _, b := range list {
		if b.Status != models.BookingConfirmed {
			continue
		}
		if len(out) == dashboardTickets {
			break
		}
		full, err := store.Booking(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		bt := bookingTickets{Booking: full, When: eventTime(full)}
		for _, t := range full.Tickets {
			if t.Status != "valid" {
				continue
			}
			src, err := ticketqr.SVGDataURI(t.Code())
			if err != nil {
				return nil, models.Wrap(models.EInternal, "", err)
			}
			bt.QR = append(bt.QR, ticketQR{Seat: t.Seat, Src: src})
		}
		if len(bt.QR) > 0 {
			out = append(out, bt)
		}
	}
	return out, nil
}

// eventTime is when the booking's occurrence starts, written in the
// event's time zone (UTC when the zone is unknown).
func eventTime(b models.Booking) string { return eventTimeAt(b, b.StartsAt) }

// eventTimeAt writes t in the booking's event's time zone (UTC when the
// zone is unknown).
func eventTimeAt(b models.Booking, t time.Time) string {
	loc, err := time.LoadLocation(b.TimeZone)
	if err != nil || b.TimeZone == "" {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")
}

// dashboard is what the account page shows a signed-in user.
type dashboard struct {
	user models.User
	// profile is the Profile section: picture, names, address, fediverse identity.
	profile *profileView
	cart    models.CartSummary
	orders  []models.Order
	// items is what each order bought, by order id.
	items   map[uuid.UUID][]string
	tickets []bookingTickets
	// bookings are all the user's bookings (upcoming first); now is when
	// the page was asked for (a booking's cancel deadline is against it).
	bookings []models.Booking
	now      time.Time
	// ordersURL and ticketsURL are the cart's order pages and the events
	// service's ticket pages, each followed by an id.
	ordersURL, ticketsURL string
	// newsletters is the Newsletters section (newsletters_dashboard.go).
	newsletters *memberNewsletters
	// security is the Security and Your data sections (security.go).
	security *securityView
}

// bookingTickets is one booking in the dashboard's Tickets section.
type bookingTickets struct {
	Booking models.Booking
	// When is the start in the event's zone.
	When string
	QR   []ticketQR
}

// ticketQR is one valid ticket's seat and QR code (an SVG data: URI).
type ticketQR struct {
	Seat int
	Src  string
}

// qrAlt is a ticket's QR code's alternative text (as on the events
// service's ticket page).
func qrAlt(b models.Booking, seat int) string {
	return "QR code for ticket " + strconv.Itoa(seat) + " of " + strconv.Itoa(b.Quantity) + ", " + b.EventTitle
}

// bookingState is a booking's state in words, as the events service's
// "Your tickets" page says it.
func bookingState(b models.Booking, now time.Time) string {
	switch {
	case b.Status == models.BookingCancelled:
		return "cancelled"
	case b.Status == models.BookingExpired:
		return "expired"
	case b.Status == models.BookingHeld:
		return "waiting for payment"
	case !b.EndsAt.After(now):
		return "past"
	}
	return "booked"
}

// cancelUntil says until when the holder may cancel b on its ticket page
// ("" when they may not).
func cancelUntil(b models.Booking, now time.Time) string {
	if !b.Cancellable(now) {
		return ""
	}
	return "Cancel on its ticket page until " + eventTimeAt(b, b.CancelDeadline()) + "."
}

// places is "1 place" or "N places".
func places(n int) string {
	if n == 1 {
		return "1 place"
	}
	return strconv.Itoa(n) + " places"
}

// itemCount is "1 item" or "N items".
func itemCount(n int) string {
	if n == 1 {
		return "1 item"
	}
	return strconv.Itoa(n) + " items"
}
