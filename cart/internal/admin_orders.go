package internal

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/web"
)

// adminPerPage is how many orders a page of the admins' list shows.
const adminPerPage = 50

// orderFilter is the admins' list's filters as typed in the query.
type orderFilter struct {
	Status, Market, From, To, Search string
	Page                             int
}

// readOrderFilter reads the list's filters from the query. Errors:
// EInvalid (a date or page that is not one), whose message says which.
func readOrderFilter(r *http.Request) (orderFilter, orders.AdminQuery, error) {
	v := r.URL.Query()
	f := orderFilter{Status: v.Get("status"), Market: strings.TrimSpace(v.Get("market")), From: strings.TrimSpace(v.Get("from")),
		To: strings.TrimSpace(v.Get("to")), Search: strings.TrimSpace(v.Get("q")), Page: 1}
	q := orders.AdminQuery{Market: f.Market, Search: f.Search, PerPage: adminPerPage}
	if slices.Contains(orderStates, f.Status) {
		q.Status = f.Status
	} else {
		f.Status = ""
	}
	var err error
	if q.From, err = readDay(f.From, "From"); err != nil {
		return f, q, err
	}
	if q.To, err = readDay(f.To, "To"); err != nil {
		return f, q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return f, q, models.Errorf(models.EInvalid, "The dates are the wrong way round: %s is after %s.", f.From, f.To)
	}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100000 {
			return f, q, models.Errorf(models.EInvalid, "There is no page %q.", p)
		}
		f.Page = n
	}
	q.Page = f.Page
	return f, q, nil
}

// readDay reads a date typed as YYYY-MM-DD (the date input's value); empty
// is no bound.
func readDay(s, what string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, models.Errorf(models.EInvalid, "%s must be a date such as 2026-03-31 (you typed %q).", what, s)
	}
	return d, nil
}

// query writes the filters as a query string (without the page when p is
// 0), "" when there are none.
func (f orderFilter) query(p int) string {
	return web.ListQuery(map[string]string{"status": f.Status, "market": f.Market, "from": f.From, "to": f.To, "q": f.Search}, p)
}

// adminOrderList is what the admins' list of orders shows.
type adminOrderList struct {
	Filter  orderFilter
	Page    orders.AdminPage
	Markets []orders.OrderMarket
	Problem string
}

// adminOrders lists the orders for admins, newest first, a page at a
// time, filtered by state, market, the days placed and email or number,
// with a link to export the same as CSV.
func (p *Payments) adminOrders(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, q, ferr := readOrderFilter(r)
	markets, err := p.Orders.OrderMarkets(ctx)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	list := adminOrderList{Filter: f, Markets: markets, Page: orders.AdminPage{Page: 1, PerPage: adminPerPage}}
	status := http.StatusOK
	if ferr != nil {
		list.Problem, status = models.Message(ferr), http.StatusUnprocessableEntity
	} else if list.Page, err = p.Orders.AdminOrders(ctx, q); err != nil {
		p.Site.Error(w, r, err)
		return
	}
	p.Site.Render(w, r, status, AdminOrdersPage(p.Site.Page(r, "Orders"), list))
}

// csvHeader is the export's first row.
var csvHeader = []string{"number", "placed_at_utc", "email", "status", "fulfilment", "currency", "subtotal", "delivery",
	"total", "vat", "refunded"}

// exportOrders answers the orders the list's filters match (every page)
// as a CSV file, amounts as decimals of the currency's major unit.
func (p *Payments) exportOrders(w http.ResponseWriter, r *http.Request) {
	_, q, err := readOrderFilter(r)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="orders-`+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	err = p.Orders.EachOrder(r.Context(), q, func(o models.Order) error {
		money := func(minor int64) string { return o.Money(minor).Decimal() }
		return cw.Write([]string{strconv.FormatInt(o.Number, 10), o.CreatedAt.UTC().Format(time.RFC3339), web.SpreadsheetSafe(o.Email),
			o.Status, o.Fulfilment, o.Currency, money(o.Subtotal), money(o.Delivery), money(o.Total), money(o.VAT), money(o.Refunded)})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		// The header is sent: the file ends short, and the log says why.
		p.Site.Logger.ErrorContext(r.Context(), "orders export cut short", "error", err)
	}
}
