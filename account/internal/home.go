package internal

import (
	"net/http"
	"strconv"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/web"
)

// showHome renders the account service's home page: for a signed-in user,
// a greeting, their profile and what their basket holds; for a visitor, an
// invitation to sign in.
func showHome(site *web.Site, carts contracts.Carts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := site.Page(r, "")
		var d *dashboard
		if u, ok := web.Viewer(r.Context()); ok {
			sum, err := carts.CartSummary(r.Context(), u.ID)
			if err != nil {
				site.Error(w, r, err)
				return
			}
			d = &dashboard{user: u, cart: sum}
		}
		site.Render(w, r, http.StatusOK, HomePage(p, site.OtherServices(), d, site.URL("cart", "/"), site.URL("federation", "/")))
	}
}

// dashboard is what the account page shows a signed-in user.
type dashboard struct {
	user models.User
	cart models.CartSummary
}

// itemCount is "1 item" or "N items".
func itemCount(n int) string {
	if n == 1 {
		return "1 item"
	}
	return strconv.Itoa(n) + " items"
}
