package internal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// Catalogue is what the cart reads of the market's catalogue: the variant
// a shopper adds, with its current price and stock, and the variants of
// a basket's lines in one query (products.Store).
type Catalogue interface {
	VariantForCart(ctx context.Context, variantID uuid.UUID) (products.CartLine, error)
	VariantsForCart(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]products.CartVariant, error)
}

// MaxAddQuantity is the most of one variant one add-to-cart form adds:
// what one line may hold.
const MaxAddQuantity = models.MaxCartQuantity

// errNotForSale answers a variant id that is not one.
var errNotForSale = models.Errorf(models.ENotFound, "That product is not for sale here: choose one on its page in the market.")

// addItem puts a variant of a product into the shopper's basket (POST
// /items, from a product page's Add to cart form: variant_id, quantity,
// next), at the price, currency and title the catalogue has now (what the
// form says of them is not read). A variant that is gone, sold out, or has
// fewer left than the basket would then hold is refused with a page saying
// why and a link back. A signed-in user's add refreshes their cart
// summary everywhere and returns to the page the form was on. A visitor's
// goes into a guest basket kept by a cookie (made on their first add),
// merged into their own when they sign in; they are shown the basket, as
// no header counts a guest's.
func addItem(b basketDeps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		back := returnAddress(b.site, r)
		if r.PostFormValue("ticket_type") != "" {
			addTicket(b, w, r, back) // an event page's paid booking form
			return
		}
		qty, err := parseQuantity(r.PostFormValue("quantity"))
		if err != nil {
			refuse(b.site, w, r, err, back)
			return
		}
		id, err := uuid.Parse(strings.TrimSpace(r.PostFormValue("variant_id")))
		if err != nil {
			refuse(b.site, w, r, errNotForSale, back)
			return
		}
		line, err := b.catalogue.VariantForCart(ctx, id)
		if err != nil {
			refuse(b.site, w, r, err, back)
			return
		}
		owner, ok := b.owner(r)
		newKey := ""
		if !ok {
			newKey = newGuestKey()
			owner = models.GuestCart(newKey)
		}
		ref := line.VariantID.String()
		if v := line.Variant; v.TrackStock && !v.AllowBackorder {
			held, err := quantityHeld(ctx, b.carts, owner, ref)
			if err != nil {
				b.site.Error(w, r, err)
				return
			}
			if held+qty > v.Stock {
				refuse(b.site, w, r, models.Errorf(models.EInvalid, "%s", tooFewLeft(line.Title, v.Stock, held)), back)
				return
			}
		}
		err = b.carts.AddItem(ctx, owner, models.CartItemInput{
			ProductRef: ref, Title: cartTitle(line.Title), UnitPrice: line.Price, Quantity: qty,
		})
		if err != nil {
			refuse(b.site, w, r, err, back)
			return
		}
		if !owner.IsGuest() {
			b.cartChanged(ctx, owner)
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		key := newKey
		if key == "" {
			key, _ = b.guests.key(r)
		}
		b.guests.set(w, key) // a new key, or the old one for another 30 days
		b.notices.add(ctx, fmt.Sprintf("%d × %s added to your basket.", qty, line.Title))
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

// parseQuantity reads the form's quantity: blank is 1, otherwise a whole
// number from 1 to MaxAddQuantity. Errors: EInvalid.
func parseQuantity(raw string) (int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxAddQuantity {
		return 0, models.Errorf(models.EInvalid, "The quantity must be a whole number from 1 to %d.", MaxAddQuantity)
	}
	return n, nil
}

// quantityHeld returns how many of the variant (by its cart reference)
// the owner's basket already holds.
func quantityHeld(ctx context.Context, carts contracts.Carts, owner models.CartOwner, ref string) (int, error) {
	lines, err := carts.BasketLines(ctx, owner)
	if err != nil {
		return 0, err
	}
	for _, l := range lines {
		if l.ProductRef == ref {
			return l.Quantity, nil
		}
	}
	return 0, nil
}

// tooFewLeft says why an add would pass the stock: how many are left, and
// how many of them the basket holds already.
func tooFewLeft(title string, stock, held int) string {
	left := "Only " + strconv.Itoa(stock) + " left of " + title
	switch {
	case held == 0:
		return left + "."
	case held >= stock:
		return left + ", and your basket has " + strconv.Itoa(held) + " already."
	default:
		return left + ": your basket has " + strconv.Itoa(held) + ", so you can add " + strconv.Itoa(stock-held) + " more."
	}
}

// returnAddress is where the shopper goes after adding (and what a refusal
// links back to): the form's next, when it is a path here or an address
// on one of the platform's services. A path from a form on another
// service (the market's product page says next=/products/...) is that
// service's path: the Origin of the post says which service it came from.
func returnAddress(site *web.Site, r *http.Request) string {
	origins := site.PlatformOrigins()
	next := r.PostFormValue("next")
	back := oauth.SafeNextOrOrigin(next, origins)
	if !strings.HasPrefix(back, "/") || back != next {
		return back
	}
	origin := r.Header.Get("Origin")
	if u, err := url.Parse(origin); err != nil || u.Host == r.Host {
		return back
	}
	for _, o := range origins {
		if o == origin {
			return origin + back
		}
	}
	return back
}

// refuse answers an add that cannot be done: a page saying why, with a
// link back to the product (404 for a product that is not for sale, 400
// for a quantity or stock the shopper can change), or the platform's
// error page for anything else.
func refuse(site *web.Site, w http.ResponseWriter, r *http.Request, err error, back string) {
	var status int
	switch models.Code(err) {
	case models.ENotFound:
		status = http.StatusNotFound
	case models.EInvalid:
		status = http.StatusBadRequest
	default:
		site.Error(w, r, err)
		return
	}
	site.Render(w, r, status, NotAddedPage(site.Page(r, "Not added to your basket"), models.Message(err), back))
}

// askToSignIn answers a form that needs a signed-in user (checkout)
// posted by a visitor: sign in, then back to the basket, where a guest's
// basket has joined theirs (a post is not replayed after signing in). A
// browser whose sign-in cannot be checked for the moment gets 503, as
// RequireUser gives.
func askToSignIn(site *web.Site, w http.ResponseWriter, r *http.Request) {
	if web.SignInUnavailable(r.Context()) {
		site.Error(w, r, models.Errorf(models.EUnavailable,
			"Signing in is unavailable for a moment. Please try again shortly."))
		return
	}
	if site.SignInPath == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, site.SignInPath+"?next="+url.QueryEscape("/"), http.StatusSeeOther)
}
