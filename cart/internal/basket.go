package internal

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// basketDeps are what the basket's handlers share: the site, the carts,
// the catalogue they are checked against, the session's one-time notices
// and the guests' basket cookie.
type basketDeps struct {
	site      *web.Site
	carts     contracts.Carts
	catalogue Catalogue
	// tickets are the events' paid tickets (nil: none sold here).
	tickets Tickets
	notices notices
	guests  guestCookie
	kept    *KeptBaskets
}

func newBasketDeps(d Deps) basketDeps {
	return basketDeps{site: d.Site, carts: d.Carts, catalogue: d.Catalogue, tickets: d.Tickets, notices: notices{d.Sessions},
		guests: newGuestCookie(d.Site), kept: d.KeptBaskets}
}

// owner returns whose basket the request shows: the signed-in user's, else
// the guest's whose cookie it carries; none for a visitor without one.
func (b basketDeps) owner(r *http.Request) (models.CartOwner, bool) {
	if u, ok := web.Viewer(r.Context()); ok {
		return models.UserCart(u.ID), true
	}
	if key, ok := b.guests.key(r); ok {
		return models.GuestCart(key), true
	}
	return models.CartOwner{}, false
}

// cartChanged refreshes what shows the cart after a change made in this
// request: the user's cart-mini (guests have none) and the session's kept
// basket.
func (b basketDeps) cartChanged(ctx context.Context, owner models.CartOwner) {
	b.kept.changed(ctx)
	userCartChanged(ctx, b.site, owner.UserID)
}

// Basket is a cart as the catalogue sells it now: its lines at their
// current prices and the quantities the stock allows, with totals per
// currency. currentBasket makes one; checkout reads the same.
type Basket struct {
	Lines []BasketLine
	// Totals are the subtotals, one per currency, ordered by code.
	Totals    []BasketTotal
	ItemCount int
	// Changes say, one sentence each, what checking the cart against the
	// catalogue changed: a price, a quantity cut to the stock, a line
	// taken out.
	Changes []string
}

// IsEmpty reports whether the basket holds nothing.
func (b Basket) IsEmpty() bool { return len(b.Lines) == 0 }

// BasketLine is one line of a Basket: the cart's line at the variant's
// current price and title, with what the page shows of the product.
type BasketLine struct {
	models.CartLine
	VariantID   uuid.UUID
	ProductSlug string
	// EventSlug is set on a line of event tickets: its event's page is
	// /events/<slug> on the events service.
	EventSlug string
	Image     models.ProductImage
	// VATRateBP is the product's VAT rate; VAT is the part of the line's
	// total it makes up (the price includes it).
	VATRateBP int
	VAT       models.Money
	// MaxQuantity is the most the line may hold now.
	MaxQuantity int
}

// BasketTotal is a basket's subtotal in one currency, the VAT it
// includes and how many items make it.
type BasketTotal struct {
	Subtotal  models.Money
	VAT       models.Money
	ItemCount int
}

// currentBasket reads the owner's cart (one query), checks it against the
// catalogue and the events' tickets (one batched query each) and writes
// back what changed, in one statement and only when something did: a line
// whose price changed takes the new one, a line above the stock or the
// places left is cut to it, a line sold out, unpublished, gone or no
// longer on sale is taken out. The Basket's Changes say so. Errors:
// EInternal.
func currentBasket(ctx context.Context, d basketDeps, owner models.CartOwner) (Basket, error) {
	lines, err := d.carts.BasketLines(ctx, owner)
	if err != nil || len(lines) == 0 {
		return Basket{}, err
	}
	lines, ticketed, refs := ticketLines(lines)
	ids := make([]uuid.UUID, 0, len(lines))
	for _, l := range lines {
		if id, err := uuid.Parse(l.ProductRef); err == nil {
			ids = append(ids, id)
		}
	}
	variants, err := d.catalogue.VariantsForCart(ctx, ids)
	if err != nil {
		return Basket{}, err
	}
	tickets := map[calendars.TicketRef]calendars.CartTicket{}
	if len(refs) > 0 && d.tickets != nil {
		if tickets, err = d.tickets.TicketsForCart(ctx, refs, time.Now()); err != nil {
			return Basket{}, err
		}
	}
	b, updates := checkLines(lines, variants)
	if len(ticketed) > 0 {
		updates = append(updates, checkTickets(&b, ticketed, tickets)...)
		b.Totals = totalsOf(b.Lines)
	}
	if err := d.carts.RefreshLines(ctx, owner, updates); err != nil {
		return Basket{}, err
	}
	return b, nil
}

// totalsOf adds up lines per currency, ordered by code.
func totalsOf(lines []BasketLine) []BasketTotal {
	totals := map[string]*BasketTotal{}
	for _, l := range lines {
		total := l.Total()
		t := totals[total.Currency]
		if t == nil {
			t = &BasketTotal{Subtotal: models.Money{Currency: total.Currency}, VAT: models.Money{Currency: total.Currency}}
			totals[total.Currency] = t
		}
		t.Subtotal.Minor += total.Minor
		t.VAT.Minor += l.VAT.Minor
		t.ItemCount += l.Quantity
	}
	out := make([]BasketTotal, 0, len(totals))
	for _, t := range totals {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subtotal.Currency < out[j].Subtotal.Currency })
	return out
}

// checkLines is currentBasket's comparison of the cart's lines with the
// catalogue's variants (by id): the basket as it should be now, and the
// updates that make the cart so.
func checkLines(lines []models.CartLine, variants map[uuid.UUID]products.CartVariant) (Basket, []models.CartLineUpdate) {
	var b Basket
	var updates []models.CartLineUpdate
	totals := map[string]*BasketTotal{}
	for _, l := range lines {
		id, err := uuid.Parse(l.ProductRef)
		v, ok := variants[id]
		if err != nil || !ok {
			b.Changes = append(b.Changes, l.Title+" is no longer for sale, so it was taken out of your basket.")
			updates = append(updates, models.CartLineUpdate{ProductRef: l.ProductRef})
			continue
		}
		limit := quantityLimit(v.Variant)
		title := cartTitle(v.Title)
		if limit == 0 {
			b.Changes = append(b.Changes, title+" is sold out, so it was taken out of your basket.")
			updates = append(updates, models.CartLineUpdate{ProductRef: l.ProductRef})
			continue
		}
		line := BasketLine{CartLine: models.CartLine{ProductRef: l.ProductRef, Title: title, UnitPrice: v.Price,
			Quantity: l.Quantity}, VariantID: id, ProductSlug: v.ProductSlug, Image: v.Image,
			VATRateBP: v.VATRateBP, MaxQuantity: limit}
		changed := title != l.Title
		if v.Price != l.UnitPrice {
			b.Changes = append(b.Changes, fmt.Sprintf("The price of %s changed from %s to %s.", title, l.UnitPrice, v.Price))
			changed = true
		}
		if l.Quantity > limit {
			line.Quantity = limit
			if byStock := v.Variant.TrackStock && !v.Variant.AllowBackorder && v.Variant.Stock <= models.MaxCartQuantity; byStock {
				b.Changes = append(b.Changes, fmt.Sprintf("Only %d left of %s, so your basket now has %d.", limit, title, limit))
			} else {
				b.Changes = append(b.Changes, fmt.Sprintf("A basket holds at most %d of %s, so yours now has %d.", limit, title, limit))
			}
			changed = true
		}
		if changed {
			updates = append(updates, models.CartLineUpdate{ProductRef: l.ProductRef, Title: title,
				UnitPrice: v.Price, MaxQuantity: line.Quantity})
		}
		total := line.Total()
		line.VAT = models.Money{Minor: models.VATIncluded(total.Minor, v.VATRateBP), Currency: total.Currency}
		t := totals[total.Currency]
		if t == nil {
			t = &BasketTotal{Subtotal: models.Money{Currency: total.Currency}, VAT: models.Money{Currency: total.Currency}}
			totals[total.Currency] = t
		}
		t.Subtotal.Minor += total.Minor
		t.VAT.Minor += line.VAT.Minor
		t.ItemCount += line.Quantity
		b.ItemCount += line.Quantity
		b.Lines = append(b.Lines, line)
	}
	for _, t := range totals {
		b.Totals = append(b.Totals, *t)
	}
	sort.Slice(b.Totals, func(i, j int) bool { return b.Totals[i].Subtotal.Currency < b.Totals[j].Subtotal.Currency })
	return b, updates
}

// quantityLimit is the most of v one line may hold: the stock left when
// it is tracked without backorders, at most models.MaxCartQuantity; 0
// when sold out.
func quantityLimit(v models.Variant) int {
	if v.TrackStock && !v.AllowBackorder {
		return max(min(v.Stock, models.MaxCartQuantity), 0)
	}
	return models.MaxCartQuantity
}

// cartTitle is a catalogue title as a cart line holds it: at most 200
// characters (a long product name with its variant's can be more).
func cartTitle(title string) string {
	r := []rune(title)
	if len(r) <= 200 {
		return title
	}
	return string(r[:199]) + "…"
}

// errQuantity answers a quantity field that is not one.
var errQuantity = models.Errorf(models.EInvalid, "The quantity must be a whole number from 0 to %d (0 takes the item out).", models.MaxCartQuantity)

// changeQuantity sets how many of a line the basket holds (POST
// /items/{ref}/quantity, field quantity): 0 takes it out; a quantity that
// is not a whole number from 0 to 99, or more than are left, is refused
// with the basket page (400) saying why, and nothing is written. Then it
// refreshes the user's cart summary everywhere and shows the basket.
func changeQuantity(b basketDeps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		owner, ok := b.owner(r)
		if !ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		ref := chi.URLParam(r, "ref")
		qty, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("quantity")))
		if err != nil || qty < 0 || qty > models.MaxCartQuantity {
			b.refuseChange(w, r, errQuantity)
			return
		}
		if t, ok := calendars.ParseTicketRef(ref); ok && qty > 0 {
			if err := b.changeTicketQuantity(ctx, t, qty); err != nil {
				b.refuseChange(w, r, err)
				return
			}
		} else if qty > 0 {
			id, err := uuid.Parse(ref)
			if err != nil {
				b.refuseChange(w, r, errNotInBasket)
				return
			}
			variants, err := b.catalogue.VariantsForCart(ctx, []uuid.UUID{id})
			if err != nil {
				b.site.Error(w, r, err)
				return
			}
			v, ok := variants[id]
			if !ok {
				// The basket page takes it out, saying so.
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			switch limit := quantityLimit(v.Variant); {
			case limit == 0:
				b.refuseChange(w, r, models.Errorf(models.EInvalid, "%s is sold out.", v.Title))
				return
			case qty > limit:
				b.refuseChange(w, r, models.Errorf(models.EInvalid, "Only %d left of %s: choose %d or fewer.", limit, v.Title, limit))
				return
			}
		}
		if err := b.carts.SetQuantity(ctx, owner, ref, qty); err != nil {
			b.refuseChange(w, r, err)
			return
		}
		b.cartChanged(ctx, owner)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

// errNotInBasket answers a change to a line the basket does not have.
var errNotInBasket = models.Errorf(models.ENotFound, "That item is not in your basket.")

// refuseChange answers a basket change that cannot be made with the
// basket page saying why (400 for what the shopper can correct, 404 for a
// line that is not there), or the platform's error page.
func (b basketDeps) refuseChange(w http.ResponseWriter, r *http.Request, err error) {
	switch models.Code(err) {
	case models.EInvalid:
		b.renderBasket(w, r, http.StatusBadRequest, models.Message(err))
	case models.ENotFound:
		b.renderBasket(w, r, http.StatusNotFound, models.Message(err))
	default:
		b.site.Error(w, r, err)
	}
}

// removeLine takes a line out of the basket (POST /items/{ref}/remove);
// one that is not there (a second click) is no error. Then it refreshes
// the user's cart summary everywhere and shows the basket.
func removeLine(b basketDeps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		owner, ok := b.owner(r)
		if !ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		if err := b.carts.RemoveItem(ctx, owner, chi.URLParam(r, "ref")); err != nil {
			b.site.Error(w, r, err)
			return
		}
		b.cartChanged(ctx, owner)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

// noticesKey is the session key of the notices left for the next basket
// page.
const noticesKey = "cart_notices"

// notices are one-time messages for the next basket page, kept in the
// session (what a merge at sign-in changed, a guest's add). Without a
// session manager they are dropped.
type notices struct {
	sm *scs.SessionManager
}

// add leaves msgs for the next basket page.
func (n notices) add(ctx context.Context, msgs ...string) {
	if n.sm == nil || len(msgs) == 0 {
		return
	}
	if old := n.sm.GetString(ctx, noticesKey); old != "" {
		msgs = append([]string{old}, msgs...)
	}
	n.sm.Put(ctx, noticesKey, strings.Join(msgs, "\n"))
}

// pop returns the notices left for this page, and forgets them.
func (n notices) pop(ctx context.Context) []string {
	if n.sm == nil {
		return nil
	}
	s := n.sm.PopString(ctx, noticesKey)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
