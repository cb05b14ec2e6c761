package contracts

import (
	"context"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
)

// Carts is the shopping carts, owned by the cart service: signed-in users'
// and guest browsers'. Every method acts on the cart of the user or owner
// it is given: callers pass the UUID of the user signed in to the request
// (for fragments, the one named in the signed user header) or the guest
// key of the request's own cookie, never one taken from a form or a URL.
type Carts interface {
	// CartSummary returns the item count and totals of the user's cart, for
	// the cart-mini fragment and the cart page. A user with no cart (or no
	// such user) gets the zero summary, not an error. Errors: EInternal.
	CartSummary(ctx context.Context, userID uuid.UUID) (models.CartSummary, error)
	// CartLines returns the lines of the user's cart, oldest first: the
	// products the cart page lists, which add up to CartSummary. A user
	// with no cart (or no such user) gets none, not an error. Errors:
	// EInternal.
	CartLines(ctx context.Context, userID uuid.UUID) ([]models.CartLine, error)
	// BasketLines returns the lines of the owner's cart (a signed-in
	// user's or a guest browser's), oldest first: what the basket page
	// lists. No cart gives none, not an error. Errors: EInternal.
	BasketLines(ctx context.Context, owner models.CartOwner) ([]models.CartLine, error)
	// AddItem puts item into the owner's cart, creating the cart on first
	// use. A product already in the cart has item.Quantity added to its
	// line and takes item's title and price (the latest ones). The cart
	// service calls it for a shopper's add-to-cart, signed in or a guest.
	// Errors: EInvalid for input models.ValidateCartItem refuses, the zero
	// owner, or a line that would exceed models.MaxCartQuantity (nothing
	// is written); ENotFound when the user does not exist; EInternal.
	AddItem(ctx context.Context, owner models.CartOwner, item models.CartItemInput) error
	// SetQuantity sets how many of the product (by reference) the owner's
	// cart holds; 0 removes the line. The caller has checked the stock.
	// Errors: EInvalid (below 0 or above models.MaxCartQuantity; nothing
	// is written), ENotFound (no such line in the cart), EInternal.
	SetQuantity(ctx context.Context, owner models.CartOwner, productRef string, quantity int) error
	// RemoveItem takes the product (by reference) out of the owner's
	// cart; a line that is not there is not an error. Errors: EInternal.
	RemoveItem(ctx context.Context, owner models.CartOwner, productRef string) error
	// RefreshLines brings the named lines of the owner's cart up to date
	// with the catalogue (title, price, at most MaxQuantity; 0 removes
	// the line), in one statement: the basket page calls it when a price,
	// the stock or the product's sale changed. Errors: EInvalid (an
	// update models.ValidateCartItem refuses; nothing is written),
	// EInternal.
	RefreshLines(ctx context.Context, owner models.CartOwner, updates []models.CartLineUpdate) error
	// MergeGuestCart moves a guest's cart into the user's when the guest
	// signs in, in one transaction: quantities summed and capped by
	// limits (by product reference; absent: models.MaxCartQuantity; 0
	// drops the line), the guest's cart deleted. A guest cart already
	// merged (another tab at the same moment) merges nothing and returns
	// no lines. Errors: EInvalid (guest is not a guest's cart), ENotFound
	// (no such user), EInternal.
	MergeGuestCart(ctx context.Context, guest models.CartOwner, userID uuid.UUID, limits map[string]int) ([]models.MergedLine, error)
}
