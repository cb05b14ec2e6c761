package internal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/social"
	"rose-ash.com/platform/shared/web"
)

// exportAbout is the export's "about" string: what it holds and what not yet.
const exportAbout = "Everything Rose Ash keeps about you as a member: your profile, your orders with their lines, " +
	"your bookings with their tickets (the codes are yours: keep them private), your basket, " +
	"your newsletter subscriptions with their consent log (when, from which page and address you subscribed, confirmed or left), " +
	"and your part of the social hub: your posts, whom you follow and who follows you, what you liked and boosted."

// exportOrders bounds how many orders the export holds (all of a member's,
// in practice).
const exportOrders = 10000

// dataExport is the JSON a member downloads from /export.json.
type dataExport struct {
	GeneratedAt time.Time       `json:"generated_at"`
	About       string          `json:"about"`
	Profile     exportProfile   `json:"profile"`
	Orders      []exportOrder   `json:"orders"`
	Bookings    []exportBooking `json:"bookings"`
	Cart        exportCart      `json:"cart"`
	// Newsletters are the member's subscriptions and consent log (none
	// when the service runs without newsletters).
	Newsletters *newsletters.Export `json:"newsletters,omitempty"`
	// Hub is the member's social hub data (none until they choose a
	// username, which their hub actor is named by).
	Hub *social.HubExport `json:"hub,omitempty"`
}

type exportProfile struct {
	Email       string    `json:"email"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Created     time.Time `json:"created"`
}

type exportOrder struct {
	Number     int64             `json:"number"`
	Status     string            `json:"status"`
	Currency   string            `json:"currency"`
	TotalMinor int64             `json:"total_minor"`
	Created    time.Time         `json:"created"`
	Lines      []exportOrderLine `json:"lines"`
}

type exportOrderLine struct {
	Market         string `json:"market"`
	Title          string `json:"title"`
	Quantity       int    `json:"quantity"`
	UnitPriceMinor int64  `json:"unit_price_minor"`
}

type exportBooking struct {
	Event      string         `json:"event"`
	Location   string         `json:"location"`
	StartsAt   time.Time      `json:"starts_at"`
	EndsAt     time.Time      `json:"ends_at"`
	TicketType string         `json:"ticket_type"`
	Quantity   int            `json:"quantity"`
	Name       string         `json:"name"`
	Email      string         `json:"email"`
	Status     string         `json:"status"`
	Created    time.Time      `json:"created"`
	Tickets    []exportTicket `json:"tickets"`
}

type exportTicket struct {
	Seat   int    `json:"seat"`
	Code   string `json:"code"`
	Status string `json:"status"`
}

type exportMoney struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

type exportCart struct {
	ItemCount int           `json:"item_count"`
	Totals    []exportMoney `json:"totals"`
}

// exportData serves GET /export.json: the signed-in member's data as a
// JSON attachment ("Download my data"); a visitor gets 401.
func exportData(site *web.Site, carts contracts.Carts, orderStore *orders.Store, bookingStore *bookings.Store, db *pgxpool.Pool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := web.Viewer(r.Context())
		if !ok {
			site.Error(w, r, models.Errorf(models.EUnauthenticated, "Sign in to download your data."))
			return
		}
		hub := social.New(db, nil, social.Options{FederationURL: site.URL("federation", "")})
		x, err := collectExport(r.Context(), u, carts, orderStore, bookingStore, db, hub)
		if err != nil {
			site.Error(w, r, err)
			return
		}
		b, err := json.MarshalIndent(x, "", "  ")
		if err != nil {
			site.Error(w, r, models.Wrap(models.EInternal, "", err))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="rose-ash-data.json"`)
		w.Header().Set("Cache-Control", "private, no-store")
		_, _ = w.Write(b)
	}
}

// collectExport gathers u's data: every read is by u's id.
func collectExport(ctx context.Context, u models.User, carts contracts.Carts, orderStore *orders.Store, bookingStore *bookings.Store, db *pgxpool.Pool, hub *social.Store) (dataExport, error) {
	x := dataExport{GeneratedAt: time.Now().UTC(), About: exportAbout, Orders: []exportOrder{}, Bookings: []exportBooking{},
		Profile: exportProfile{Email: u.Email, Username: u.Username, DisplayName: u.DisplayName, Created: u.CreatedAt}}
	list, err := orderStore.OrdersOf(ctx, u.ID, exportOrders)
	if err != nil {
		return x, err
	}
	lines, err := orderLines(ctx, db, list)
	if err != nil {
		return x, err
	}
	for _, o := range list {
		eo := exportOrder{Number: o.Number, Status: string(o.Status), Currency: o.Currency, TotalMinor: o.Total, Created: o.CreatedAt, Lines: lines[o.ID]}
		if eo.Lines == nil {
			eo.Lines = []exportOrderLine{}
		}
		x.Orders = append(x.Orders, eo)
	}
	bs, err := bookingStore.BookingsOfUser(ctx, u.ID, time.Now())
	if err != nil {
		return x, err
	}
	for _, b := range bs {
		full, err := bookingStore.Booking(ctx, b.ID)
		if err != nil {
			return x, err
		}
		eb := exportBooking{Event: full.EventTitle, Location: full.Location, StartsAt: full.StartsAt, EndsAt: full.EndsAt, TicketType: full.TicketTypeName,
			Quantity: full.Quantity, Name: full.Name, Email: full.Email, Status: full.Status, Created: full.CreatedAt, Tickets: []exportTicket{}}
		for _, t := range full.Tickets {
			eb.Tickets = append(eb.Tickets, exportTicket{Seat: t.Seat, Code: t.Code(), Status: t.Status})
		}
		x.Bookings = append(x.Bookings, eb)
	}
	sum, err := carts.CartSummary(ctx, u.ID)
	if err != nil {
		return x, err
	}
	if nl := newsletterStoreFrom(ctx); nl != nil {
		ex, err := nl.SubscriptionsExport(ctx, u.ID, u.Email)
		if err != nil {
			return x, err
		}
		x.Newsletters = &ex
	}
	if me, err := hub.ActorOf(u); err == nil {
		hx, err := hub.Export(ctx, me)
		if err != nil {
			return x, err
		}
		x.Hub = &hx
	}
	x.Cart = exportCart{ItemCount: sum.ItemCount, Totals: []exportMoney{}}
	for _, m := range sum.Totals {
		x.Cart.Totals = append(x.Cart.Totals, exportMoney{Minor: m.Minor, Currency: m.Currency})
	}
	return x, nil
}

// orderLines returns the lines of the listed orders, by order id, in
// their order.
func orderLines(ctx context.Context, db *pgxpool.Pool, list []models.Order) (map[uuid.UUID][]exportOrderLine, error) {
	ids := make([]uuid.UUID, len(list))
	for i, o := range list {
		ids[i] = o.ID
	}
	rows, err := db.Query(ctx, `SELECT order_id, market_name, title, quantity, unit_price_minor FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, position, id`, ids)
	if err != nil {
		return nil, models.Wrap(models.EInternal, "", fmt.Errorf("account: export order lines: %w", err))
	}
	defer rows.Close()
	out := map[uuid.UUID][]exportOrderLine{}
	for rows.Next() {
		var id uuid.UUID
		var l exportOrderLine
		if err := rows.Scan(&id, &l.Market, &l.Title, &l.Quantity, &l.UnitPriceMinor); err != nil {
			return nil, models.Wrap(models.EInternal, "", fmt.Errorf("account: export order lines: %w", err))
		}
		out[id] = append(out[id], l)
	}
	if err := rows.Err(); err != nil {
		return nil, models.Wrap(models.EInternal, "", fmt.Errorf("account: export order lines: %w", err))
	}
	return out, nil
}
