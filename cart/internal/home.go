package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/web"
)

// showHome renders the cart service's home page: the signed-in user's
// basket, line by line with its totals (what the header's cart summary
// counts), or an invitation to sign in.
func showHome(site *web.Site, carts contracts.Carts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := site.Page(r, "")
		var b *basket
		if u, ok := web.Viewer(r.Context()); ok {
			lines, err := carts.CartLines(r.Context(), u.ID)
			if err != nil {
				site.Error(w, r, err)
				return
			}
			sum, err := carts.CartSummary(r.Context(), u.ID)
			if err != nil {
				site.Error(w, r, err)
				return
			}
			b = &basket{lines: lines, summary: sum}
		}
		site.Render(w, r, http.StatusOK, HomePage(p, site.OtherServices(), b, site.URL("market", "/")))
	}
}

// basket is a signed-in user's cart as the cart page shows it.
type basket struct {
	lines   []models.CartLine
	summary models.CartSummary
}
