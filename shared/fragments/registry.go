package fragments

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// The platform's fragments, by name. A page asks for one with Named, a
// serving service keys its renderers by it, and a change that makes one
// stale invalidates it with InvalidateNamed: the name is written once.
const (
	// NavTree is the blog's site navigation (the header's site menu).
	NavTree = "nav-tree"
	// AccountNav is account's menu of the signed-in user's pages.
	AccountNav = "account-nav"
	// CartMini is the cart's summary (items and total) in the header.
	CartMini = "cart-mini"
	// Notifications is federation's badge of unread notifications.
	Notifications = "notifications"
	// Upcoming is events' list of the next events (the blog's home page).
	Upcoming = "upcoming"
	// Calendar is one calendar's widget, by the calendar's slug (Ref).
	Calendar = "calendar"
	// ProductCard is market's card of one product, by its slug (Ref).
	ProductCard = "product-card"
	// MarketWidget is market's widget of one market (its latest
	// products), by the market's slug (Ref).
	MarketWidget = "market"
	// EventCard is events' card of one event, by its slug (Ref).
	EventCard = "event-card"
	// Newsletter is account's subscribe form of one public newsletter,
	// by the list's slug (Ref).
	Newsletter = "newsletter"
)

// registry says which service serves each named fragment and whether it
// differs by signed-in user.
var registry = map[string]Request{
	NavTree:       {Service: "blog", Type: NavTree},
	AccountNav:    {Service: "account", Type: AccountNav, PerUser: true},
	CartMini:      {Service: "cart", Type: CartMini, PerUser: true},
	Notifications: {Service: "federation", Type: Notifications, PerUser: true},
	Upcoming:      {Service: "events", Type: Upcoming},
	Calendar:      {Service: "events", Type: Calendar},
	ProductCard:   {Service: "market", Type: ProductCard},
	MarketWidget:  {Service: "market", Type: MarketWidget},
	EventCard:     {Service: "events", Type: EventCard},
	Newsletter:    {Service: "account", Type: Newsletter},
}

// Lookup returns the request for the named fragment, and false for a name
// the registry does not know.
func Lookup(name string) (Request, bool) {
	r, ok := registry[name]
	return r, ok
}

// Named returns the request for the named fragment (one of this package's
// name constants). It panics on a name the registry does not know: that is
// a programming error, caught by the first test that renders the page.
func Named(name string) Request {
	r, ok := registry[name]
	if !ok {
		panic(fmt.Sprintf("fragments: no fragment named %q", name))
	}
	return r
}

// NamedRef returns the request for one of the named fragment's many (a
// calendar by its slug, see Request.Ref). It panics as Named does.
func NamedRef(name, ref string) Request {
	r := Named(name)
	r.Ref = ref
	return r
}

// InvalidateNamed deletes the cached copy of the named fragment (see
// Invalidate): for a per-user one, userID's copy (nil: the signed-out
// copy). It returns Redis's error; it panics as Named does.
func (c *Client) InvalidateNamed(ctx context.Context, name string, userID *uuid.UUID) error {
	r := Named(name)
	return c.Invalidate(ctx, r.Service, r.Type, r.PerUser, userID)
}

// InvalidateNamedRef deletes the cached copy of one of the named shared
// fragment's many (NamedRef), e.g. a product's card after the product
// changes. It returns Redis's error; it panics as Named does.
func (c *Client) InvalidateNamedRef(ctx context.Context, name, ref string) error {
	r := Named(name)
	return InvalidateRef(ctx, c.rdb, c.keys, r.Service, r.Type, ref)
}
