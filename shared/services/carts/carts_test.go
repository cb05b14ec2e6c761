package carts_test

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/carts"
)

func mustUser(t *testing.T, db *pgxpool.Pool, email string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.QueryRow(context.Background(), `INSERT INTO users (email) VALUES ($1) RETURNING id`, email).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func gbp(minor int64) models.Money { return models.Money{Minor: minor, Currency: "GBP"} }

var (
	loaf  = models.CartItemInput{ProductRef: "sourdough-loaf", Title: "Sourdough loaf", UnitPrice: gbp(450), Quantity: 1}
	honey = models.CartItemInput{ProductRef: "wildflower-honey-340g", Title: "Wildflower honey 340g", UnitPrice: gbp(650), Quantity: 2}
)

func mustAdd(t *testing.T, st *carts.Store, user uuid.UUID, item models.CartItemInput) {
	t.Helper()
	if err := st.AddItem(context.Background(), models.UserCart(user), item); err != nil {
		t.Fatalf("add %s: %v", item.ProductRef, err)
	}
}

func summary(t *testing.T, st *carts.Store, user uuid.UUID) models.CartSummary {
	t.Helper()
	s, err := st.CartSummary(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func counts(t *testing.T, db *pgxpool.Pool) (carts, items int) {
	t.Helper()
	err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM carts), (SELECT count(*) FROM cart_items)`).Scan(&carts, &items)
	if err != nil {
		t.Fatal(err)
	}
	return carts, items
}

func TestSummaryOfNoCartIsEmpty(t *testing.T) {
	db := pgtest.MustPool(t)
	st := carts.New(db)
	for _, user := range []uuid.UUID{mustUser(t, db, "a@example.org"), uuid.New()} {
		if s := summary(t, st, user); !s.IsEmpty() || len(s.Totals) != 0 {
			t.Fatalf("summary without a cart = %+v", s)
		}
	}
	if c, _ := counts(t, db); c != 0 {
		t.Fatalf("reading a summary created %d carts", c)
	}
}

func TestSummaryCountsItemsAndTotals(t *testing.T) {
	db := pgtest.MustPool(t)
	st := carts.New(db)
	user := mustUser(t, db, "a@example.org")
	mustAdd(t, st, user, loaf)
	mustAdd(t, st, user, honey)
	s := summary(t, st, user)
	want := models.CartSummary{ItemCount: 3, Totals: []models.Money{gbp(450 + 2*650)}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("summary = %+v, want %+v", s, want)
	}
	if got := s.Totals[0].String(); got != "£17.50" {
		t.Fatalf("total shows as %q", got)
	}

	// A second currency gets its own total, in currency-code order.
	mustAdd(t, st, user, models.CartItemInput{ProductRef: "cheese", Title: "Alpine cheese",
		UnitPrice: models.Money{Minor: 1200, Currency: "CHF"}, Quantity: 1})
	want = models.CartSummary{ItemCount: 4, Totals: []models.Money{{Minor: 1200, Currency: "CHF"}, gbp(1750)}}
	if s := summary(t, st, user); !reflect.DeepEqual(s, want) {
		t.Fatalf("summary = %+v, want %+v", s, want)
	}
}

func TestAddingTheSameProductAgainAddsToItsQuantity(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	user := mustUser(t, db, "a@example.org")
	mustAdd(t, st, user, honey)
	dearer := honey
	dearer.Quantity, dearer.UnitPrice, dearer.Title = 1, gbp(700), "Wildflower honey, 340g jar"
	mustAdd(t, st, user, dearer)

	var (
		quantity int
		title    string
		price    int64
	)
	if err := db.QueryRow(ctx, `SELECT quantity, title, unit_price_minor FROM cart_items`).Scan(&quantity, &title, &price); err != nil {
		t.Fatal(err)
	}
	if quantity != 3 || title != dearer.Title || price != 700 {
		t.Fatalf("line after adding 2 then 1 = %d x %q at %d, want 3 at the latest title and price", quantity, title, price)
	}
	if c, i := counts(t, db); c != 1 || i != 1 {
		t.Fatalf("%d carts and %d lines, want 1 and 1", c, i)
	}
	if s := summary(t, st, user); s.ItemCount != 3 || s.Totals[0] != gbp(2100) {
		t.Fatalf("summary = %+v", s)
	}
}

func TestConcurrentAddsAllCount(t *testing.T) {
	db := pgtest.MustPool(t)
	st := carts.New(db)
	user := mustUser(t, db, "a@example.org")
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { errs[i] = st.AddItem(context.Background(), models.UserCart(user), loaf) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := summary(t, st, user); s.ItemCount != 10 {
		t.Fatalf("10 concurrent adds of one loaf: %d items", s.ItemCount)
	}
	if c, i := counts(t, db); c != 1 || i != 1 {
		t.Fatalf("%d carts and %d lines, want 1 and 1", c, i)
	}
}

func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := carts.New(db)
	user := mustUser(t, db, "a@example.org")
	bad := []models.CartItemInput{
		{},
		{ProductRef: "p", Title: "", UnitPrice: gbp(1), Quantity: 1},
		{ProductRef: "p", Title: "Loaf", UnitPrice: gbp(-1), Quantity: 1},
		{ProductRef: "p", Title: "Loaf", UnitPrice: models.Money{Minor: 1, Currency: "pounds"}, Quantity: 1},
		{ProductRef: "p", Title: "Loaf", UnitPrice: gbp(1), Quantity: 0},
		{ProductRef: "p", Title: "Loaf", UnitPrice: gbp(1), Quantity: 1000},
	}
	for _, in := range bad {
		if err := st.AddItem(ctx, models.UserCart(user), in); models.Code(err) != models.EInvalid {
			t.Errorf("AddItem(%+v) = %v, want invalid", in, err)
		}
	}
	if c, i := counts(t, db); c != 0 || i != 0 {
		t.Fatalf("refused input left %d carts and %d lines", c, i)
	}

	// Going over the maximum on an existing line changes nothing.
	most := loaf
	most.Quantity = models.MaxCartQuantity
	mustAdd(t, st, user, most)
	if err := st.AddItem(ctx, models.UserCart(user), loaf); models.Code(err) != models.EInvalid {
		t.Fatalf("adding past the maximum = %v, want invalid", err)
	}
	if s := summary(t, st, user); s.ItemCount != models.MaxCartQuantity {
		t.Fatalf("after a refused add: %d items, want %d", s.ItemCount, models.MaxCartQuantity)
	}

	// An unknown user has no cart to add to, and gets none.
	if err := st.AddItem(ctx, models.UserCart(uuid.New()), loaf); models.Code(err) != models.ENotFound {
		t.Fatalf("adding for an unknown user = %v, want not found", err)
	}
	if c, _ := counts(t, db); c != 1 {
		t.Fatalf("%d carts after adding for an unknown user, want 1", c)
	}
}

func TestUsersOnlyEverSeeTheirOwnCart(t *testing.T) {
	db := pgtest.MustPool(t)
	st := carts.New(db)
	a, b := mustUser(t, db, "a@example.org"), mustUser(t, db, "b@example.org")
	mustAdd(t, st, a, honey)
	if s := summary(t, st, b); !s.IsEmpty() {
		t.Fatalf("B sees %+v of A's cart", s)
	}
	mustAdd(t, st, b, loaf) // the same product in another cart is another line
	mustAdd(t, st, b, loaf)
	if s := summary(t, st, a); s.ItemCount != 2 || s.Totals[0] != gbp(1300) {
		t.Fatalf("A's summary = %+v, want only A's 2 jars of honey", s)
	}
	if s := summary(t, st, b); s.ItemCount != 2 || s.Totals[0] != gbp(900) {
		t.Fatalf("B's summary = %+v, want only B's 2 loaves", s)
	}
	if c, _ := counts(t, db); c != 2 {
		t.Fatalf("%d carts for 2 users", c)
	}
}

// The basket page's lines are the products the summary counts: their
// quantities and prices add up to it.
func TestLinesAddUpToTheSummary(t *testing.T) {
	db := pgtest.MustPool(t)
	st := carts.New(db)
	user := mustUser(t, db, "a@example.org")
	if lines, err := st.CartLines(context.Background(), user); err != nil || len(lines) != 0 {
		t.Fatalf("lines without a cart = %v, %v", lines, err)
	}
	mustAdd(t, st, user, loaf)
	mustAdd(t, st, user, honey)
	lines, err := st.CartLines(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	want := []models.CartLine{
		{ProductRef: loaf.ProductRef, Title: loaf.Title, UnitPrice: loaf.UnitPrice, Quantity: 1},
		{ProductRef: honey.ProductRef, Title: honey.Title, UnitPrice: honey.UnitPrice, Quantity: 2},
	}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("lines = %+v, want %+v", lines, want)
	}
	s := summary(t, st, user)
	count, total := 0, int64(0)
	for _, l := range lines {
		count += l.Quantity
		total += l.Total().Minor
	}
	if count != s.ItemCount || total != s.Totals[0].Minor {
		t.Fatalf("lines add up to %d items, %d; summary says %+v", count, total, s)
	}
}
