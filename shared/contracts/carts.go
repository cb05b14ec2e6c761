package contracts

import (
	"context"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
)

// Carts is the signed-in users' shopping carts, owned by the cart service.
// Every method acts on the cart of the user it is given: callers pass the
// UUID of the user signed in to the request (for fragments, the one named
// in the signed user header), never one taken from a form or a URL.
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
	// AddItem puts item into the user's cart, creating the cart on first
	// use. A product already in the cart has item.Quantity added to its
	// line and takes item's title and price (the latest ones). The cart
	// service calls it for the signed-in user's add-to-cart. Errors:
	// EInvalid for input models.ValidateCartItem refuses or a line that
	// would exceed models.MaxCartQuantity (nothing is written);
	// ENotFound when the user does not exist; EInternal.
	AddItem(ctx context.Context, userID uuid.UUID, item models.CartItemInput) error
}
