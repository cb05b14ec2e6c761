package internal

import (
	"net/http"
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/web"
)

// addItem puts a product into the signed-in user's cart (POST /items, from
// an add-to-cart form), then refreshes the user's cart summary everywhere
// and returns to the page the form was on.
func addItem(site *web.Site, carts contracts.Carts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		user, _ := web.Viewer(ctx)
		price, perr := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("unit_price_minor")), 10, 64)
		qty, qerr := strconv.Atoi(strings.TrimSpace(r.PostFormValue("quantity")))
		if perr != nil || qerr != nil {
			site.Error(w, r, models.Errorf(models.EInvalid, "The price and the quantity must be whole numbers."))
			return
		}
		err := carts.AddItem(ctx, user.ID, models.CartItemInput{
			ProductRef: r.PostFormValue("product_ref"), Title: r.PostFormValue("title"),
			UnitPrice: models.Money{Minor: price, Currency: r.PostFormValue("currency")}, Quantity: qty,
		})
		if err != nil {
			site.Error(w, r, err)
			return
		}
		if site.Fragments != nil {
			if err := site.Fragments.InvalidateNamed(ctx, fragments.CartMini, &user.ID); err != nil {
				site.Logger.WarnContext(ctx, "cart-mini not invalidated", "error", err)
			}
		}
		http.Redirect(w, r, oauth.SafeNext(r.PostFormValue("next")), http.StatusSeeOther)
	}
}
