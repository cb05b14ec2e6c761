package carts_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/carts"
)

func lines(t *testing.T, st *carts.Store, owner models.CartOwner) []models.CartLine {
	t.Helper()
	ls, err := st.BasketLines(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func quantities(t *testing.T, st *carts.Store, owner models.CartOwner) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, l := range lines(t, st, owner) {
		out[l.ProductRef] = l.Quantity
	}
	return out
}

func addTo(t *testing.T, st *carts.Store, owner models.CartOwner, item models.CartItemInput, qty int) {
	t.Helper()
	item.Quantity = qty
	if err := st.AddItem(context.Background(), owner, item); err != nil {
		t.Fatalf("add %d %s: %v", qty, item.ProductRef, err)
	}
}

// A guest's cart is kept under the hash of their cookie's key, apart
// from every user's and every other guest's.
func TestAGuestsCartIsKeptByTheHashOfTheirKey(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	user := mustUser(t, db, "a@example.org")
	guest, other := models.GuestCart("key-of-one-browser"), models.GuestCart("key-of-another")
	addTo(t, st, guest, loaf, 2)
	addTo(t, st, guest, loaf, 1)
	addTo(t, st, other, honey, 1)
	if got := quantities(t, st, guest); !reflect.DeepEqual(got, map[string]int{loaf.ProductRef: 3}) {
		t.Fatalf("the guest's cart = %v, want 3 loaves", got)
	}
	if got := lines(t, st, models.UserCart(user)); len(got) != 0 {
		t.Fatalf("the user sees a guest's lines: %+v", got)
	}
	if got := lines(t, st, models.CartOwner{}); len(got) != 0 {
		t.Fatalf("nobody's cart has lines: %+v", got)
	}
	var stored string
	if err := db.QueryRow(ctx, `SELECT session_key FROM carts c JOIN cart_items ci ON ci.cart_id = c.id
		WHERE ci.product_ref = $1`, loaf.ProductRef).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("key-of-one-browser"))
	if stored != hex.EncodeToString(sum[:]) {
		t.Fatalf("session_key = %q, want the SHA-256 of the cookie's key", stored)
	}
	if err := st.AddItem(ctx, models.CartOwner{}, loaf); models.Code(err) != models.EInvalid {
		t.Fatalf("adding to nobody's cart = %v, want invalid", err)
	}
}

// A line's quantity can be set (0 takes it out) and removed; a line that
// is not there, or a quantity out of range, is refused and writes nothing.
func TestSettingAQuantityAndRemovingALine(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	owner := models.UserCart(mustUser(t, db, "a@example.org"))
	addTo(t, st, owner, loaf, 1)
	addTo(t, st, owner, honey, 2)
	if err := st.SetQuantity(ctx, owner, loaf.ProductRef, 5); err != nil {
		t.Fatal(err)
	}
	for _, q := range []int{-1, models.MaxCartQuantity + 1} {
		if err := st.SetQuantity(ctx, owner, loaf.ProductRef, q); models.Code(err) != models.EInvalid {
			t.Errorf("quantity %d = %v, want invalid", q, err)
		}
	}
	if err := st.SetQuantity(ctx, owner, "not-in-the-cart", 1); models.Code(err) != models.ENotFound {
		t.Errorf("a line not in the cart = %v, want not found", err)
	}
	if err := st.SetQuantity(ctx, models.GuestCart("someone else"), loaf.ProductRef, 1); models.Code(err) != models.ENotFound {
		t.Errorf("another's line = %v, want not found", err)
	}
	if got := quantities(t, st, owner); !reflect.DeepEqual(got, map[string]int{loaf.ProductRef: 5, honey.ProductRef: 2}) {
		t.Fatalf("cart = %v, want 5 loaves and 2 honey", got)
	}
	if err := st.SetQuantity(ctx, owner, honey.ProductRef, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveItem(ctx, owner, loaf.ProductRef); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveItem(ctx, owner, loaf.ProductRef); err != nil {
		t.Fatalf("removing twice = %v, want no error", err)
	}
	if got := lines(t, st, owner); len(got) != 0 {
		t.Fatalf("cart after taking both out = %+v", got)
	}
}

// RefreshLines gives lines the catalogue's title and price, cuts them to
// their maximum (keeping a lower quantity), drops those at 0 and leaves
// the others alone.
func TestRefreshingLinesFromTheCatalogue(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	owner := models.GuestCart("k")
	cheese := models.CartItemInput{ProductRef: "cheese", Title: "Cheese", UnitPrice: gbp(300)}
	addTo(t, st, owner, loaf, 4)
	addTo(t, st, owner, honey, 2)
	addTo(t, st, owner, cheese, 1)
	err := st.RefreshLines(ctx, owner, []models.CartLineUpdate{
		{ProductRef: loaf.ProductRef, Title: "Sourdough loaf, large", UnitPrice: gbp(500), MaxQuantity: 3},
		{ProductRef: honey.ProductRef, Title: honey.Title, UnitPrice: gbp(650), MaxQuantity: 10},
		{ProductRef: cheese.ProductRef},
		{ProductRef: "not-there", Title: "Nothing", UnitPrice: gbp(1), MaxQuantity: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []models.CartLine{
		{ProductRef: loaf.ProductRef, Title: "Sourdough loaf, large", UnitPrice: gbp(500), Quantity: 3},
		{ProductRef: honey.ProductRef, Title: honey.Title, UnitPrice: gbp(650), Quantity: 2},
	}
	if got := lines(t, st, owner); !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %+v, want %+v", got, want)
	}
	bad := []models.CartLineUpdate{{ProductRef: loaf.ProductRef, Title: "", UnitPrice: gbp(1), MaxQuantity: 1},
		{ProductRef: honey.ProductRef}}
	if err := st.RefreshLines(ctx, owner, bad); models.Code(err) != models.EInvalid {
		t.Fatalf("an update without a title = %v, want invalid", err)
	}
	if got := lines(t, st, owner); !reflect.DeepEqual(got, want) {
		t.Fatalf("a refused refresh changed the lines: %+v", got)
	}
}

func guestCarts(t *testing.T, db *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM carts WHERE session_key IS NOT NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// At sign-in the guest's lines join the user's: quantities summed and
// capped by the limits given, lines at a limit of 0 dropped, the guest's
// cart deleted; a second merge finds nothing.
func TestMergingAGuestCartSumsAndCaps(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	userID := mustUser(t, db, "a@example.org")
	user, guest := models.UserCart(userID), models.GuestCart("k")
	jam := models.CartItemInput{ProductRef: "jam", Title: "Jam", UnitPrice: gbp(400)}
	cheese := models.CartItemInput{ProductRef: "cheese", Title: "Cheese", UnitPrice: gbp(300)}
	candle := models.CartItemInput{ProductRef: "candle", Title: "Candle", UnitPrice: gbp(900)}
	addTo(t, st, user, loaf, 1)
	addTo(t, st, user, honey, 2)
	addTo(t, st, user, candle, 1)
	addTo(t, st, guest, loaf, 2)   // summed: 3
	addTo(t, st, guest, honey, 3)  // capped by the stock: 4
	addTo(t, st, guest, jam, 60)   // new
	addTo(t, st, guest, cheese, 1) // sold out meanwhile: dropped
	addTo(t, st, guest, candle, 99)
	limits := map[string]int{honey.ProductRef: 4, cheese.ProductRef: 0}
	got, err := st.MergeGuestCart(ctx, guest, userID, limits)
	if err != nil {
		t.Fatal(err)
	}
	want := []models.MergedLine{
		{ProductRef: loaf.ProductRef, Title: loaf.Title, Had: 1, Added: 2, Now: 3},
		{ProductRef: honey.ProductRef, Title: honey.Title, Had: 2, Added: 3, Now: 4},
		{ProductRef: "jam", Title: "Jam", Had: 0, Added: 60, Now: 60},
		{ProductRef: "cheese", Title: "Cheese", Had: 0, Added: 1, Now: 0},
		{ProductRef: "candle", Title: "Candle", Had: 1, Added: 99, Now: models.MaxCartQuantity},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged = %+v\nwant %+v", got, want)
	}
	wantCart := map[string]int{loaf.ProductRef: 3, honey.ProductRef: 4, "jam": 60, "candle": models.MaxCartQuantity}
	if q := quantities(t, st, user); !reflect.DeepEqual(q, wantCart) {
		t.Fatalf("user's cart = %v, want %v", q, wantCart)
	}
	if n := guestCarts(t, db); n != 0 {
		t.Fatalf("%d guest carts left after the merge", n)
	}
	again, err := st.MergeGuestCart(ctx, guest, userID, limits)
	if err != nil || len(again) != 0 {
		t.Fatalf("a second merge = %+v, %v; want nothing", again, err)
	}
	if q := quantities(t, st, user); !reflect.DeepEqual(q, wantCart) {
		t.Fatalf("a second merge changed the cart: %v", q)
	}
	if _, err := st.MergeGuestCart(ctx, user, userID, nil); models.Code(err) != models.EInvalid {
		t.Fatalf("merging a user's cart as a guest's = %v, want invalid", err)
	}
}

// Two tabs that merge the same guest cart at once (both just signed in)
// add its lines once.
func TestConcurrentMergesAddTheGuestsLinesOnce(t *testing.T) {
	db := pgtest.MustPool(t)
	st := carts.New(db)
	userID := mustUser(t, db, "a@example.org")
	for round := range 5 {
		guest := models.GuestCart("tab-key-" + string(rune('a'+round)))
		addTo(t, st, guest, loaf, 2)
		var wg sync.WaitGroup
		results := make([][]models.MergedLine, 4)
		errs := make([]error, len(results))
		for i := range results {
			wg.Go(func() { results[i], errs[i] = st.MergeGuestCart(context.Background(), guest, userID, nil) })
		}
		wg.Wait()
		merges := 0
		for i, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
			if len(results[i]) > 0 {
				merges++
			}
		}
		if merges != 1 {
			t.Fatalf("round %d: %d of 4 concurrent merges merged, want 1", round, merges)
		}
		if q := quantities(t, st, models.UserCart(userID)); q[loaf.ProductRef] != 2*(round+1) {
			t.Fatalf("round %d: the user's cart has %d loaves, want %d", round, q[loaf.ProductRef], 2*(round+1))
		}
	}
}

// Clear empties the user's cart inside the caller's transaction: rolled
// back, the basket is kept. LinesTx reads it in a transaction.
func TestClearEmptiesTheCartInTheCallersTransaction(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	userID := mustUser(t, db, "a@example.org")
	other := models.UserCart(mustUser(t, db, "b@example.org"))
	addTo(t, st, models.UserCart(userID), loaf, 1)
	addTo(t, st, models.UserCart(userID), honey, 2)
	addTo(t, st, other, loaf, 1)

	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.LinesTx(ctx, tx, userID)
	if err != nil || len(got) != 2 || got[0].ProductRef != loaf.ProductRef || got[1].Quantity != 2 {
		t.Fatalf("LinesTx = %+v, %v", got, err)
	}
	if err := st.Clear(ctx, tx, userID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, st, models.UserCart(userID))); n != 2 {
		t.Fatalf("a rolled-back Clear left %d lines, want 2", n)
	}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return st.Clear(ctx, tx, userID) })
	if err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, st, models.UserCart(userID))); n != 0 {
		t.Fatalf("after Clear the cart has %d lines", n)
	}
	if n := len(lines(t, st, other)); n != 1 {
		t.Fatalf("Clear emptied another user's cart: %d lines", n)
	}
}

// Guests' carts not added to for a while are deleted; users' are kept.
func TestIdleGuestCartsAreDeleted(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	user := models.UserCart(mustUser(t, db, "a@example.org"))
	addTo(t, st, user, loaf, 1)
	addTo(t, st, models.GuestCart("old"), loaf, 1)
	addTo(t, st, models.GuestCart("new"), loaf, 1)
	if _, err := db.Exec(ctx, `UPDATE carts SET updated_at = now() - interval '40 days'
		WHERE session_key = $1 OR user_id IS NOT NULL`, models.GuestCart("old").GuestKey); err != nil {
		t.Fatal(err)
	}
	n, err := st.DeleteIdleGuestCarts(ctx, time.Now().Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want the old guest's cart", n, err)
	}
	if len(lines(t, st, models.GuestCart("new"))) != 1 || len(lines(t, st, user)) != 1 {
		t.Fatal("a recent guest's or a user's cart was deleted")
	}
}

// Empty takes every line out of one owner's cart, a guest's or a user's,
// and no other.
func TestEmptyingACart(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	user, guest := models.UserCart(mustUser(t, db, "a@example.org")), models.GuestCart("k")
	addTo(t, st, user, loaf, 1)
	addTo(t, st, guest, loaf, 1)
	addTo(t, st, guest, honey, 2)
	if err := st.Empty(ctx, guest); err != nil {
		t.Fatal(err)
	}
	if n, m := len(lines(t, st, guest)), len(lines(t, st, user)); n != 0 || m != 1 {
		t.Fatalf("after emptying the guest's cart: %d guest lines, %d user lines; want 0 and 1", n, m)
	}
	if err := st.Empty(ctx, models.GuestCart("nobody")); err != nil {
		t.Fatalf("emptying no cart = %v", err)
	}
}
