package internal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// Catalogue is what the cart reads of the market's catalogue: the variant
// a shopper adds, with its current price and stock (products.Store).
type Catalogue interface {
	VariantForCart(ctx context.Context, variantID uuid.UUID) (products.CartLine, error)
}

// MaxAddQuantity is the most of one variant one add-to-cart form adds.
const MaxAddQuantity = 99

// errNotForSale answers a variant id that is not one.
var errNotForSale = models.Errorf(models.ENotFound, "That product is not for sale here: choose one on its page in the market.")

// addItem puts a variant of a product into the signed-in user's cart (POST
// /items, from a product page's Add to cart form: variant_id, quantity,
// next), at the price, currency and title the catalogue has now (what the
// form says of them is not read). A variant that is gone, sold out, or has
// fewer left than the basket would then hold is refused with a page saying
// why and a link back. Then it refreshes the user's cart summary
// everywhere and returns to the page the form was on. A visitor is sent to
// sign in first (askToSignIn).
func addItem(site *web.Site, carts contracts.Carts, catalogue Catalogue) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		user, ok := web.Viewer(ctx)
		if !ok {
			askToSignIn(site, w, r)
			return
		}
		back := returnAddress(site, r)
		qty, err := parseQuantity(r.PostFormValue("quantity"))
		if err != nil {
			refuse(site, w, r, err, back)
			return
		}
		id, err := uuid.Parse(strings.TrimSpace(r.PostFormValue("variant_id")))
		if err != nil {
			refuse(site, w, r, errNotForSale, back)
			return
		}
		line, err := catalogue.VariantForCart(ctx, id)
		if err != nil {
			refuse(site, w, r, err, back)
			return
		}
		ref := line.VariantID.String()
		if v := line.Variant; v.TrackStock && !v.AllowBackorder {
			held, err := quantityHeld(ctx, carts, user.ID, ref)
			if err != nil {
				site.Error(w, r, err)
				return
			}
			if held+qty > v.Stock {
				refuse(site, w, r, models.Errorf(models.EInvalid, "%s", tooFewLeft(line.Title, v.Stock, held)), back)
				return
			}
		}
		err = carts.AddItem(ctx, user.ID, models.CartItemInput{
			ProductRef: ref, Title: line.Title, UnitPrice: line.Price, Quantity: qty,
		})
		if err != nil {
			refuse(site, w, r, err, back)
			return
		}
		if site.Fragments != nil {
			if err := site.Fragments.InvalidateNamed(ctx, fragments.CartMini, &user.ID); err != nil {
				site.Logger.WarnContext(ctx, "cart-mini not invalidated", "error", err)
			}
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
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
// the user's cart already holds.
func quantityHeld(ctx context.Context, carts contracts.Carts, userID uuid.UUID, ref string) (int, error) {
	lines, err := carts.CartLines(ctx, userID)
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

// askToSignIn answers an add-to-cart form posted by a visitor the cart
// does not know (not signed in here yet, or a browser that kept the
// session cookie from a post another site made): sign in, then confirm
// the add on GET /items, which carries what the form said. A browser whose
// sign-in cannot be checked for the moment gets 503, as RequireUser gives.
func askToSignIn(site *web.Site, w http.ResponseWriter, r *http.Request) {
	if web.SignInUnavailable(r.Context()) {
		site.Error(w, r, models.Errorf(models.EUnavailable,
			"Signing in is unavailable for a moment, so nothing was added to your basket. Please try again shortly."))
		return
	}
	if site.SignInPath == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := url.Values{}
	for _, k := range []string{"variant_id", "quantity", "next"} {
		if v := r.PostFormValue(k); v != "" {
			q.Set(k, v)
		}
	}
	if q.Get("next") != "" {
		q.Set("next", returnAddress(site, r))
	}
	http.Redirect(w, r, site.SignInPath+"?next="+url.QueryEscape("/items?"+q.Encode()), http.StatusSeeOther)
}

// confirmItem (GET /items, after signing in from an add-to-cart form) asks
// the shopper to confirm the add the form asked for, with a button that
// posts it here; nothing is added by a GET. Without a variant it shows the
// basket; a variant that cannot be added is refused as the post would be.
func confirmItem(site *web.Site, catalogue Catalogue) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("variant_id") == "" {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		back := oauth.SafeNextOrOrigin(q.Get("next"), site.PlatformOrigins())
		qty, err := parseQuantity(q.Get("quantity"))
		if err != nil {
			refuse(site, w, r, err, back)
			return
		}
		id, err := uuid.Parse(strings.TrimSpace(q.Get("variant_id")))
		if err != nil {
			refuse(site, w, r, errNotForSale, back)
			return
		}
		line, err := catalogue.VariantForCart(r.Context(), id)
		if err != nil {
			refuse(site, w, r, err, back)
			return
		}
		site.Render(w, r, http.StatusOK, ConfirmItemPage(site.Page(r, "Add to your basket"), line, qty, back))
	}
}
