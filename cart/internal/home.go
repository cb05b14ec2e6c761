package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/web"
)

// showHome renders the cart service's home page: the shopper's basket (a
// signed-in user's, or a guest's by their cookie), checked against the
// catalogue as currentBasket does (a user's kept a moment: keptBasket), with what that changed and the
// notices left for it (a merge at sign-in, a guest's add).
func showHome(b basketDeps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.renderBasket(w, r, http.StatusOK, "")
	}
}

// renderBasket renders the basket page with status; problem, when set,
// says why what the shopper asked was not done.
func (b basketDeps) renderBasket(w http.ResponseWriter, r *http.Request, status int, problem string) {
	ctx := r.Context()
	view := basketView{problem: problem, marketURL: b.site.URL("market", ""), eventsURL: b.site.URL("events", "")}
	if owner, ok := b.owner(r); ok {
		basket, err := keptBasket(ctx, b, owner)
		if err != nil {
			b.site.Error(w, r, err)
			return
		}
		if len(basket.Changes) > 0 {
			b.cartChanged(ctx, owner)
		}
		view.basket, view.guest = basket, owner.IsGuest()
	}
	_, view.signedIn = web.Viewer(ctx)
	view.notices = b.notices.pop(ctx) // once the page can be shown
	b.site.Render(w, r, status, HomePage(b.site.Page(r, ""), b.site.OtherServices(), view))
}

// basketView is what the basket page shows.
type basketView struct {
	basket Basket
	// guest marks a guest's basket (kept by a cookie); signedIn a user's.
	guest, signedIn bool
	// notices are left for this page by the request before; problem says
	// why the shopper's last change was not made.
	notices   []string
	problem   string
	marketURL string
	// eventsURL is the events service's address (ticket lines link their
	// event's page).
	eventsURL string
}
