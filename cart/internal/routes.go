// Package internal is the cart service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/web"
)

// Deps are what the cart service's handlers need.
type Deps struct {
	Site *web.Site
	// Auth signs visitors in through federation.
	Auth  *oauth.Client
	Carts contracts.Carts
	// Catalogue gives the price, title and stock of the variant a
	// shopper adds.
	Catalogue Catalogue
	// Tickets gives the title, price and places left of the event
	// tickets a shopper adds (nil: none sold here).
	Tickets Tickets
	// Sessions is the cart's session (the one Auth loads): it carries
	// the basket page's one-time notices.
	Sessions *scs.SessionManager
	// Payments is the checkout, orders and SumUp payments.
	Payments *Payments
	// KeptBaskets keeps signed-in shoppers' basket pages for a moment
	// (nil: none kept); Payments.Kept must be the same.
	KeptBaskets *KeptBaskets
}

// NewServer returns the cart service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, fragmentRenderers(d.Carts, site.URL("cart", "")))
	// SumUp's notifications: unsigned, so each is checked with a GET.
	r.Post("/payments/sumup/webhook", d.Payments.webhook)

	// Pages: the visitor's session and sign-in state.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		// A guest's basket joins the user's once they are signed in.
		basket := newBasketDeps(d)
		r.Use(mergeGuestBasket(basket))
		d.Auth.Mount(r)
		mountPages(r, site, basket, d.Payments)
	})
	return r
}

// mountPages mounts the cart's pages (the basket, checkout, orders and the
// orders admin) on r, whose middleware has loaded the visitor's session
// and sign-in state and merged a guest's basket.
func mountPages(r chi.Router, site *web.Site, basket basketDeps, p *Payments) {
	r.Get("/", showHome(basket))
	r.Post("/items", addItem(basket))
	// Where a sign-in begun by an older add-to-cart form returns.
	r.Get("/items", http.RedirectHandler("/", http.StatusSeeOther).ServeHTTP)
	r.Post("/items/{ref}/quantity", changeQuantity(basket))
	r.Post("/items/{ref}/remove", removeLine(basket))
	// Checkout and orders (checkout.go, orders.go).
	r.Post("/checkout", p.toCheckout)
	r.Get("/checkout", p.checkoutForm)
	r.Post("/checkout/pay", p.pay)
	r.With(site.RequireUser).Get("/orders", p.myOrders)
	r.Get("/orders/{id}", p.showOrder)
	r.Get("/orders/{id}/return", p.returned)
	r.Post("/orders/{id}/retry", p.retry)
	r.With(site.RequireAdmin).Get("/admin", site.ShowAdminHome)
	r.With(site.RequireAdmin).Get("/admin/orders", p.adminOrders)
	r.With(site.RequireAdmin).Get("/admin/orders.csv", p.exportOrders)
	r.With(site.RequireAdmin).Get("/admin/orders/{id}", p.showAdminOrder)
	r.With(site.RequireAdmin).Post("/admin/orders/{id}/move", p.moveOrder)
	r.With(site.RequireAdmin).Post("/admin/orders/{id}/refund", p.refundOrder)
}
