package internal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/web"
)

// GuestBasketLifetime is how long a guest's basket cookie lasts after
// their last add.
const GuestBasketLifetime = 30 * 24 * time.Hour

// guestCookie is the cookie that keeps a guest's basket: a random 256-bit
// key (the cart stores only its SHA-256, models.GuestCart), host-only,
// HttpOnly, SameSite=Lax, and Secure with the __Host- prefix when the
// cart's public URL is https.
type guestCookie struct {
	name   string
	secure bool
}

func newGuestCookie(site *web.Site) guestCookie {
	if strings.HasPrefix(site.URL("cart", ""), "https://") {
		return guestCookie{name: "__Host-roseash_basket", secure: true}
	}
	return guestCookie{name: "roseash_basket"}
}

// key returns the guest key the request's cookie holds, if it holds one
// of the right shape.
func (g guestCookie) key(r *http.Request) (string, bool) {
	c, err := r.Cookie(g.name)
	if err != nil {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return c.Value, true
}

// newGuestKey returns a fresh random guest key.
func newGuestKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// set gives the browser key for GuestBasketLifetime.
func (g guestCookie) set(w http.ResponseWriter, key string) {
	http.SetCookie(w, &http.Cookie{Name: g.name, Value: key, Path: "/", MaxAge: int(GuestBasketLifetime / time.Second),
		HttpOnly: true, Secure: g.secure, SameSite: http.SameSiteLaxMode})
}

// clear makes the browser forget its key.
func (g guestCookie) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: g.name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: g.secure, SameSite: http.SameSiteLaxMode})
}

// mergeGuestBasket is the middleware of the cart's pages that, when a
// signed-in user's request still carries a guest basket cookie (they
// have just signed in), moves that basket into theirs (mergeGuest), then
// clears the cookie. A merge that fails is logged and tried again on the
// next request: the page is served anyway.
func mergeGuestBasket(b basketDeps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, ok := web.Viewer(r.Context()); ok {
				if key, ok := b.guests.key(r); ok {
					if err := b.mergeGuest(r.Context(), u.ID, key); err != nil {
						b.site.Logger.WarnContext(r.Context(), "guest basket not merged", "error", err)
					} else {
						b.guests.clear(w)
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// mergeGuest moves the guest's basket (by their cookie's key) into the
// user's: quantities summed, capped by the stock left and
// models.MaxCartQuantity, lines no longer for sale dropped, in one
// transaction (carts.MergeGuestCart); the next basket page says what
// changed. A basket merged already (another tab) changes nothing.
func (b basketDeps) mergeGuest(ctx context.Context, userID uuid.UUID, key string) error {
	guest := models.GuestCart(key)
	lines, err := b.carts.BasketLines(ctx, guest)
	if err != nil {
		return err
	}
	limits := make(map[string]int, len(lines))
	if len(lines) > 0 {
		ids := make([]uuid.UUID, 0, len(lines))
		for _, l := range lines {
			limits[l.ProductRef] = 0 // not for sale, unless the catalogue has it
			if id, err := uuid.Parse(l.ProductRef); err == nil {
				ids = append(ids, id)
			}
		}
		variants, err := b.catalogue.VariantsForCart(ctx, ids)
		if err != nil {
			return err
		}
		for id, v := range variants {
			limits[id.String()] = quantityLimit(v.Variant)
		}
		if _, _, refs := ticketLines(lines); len(refs) > 0 && b.tickets != nil {
			tickets, err := b.tickets.TicketsForCart(ctx, refs, time.Now())
			if err != nil {
				return err
			}
			for ref, t := range tickets {
				limits[ref.String()] = ticketLimit(t)
			}
		}
	}
	merged, err := b.carts.MergeGuestCart(ctx, guest, userID, limits)
	if err != nil {
		return err
	}
	if len(merged) == 0 {
		return nil
	}
	b.notices.add(ctx, mergeNotices(merged)...)
	b.cartChanged(ctx, models.UserCart(userID))
	return nil
}

// mergeNotices say what a merge at sign-in did: one sentence for the
// whole, then one for each line that was not simply added.
func mergeNotices(merged []models.MergedLine) []string {
	out := []string{"The basket you filled before signing in is now part of yours."}
	for _, m := range merged {
		switch {
		case m.Now == 0:
			out = append(out, m.Title+" is no longer available, so it was not added to your basket.")
		case m.Now < m.Had+m.Added:
			out = append(out, fmt.Sprintf("Your basket has %d of %s: you had %d and chose %d before signing in, but only %d can be ordered.",
				m.Now, m.Title, m.Had, m.Added, m.Now))
		case m.Had > 0:
			out = append(out, fmt.Sprintf("Your basket has %d of %s: the %d you chose before signing in were added to the %d it had.",
				m.Now, m.Title, m.Added, m.Had))
		}
	}
	return out
}
