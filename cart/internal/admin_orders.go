package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/services/orders"
)

// adminOrders lists the orders for admins, newest first, filtered by
// state and by email or number.
func (p *Payments) adminOrders(w http.ResponseWriter, r *http.Request) {
	q := orders.ListQuery{Status: r.URL.Query().Get("status"), Search: r.URL.Query().Get("q")}
	list, err := p.Orders.List(r.Context(), q)
	if err != nil {
		p.Site.Error(w, r, err)
		return
	}
	p.Site.Render(w, r, http.StatusOK, AdminOrdersPage(p.Site.Page(r, "Orders"), q, list))
}
