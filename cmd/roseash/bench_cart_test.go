package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/sumup"
)

// The cart's targets: the basket at 0.20x the static page, and a checkout
// run that charged no order twice and sold no unit it did not have; a
// miss names what went wrong.
func TestCartTargets(t *testing.T) {
	clean := checkoutResult{stock: 150, sold: 150}
	got := cartTargets(map[int]caseSummary{1: {rps: 10000}, 11: {rps: 2000}}, clean)
	if len(got) != 3 || !got[0].pass || !got[1].pass || !got[2].pass {
		t.Fatalf("basket at 0.20x and a clean run: %+v, want three passes", got)
	}
	if !strings.HasPrefix(got[0].what, "case 11") || got[0].got != "x0.20" {
		t.Errorf("the basket target: %+v", got[0])
	}
	if !strings.Contains(got[2].got, "150 sold of 150") {
		t.Errorf("the oversold target does not say what sold: %+v", got[2])
	}
	got = cartTargets(map[int]caseSummary{1: {rps: 10000}, 11: {rps: 1999}},
		checkoutResult{stock: 150, sold: 152, stockLeft: -2, oversold: oversold(152, -2, 150), sumupDoubles: 1})
	if got[0].pass || got[1].pass || got[2].pass {
		t.Errorf("basket at 0.1999x, a double charge and oversold units: %+v, want three misses", got)
	}
	if !strings.HasPrefix(got[1].got, "1 ") || !strings.HasPrefix(got[2].got, "4 ") {
		t.Errorf("the misses do not count what went wrong: %q, %q", got[1].got, got[2].got)
	}
}

// A second paid checkout of the same order is a double charge; a paid
// checkout per order, whatever its attempt, and unpaid ones are not.
func TestSumupDoubles(t *testing.T) {
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	cos := []sumup.Checkout{
		{Reference: orders.Reference(a, 1), Status: sumup.StatusPaid},
		{Reference: orders.Reference(a, 2), Status: sumup.StatusPaid},
		{Reference: orders.Reference(b, 1), Status: sumup.StatusFailed},
		{Reference: orders.Reference(b, 2), Status: sumup.StatusPaid},
		{Reference: orders.Reference(c, 1), Status: sumup.StatusPending},
	}
	if n := sumupDoubles(cos); n != 1 {
		t.Errorf("sumupDoubles = %d, want 1 (order a paid twice)", n)
	}
	if n := sumupDoubles(cos[2:]); n != 0 {
		t.Errorf("sumupDoubles = %d, want 0", n)
	}
}

func TestOrderDoublesAndOversold(t *testing.T) {
	o := models.Order{Attempts: []models.PaymentAttempt{{Status: models.AttemptFailed}, {Status: models.AttemptPaid}}}
	if n := orderDoubles(o); n != 0 {
		t.Errorf("a declined attempt then a paid one: %d double charges", n)
	}
	o.Attempts = append(o.Attempts, models.PaymentAttempt{Status: models.AttemptPaid})
	if n := orderDoubles(o); n != 1 {
		t.Errorf("two paid attempts: %d double charges, want 1", n)
	}
	for _, c := range []struct{ sold, left, stock, want int }{
		{150, 0, 150, 0}, {120, 30, 150, 0}, {151, 0, 150, 1}, {150, -3, 150, 3},
	} {
		if got := oversold(c.sold, c.left, c.stock); got != c.want {
			t.Errorf("oversold(%d sold, %d left, %d stock) = %d, want %d", c.sold, c.left, c.stock, got, c.want)
		}
	}
}

// The checkout run answers the form as a shopper would: its one-time key,
// pickup where a place is offered, delivery to an address otherwise.
func TestCheckoutForm(t *testing.T) {
	page := `<form method="post" action="/checkout/pay" class="stack checkout-form"><input type="hidden" name="key" value="k-123_x">
<select name="pickup_place"><option value="Market hall &amp; yard" selected>Market hall &amp; yard</option><option value="Barn">Barn</option></select>`
	f, err := checkoutForm(page, "s@bench.localhost")
	if err != nil {
		t.Fatal(err)
	}
	if f.Get("key") != "k-123_x" || f.Get("fulfilment") != models.FulfilPickup || f.Get("pickup_place") != "Market hall & yard" ||
		f.Get("terms") == "" || f.Get("email") != "s@bench.localhost" {
		t.Errorf("pickup form = %v", f)
	}
	f, err = checkoutForm(`<input type="hidden" name="key" value="k2"/>`, "s@bench.localhost")
	if err != nil || f.Get("fulfilment") != models.FulfilDelivery || f.Get("line1") == "" || f.Get("postcode") == "" {
		t.Errorf("delivery form = %v, %v", f, err)
	}
	if _, err := checkoutForm(`<p>Your basket is empty.</p>`, "s@bench.localhost"); err == nil {
		t.Error("a page without the form's key was answered")
	}
}

// A refusal because the product ran out is the shopper's "sold out", not
// an error of the run; any other refusal is an error.
func TestSoldOut(t *testing.T) {
	for _, msg := range []string{"Bench checkout jar has just sold out.", "Only 1 of Bench checkout jar is left.",
		"Bench checkout jar is sold out.", "Only 0 left of Bench checkout jar."} {
		if !soldOutText(msg) {
			t.Errorf("%q is not taken for sold out", msg)
		}
	}
	if soldOut(`<p class="form-error" role="alert">Choose one of the pickup places offered.</p>`) {
		t.Error("a pickup place refused was taken for sold out")
	}
	if !soldOut(`<p class="form-error" role="alert">Bench checkout jar has just sold out.</p>`) {
		t.Error("the checkout page's sold out was not recognised")
	}
	if got := leadOf(`<p class="lead">Only 0 left of Bench &amp; jar.</p>`); got != "Only 0 left of Bench & jar." {
		t.Errorf("leadOf = %q", got)
	}
}

// seedBenchCart gives the demo admin a basket of exactly the five lines
// (an extra line removed, a missing one added back), and restores the
// checkout product's stock with the last run's orders gone, however often
// it runs.
func TestSeedBenchCart(t *testing.T) {
	dbURL := pgtest.MustDatabaseURL(t)
	ctx := context.Background()
	if err := seed(ctx, dbURL, "", io.Discard); err != nil {
		t.Fatal(err)
	}
	pool, err := cliPool(ctx, dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	catalogue, cartStore := products.New(pool), carts.New(pool)
	if _, err := catalogue.CreateMarket(ctx, products.MarketInput{Slug: benchMarket, Name: "Bench Market"}); err != nil {
		t.Fatal(err)
	}
	set, err := seedBenchCart(ctx, dbURL, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.titles) != len(benchBasketSKUs) || len(set.shoppers) != benchShoppers {
		t.Fatalf("setup = %+v", set)
	}
	var adminID uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT id FROM users WHERE email = 'admin@rose-ash.localhost'`).Scan(&adminID); err != nil {
		t.Fatal(err)
	}
	admin := models.UserCart(adminID)
	basket := func() []string {
		t.Helper()
		lines, err := cartStore.BasketLines(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, l := range lines {
			titles = append(titles, l.Title)
		}
		return titles
	}
	if got := basket(); len(got) != 5 {
		t.Fatalf("the admin's basket holds %q, want 5 lines", got)
	}

	// A run leaves an order of a shopper, the stock down, and the admin's
	// basket changed.
	other := benchProduct(0)
	other.Market = benchMarket
	p, err := catalogue.CreateProduct(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := cartStore.AddItem(ctx, admin, models.CartItemInput{ProductRef: p.Variants[0].ID.String(), Title: p.Name,
		UnitPrice: models.Money{Minor: p.Variants[0].Price, Currency: "GBP"}, Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	lines, _ := cartStore.BasketLines(ctx, admin)
	if err := cartStore.RemoveItem(ctx, admin, lines[0].ProductRef); err != nil {
		t.Fatal(err)
	}
	store := orders.New(pool, catalogue)
	if _, _, err := store.Place(ctx, orders.PlaceInput{UserID: set.shoppers[0], Email: benchShopperEmail(0),
		Fulfilment: models.FulfilDelivery, AcceptTerms: true,
		Address: models.Address{Name: "Bench Shopper", Line1: "1 Loopback Lane", City: "Localhost", Postcode: "LO1 1AA", Country: "GB"},
		Lines:   []orders.LineInput{{VariantID: set.variant, Quantity: 7}}}); err != nil {
		t.Fatal(err)
	}

	again, err := seedBenchCart(ctx, dbURL, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if again.variant != set.variant {
		t.Errorf("the second run made another checkout product")
	}
	got := basket()
	if len(got) != 5 || strings.Contains(strings.Join(got, "|"), p.Name) {
		t.Errorf("after a second run the admin's basket holds %q, want the five lines", got)
	}
	for _, title := range set.titles {
		if !strings.Contains(strings.Join(got, "|"), title) {
			t.Errorf("the admin's basket lacks %q: %q", title, got)
		}
	}
	if left, err := store.OrdersOf(ctx, set.shoppers[0], 10); err != nil || len(left) != 0 {
		t.Errorf("the last run's orders are still there: %d (%v)", len(left), err)
	}
	jar, err := catalogue.Product(ctx, benchCheckoutSlug, true)
	if err != nil || jar.Variants[0].Stock != benchCheckoutStock {
		t.Errorf("the checkout product's stock is %+v (%v), want %d", jar.Variants, err, benchCheckoutStock)
	}
}
