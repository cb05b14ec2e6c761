package internal

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/keptpages"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/web"
)

// KeptBaskets keeps a signed-in shopper's basket, as checked against the
// catalogue, in process for a moment (page_cache.listings, a second by
// default): a reload of the basket page then costs no query.
//
// A basket is kept under the user and their session's basket generation,
// which every change to the cart made in that session bumps (an add, a
// quantity, a removal, the merge at sign-in, the return from paying):
// the session is shared by the cart's replicas, so the next page, on any
// replica, reads the cart again. What changes elsewhere (a price or stock
// in the catalogue, the cart from another device, a payment confirmed by
// SumUp's webhook alone) shows within the moment, as listings' changes
// do; checkout reads and locks the stock afresh whatever the page showed.
// Guests' baskets are not kept. A nil *KeptBaskets keeps nothing.
type KeptBaskets struct {
	sessions *scs.SessionManager
	pages    *keptpages.Pages[Basket]
}

// maxKeptBaskets bounds the memory kept baskets take in one process.
const maxKeptBaskets = 10000

// basketGenerationKey is the session's basket generation: a random
// token, new at every change to the cart made in the session.
const basketGenerationKey = "basket-generation"

// NewKeptBaskets returns KeptBaskets keeping baskets for ttl, their
// generations in sessions; nil (nothing kept) when ttl is 0.
func NewKeptBaskets(sessions *scs.SessionManager, ttl time.Duration) *KeptBaskets {
	if sessions == nil || ttl <= 0 {
		return nil
	}
	return &KeptBaskets{sessions: sessions, pages: keptpages.New[Basket](maxKeptBaskets, ttl)}
}

// key is what a basket of the user is kept under in this request's
// session: a session without a generation yet is given one, so that no
// two sessions share a kept basket.
func (k *KeptBaskets) key(ctx context.Context, userID uuid.UUID) string {
	gen := k.sessions.GetString(ctx, basketGenerationKey)
	if gen == "" {
		gen = k.next(ctx)
	}
	return userID.String() + ":" + gen
}

// changed starts a new basket generation in the session: no basket kept
// before it is shown to this session again. ctx must carry the request's
// session.
func (k *KeptBaskets) changed(ctx context.Context) {
	if k != nil {
		k.next(ctx)
	}
}

// next puts a new generation, random, in the session and returns it (the
// session keeps strings only: package sessions' codec).
func (k *KeptBaskets) next(ctx context.Context) string {
	gen := rand.Text()
	k.sessions.Put(ctx, basketGenerationKey, gen)
	return gen
}

// keptBasket is currentBasket for the basket page: a signed-in user's
// basket kept by KeptBaskets when there is one of the session's current
// generation, else read and checked now, and kept when checking it
// changed nothing (a basket whose Changes were just written back starts a
// new generation).
func keptBasket(ctx context.Context, b basketDeps, owner models.CartOwner) (Basket, error) {
	if owner.UserID == uuid.Nil || b.kept == nil {
		return currentBasket(ctx, b, owner)
	}
	key := b.kept.key(ctx, owner.UserID)
	if basket, found, _ := b.kept.pages.Get(key); found {
		return basket, nil
	}
	basket, err := currentBasket(ctx, b, owner)
	if err == nil && len(basket.Changes) == 0 {
		b.kept.pages.Add(key, basket, 0)
	}
	return basket, err
}

// userCartChanged refreshes the header's cart-mini of the user (in every
// service) after their cart changed. A failure is logged: the change
// itself was made.
func userCartChanged(ctx context.Context, site *web.Site, userID uuid.UUID) {
	if userID == uuid.Nil || site.Fragments == nil {
		return
	}
	if err := site.Fragments.InvalidateNamed(ctx, fragments.CartMini, &userID); err != nil {
		site.Logger.WarnContext(ctx, "cart-mini not invalidated", "error", err)
	}
}
