package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/sumup"
	"rose-ash.com/platform/shared/sumup/sandbox"
)

// The cart's cases: the demo admin's basket of five lines (case 11), and
// the checkout run, in which benchShoppers signed-in shoppers try to buy
// benchCheckoutTries units, one an order, of a product that has
// benchCheckoutStock, paying each in the SumUp sandbox.
const (
	benchCheckoutSlug  = "checkout-bench-jar"
	benchCheckoutStock = 150
	benchCheckoutTries = 250
	benchShoppers      = 8
	// benchPaidWithin bounds the wait for an order to be paid once its
	// checkout is: the webhook, its GET of the checkout, and Settle.
	benchPaidWithin = 15 * time.Second
)

// benchBasketSKUs are the demo catalogue's variants in the demo admin's
// basket for case 11, one of each: the demo's own two (demo.AdminCart)
// and three more.
var benchBasketSKUs = []string{"BH-SDL-800", "BC-WFH-340", "BC-WFH-227", "BC-HEA-227", "BC-LBH-227"}

// benchSandboxRetry is the bench sandbox's webhook schedule: SumUp's
// pattern, in fractions of a second, so that a missed webhook is retried
// within the run.
var benchSandboxRetry = []time.Duration{200 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second}

// benchShopperEmail is the address of the checkout run's shopper i.
func benchShopperEmail(i int) string { return fmt.Sprintf("shopper-%d@bench.localhost", i+1) }

// benchCartSetup is what seedBenchCart prepared: the titles of the admin's
// basket lines (what case 11's page must show), the checkout run's
// variant and its shoppers' user ids.
type benchCartSetup struct {
	titles   []string
	variant  uuid.UUID
	shoppers []uuid.UUID
}

// seedBenchCart prepares the cart's cases in the bench's database: the demo
// admin's basket holds exactly the benchBasketSKUs lines; the checkout
// product exists with benchCheckoutStock units, the previous run's orders
// of the shoppers are gone and their baskets are empty. Running it again
// gives the same state.
func seedBenchCart(ctx context.Context, dbURL string, stdout io.Writer) (benchCartSetup, error) {
	var set benchCartSetup
	pool, err := cliPool(ctx, dbURL, 2)
	if err != nil {
		return set, err
	}
	defer pool.Close()
	cartStore, catalogue := carts.New(pool), products.New(pool)

	// The admin's basket: the five lines, each of one unit, and no other.
	var items []models.CartItemInput
	var adminID uuid.UUID
	shoppers := make([]uuid.UUID, benchShoppers)
	err = postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		for _, sku := range benchBasketSKUs {
			l, err := products.CartLineBySKU(ctx, tx, sku)
			if err != nil {
				return fmt.Errorf("the demo admin's basket: %w", err)
			}
			items = append(items, models.CartItemInput{ProductRef: l.VariantID.String(), Title: l.Title, UnitPrice: l.Price, Quantity: 1})
			set.titles = append(set.titles, l.Title)
		}
		for i := range shoppers {
			if err := identity.EnsureUser(ctx, tx, identity.NewUser{Email: benchShopperEmail(i), Username: fmt.Sprintf("bench_shopper_%d", i+1),
				DisplayName: fmt.Sprintf("Bench Shopper %d", i+1)}); err != nil {
				return fmt.Errorf("bench shopper: %w", err)
			}
		}
		// Bench setup only: the identity store finds no user by address.
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(email) = lower($1)`, demo.AdminEmail).Scan(&adminID); err != nil {
			return fmt.Errorf("the demo admin: %w", err)
		}
		for i := range shoppers {
			if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(email) = lower($1)`, benchShopperEmail(i)).Scan(&shoppers[i]); err != nil {
				return fmt.Errorf("bench shopper: %w", err)
			}
			if err := cartStore.Clear(ctx, tx, shoppers[i]); err != nil {
				return fmt.Errorf("bench shopper's basket: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return set, err
	}
	set.shoppers = shoppers
	admin := models.UserCart(adminID)
	lines, err := cartStore.BasketLines(ctx, admin)
	if err != nil {
		return set, err
	}
	held := map[string]bool{}
	for _, l := range lines {
		if !slicesContainsRef(items, l.ProductRef) {
			if err := cartStore.RemoveItem(ctx, admin, l.ProductRef); err != nil {
				return set, fmt.Errorf("the demo admin's basket: %w", err)
			}
			continue
		}
		held[l.ProductRef] = true
	}
	for _, it := range items {
		if !held[it.ProductRef] {
			if err := cartStore.AddItem(ctx, admin, it); err != nil {
				return set, fmt.Errorf("the demo admin's basket: %w", err)
			}
		}
	}

	// The checkout product, in the bench market.
	p, err := catalogue.Product(ctx, benchCheckoutSlug, true)
	if models.Code(err) == models.ENotFound {
		p, err = catalogue.CreateProduct(ctx, products.ProductInput{Market: benchMarket, Slug: benchCheckoutSlug,
			Name: "Bench checkout jar", Summary: "What the checkout run buys.", Currency: "GBP", Publish: true,
			Variants: []products.VariantInput{{Name: "Jar", Price: 500, TrackStock: true, Stock: benchCheckoutStock}}})
	}
	if err != nil {
		return set, fmt.Errorf("the checkout product: %w", err)
	}
	if len(p.Variants) != 1 {
		return set, fmt.Errorf("the checkout product %s has %d variants, want 1", benchCheckoutSlug, len(p.Variants))
	}
	set.variant = p.Variants[0].ID
	// The previous run's orders go first, so that none of its holds is
	// released later into the fresh stock.
	deleted, err := orders.New(pool, catalogue).DeleteOrdersOf(ctx, shoppers)
	if err != nil {
		return set, fmt.Errorf("the previous run's orders: %w", err)
	}
	if err := catalogue.SetStock(ctx, set.variant, benchCheckoutStock); err != nil {
		return set, fmt.Errorf("the checkout product's stock: %w", err)
	}
	fmt.Fprintf(stdout, "bench cart: the demo admin's basket holds %d lines; %s has %d in stock; %d orders of the last run deleted\n",
		len(items), benchCheckoutSlug, benchCheckoutStock, deleted)
	return set, nil
}

func slicesContainsRef(items []models.CartItemInput, ref string) bool {
	for _, it := range items {
		if it.ProductRef == ref {
			return true
		}
	}
	return false
}

// startBenchSandbox serves a SumUp sandbox on 127.0.0.1:port for the
// bench's cart (its SUMUP_API_URL), with webhooks retried on
// benchSandboxRetry and logged to logs. stop shuts it down.
func startBenchSandbox(port string, logs io.Writer) (sb *sandbox.Server, stop func(), err error) {
	addr := "127.0.0.1:" + port
	client := sumup.DefaultHTTPClient() // dials the cart's *.localhost return_url on loopback
	client.Timeout = 10 * time.Second
	sb = sandbox.New(sandbox.Options{MerchantCode: config.SumUpSandboxMerchant, APIKey: config.SumUpSandboxKey,
		PublicURL: "http://" + addr, Retry: benchSandboxRetry, Client: client,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	stop, err = serveSandbox(addr, sb, logs)
	if err != nil {
		return nil, nil, err
	}
	return sb, stop, nil
}

// checkoutResult is what the checkout run measured.
type checkoutResult struct {
	shoppers, tries, stock int
	paid, refused, errors  int
	elapsed                time.Duration
	firstError             string
	// doubleCharges counts payments beyond one for an order: SumUp
	// checkouts paid for the same order (sumupDoubles) and orders with more
	// than one paid attempt (orderDoubles).
	sumupDoubles, orderDoubles int
	// sold is the units of the product in paid and pending orders; oversold
	// what they and a negative stock exceed the starting stock by.
	sold, oversold, stockLeft int
}

func (r checkoutResult) doubleCharges() int { return r.sumupDoubles + r.orderDoubles }

// perSecond is the orders paid per second of the run.
func (r checkoutResult) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.paid) / r.elapsed.Seconds()
}

// shopper is one signed-in shopper of the checkout run.
type shopper struct {
	email, cookie string
	id            uuid.UUID
}

var (
	checkoutKeyRE    = regexp.MustCompile(`name="key" value="([^"]+)"`)
	checkoutPickupRE = regexp.MustCompile(`<select name="pickup_place">\s*<option value="([^"]*)"`)
	formErrorRE      = regexp.MustCompile(`<p class="form-error"[^>]*>([^<]*)</p>`)
	leadRE           = regexp.MustCompile(`<p class="lead">([^<]*)</p>`)
)

// errRefused is a purchase the cart turned down because the product sold
// out: what a shopper sees, not an error of the bench.
var errRefused = errors.New("sold out")

// checkoutRun signs the shoppers in and has them buy, concurrently, one unit
// an order until benchCheckoutTries purchases were tried, then counts the
// paid orders, the double charges and the units sold beyond the stock.
func (b *benchRun) checkoutRun(ctx context.Context) (checkoutResult, error) {
	res := checkoutResult{shoppers: benchShoppers, tries: benchCheckoutTries, stock: benchCheckoutStock}
	pool, err := cliPool(ctx, b.dbURL, 4)
	if err != nil {
		return res, err
	}
	defer pool.Close()
	catalogue := products.New(pool)
	store := orders.New(pool, catalogue)
	shoppers := make([]shopper, benchShoppers)
	for i := range shoppers {
		cookies, err := signInBrowser(ctx, b.cfg, benchShopperEmail(i), "cart")
		if err != nil {
			return res, fmt.Errorf("signing in %s: %w", benchShopperEmail(i), err)
		}
		shoppers[i] = shopper{email: benchShopperEmail(i), cookie: cookies["cart"], id: b.cart.shoppers[i]}
	}
	fmt.Fprintf(b.stdout, "checkout: %d shoppers try to buy %d units of %s (%d in stock), one an order, paid in the SumUp sandbox\n",
		benchShoppers, benchCheckoutTries, benchCheckoutSlug, benchCheckoutStock)

	var next, paid, refused, failed atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	client := plainClient()
	started := time.Now()
	for _, s := range shoppers {
		wg.Go(func() {
			for next.Add(1) <= benchCheckoutTries && ctx.Err() == nil {
				switch err := b.buyOne(ctx, client, store, s); {
				case err == nil:
					paid.Add(1)
				case errors.Is(err, errRefused):
					refused.Add(1)
				default:
					failed.Add(1)
					once.Do(func() { res.firstError = err.Error() })
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(started)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	res.paid, res.refused, res.errors = int(paid.Load()), int(refused.Load()), int(failed.Load())

	// What SumUp was paid: one paid checkout an order at most.
	res.sumupDoubles = sumupDoubles(b.sandbox.Checkouts())
	// What the orders say: one paid attempt an order, and no more units
	// sold than there were.
	for _, s := range shoppers {
		list, err := store.OrdersOf(ctx, s.id, 1000)
		if err != nil {
			return res, err
		}
		for _, o := range list {
			o, err := store.Order(ctx, o.ID)
			if err != nil {
				return res, err
			}
			res.orderDoubles += orderDoubles(o)
			if o.Status == models.OrderPaid || o.Status == models.OrderPendingPayment {
				for _, l := range o.Lines {
					if l.VariantID.Valid && l.VariantID.UUID == b.cart.variant {
						res.sold += l.Quantity
					}
				}
			}
		}
	}
	p, err := catalogue.Product(ctx, benchCheckoutSlug, true)
	if err != nil {
		return res, err
	}
	res.stockLeft = p.Variants[0].Stock
	res.oversold = oversold(res.sold, res.stockLeft, benchCheckoutStock)
	return res, nil
}

// buyOne is one purchase: a unit into the basket, the checkout form, Pay
// (the order placed, its SumUp checkout created), the checkout paid in the
// sandbox (which sends the cart its webhook), and the wait until the cart
// has verified it and the order is paid. errRefused: sold out.
func (b *benchRun) buyOne(ctx context.Context, client *http.Client, store *orders.Store, s shopper) error {
	variant := b.cart.variant.String()
	status, h, body, err := b.cartPost(ctx, client, s, "/items", url.Values{"variant_id": {variant}, "quantity": {"1"}, "next": {"/"}})
	switch {
	case err != nil:
		return err
	case status == http.StatusBadRequest && soldOutText(leadOf(body)):
		return errRefused // none left to add
	case status == http.StatusBadRequest:
		return fmt.Errorf("POST /items refused: %s", leadOf(body))
	case status != http.StatusSeeOther:
		return fmt.Errorf("POST /items answered %d", status)
	}
	if status, h, _, err = b.cartPost(ctx, client, s, "/checkout", nil); err != nil || status != http.StatusSeeOther || h.Get("Location") != "/checkout" {
		return fmt.Errorf("POST /checkout answered %d to %q (%v)", status, h.Get("Location"), err)
	}
	status, _, body, err = fetch(ctx, client, b.cartTarget(s, "/checkout"))
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("GET /checkout answered %d (%v)", status, err)
	}
	form, err := checkoutForm(body, s.email)
	if err != nil {
		return err
	}
	status, h, body, err = b.cartPost(ctx, client, s, "/checkout/pay", form)
	switch {
	case err != nil:
		return err
	case status == http.StatusUnprocessableEntity && !soldOut(body):
		return fmt.Errorf("POST /checkout/pay refused the form: %s", problemOf(body))
	case status == http.StatusUnprocessableEntity:
		// Sold out between the add and Pay: the line leaves the basket.
		if status, _, _, err := b.cartPost(ctx, client, s, "/items/"+variant+"/remove", nil); err != nil || status != http.StatusSeeOther {
			return fmt.Errorf("removing a sold-out line answered %d (%v)", status, err)
		}
		return errRefused
	case status != http.StatusSeeOther:
		return fmt.Errorf("POST /checkout/pay answered %d", status)
	}
	loc, err := url.Parse(h.Get("Location"))
	if err != nil || path.Dir(loc.Path) != "/pay" {
		return fmt.Errorf("POST /checkout/pay went to %q, not the sandbox's payment page", h.Get("Location"))
	}
	id := path.Base(loc.Path)
	if err := b.sandbox.Pay(id, sumup.StatusPaid); err != nil {
		return fmt.Errorf("paying checkout %s: %w", id, err)
	}
	deadline := time.Now().Add(benchPaidWithin)
	for {
		at, err := store.AttemptByCheckout(ctx, id)
		if err != nil {
			return err
		}
		if at.Status == models.AttemptPaid {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("checkout %s paid, its order not paid %s later (attempt %s)", id, benchPaidWithin, at.Status)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkoutForm reads the checkout page's one-time key and answers the
// form: the shopper's email, pickup at the first place offered (delivery
// to a bench address when there is none), the terms accepted.
func checkoutForm(page, email string) (url.Values, error) {
	m := checkoutKeyRE.FindStringSubmatch(page)
	if m == nil {
		return nil, errors.New("the checkout page has no key")
	}
	form := url.Values{"key": {html.UnescapeString(m[1])}, "email": {email}, "terms": {"yes"}}
	if m := checkoutPickupRE.FindStringSubmatch(page); m != nil {
		form.Set("fulfilment", models.FulfilPickup)
		form.Set("pickup_place", html.UnescapeString(m[1]))
	} else {
		form.Set("fulfilment", models.FulfilDelivery)
		for k, v := range map[string]string{"name": "Bench Shopper", "line1": "1 Loopback Lane", "city": "Localhost",
			"postcode": "LO1 1AA", "country": "GB"} {
			form.Set(k, v)
		}
	}
	return form, nil
}

// soldOut reports whether the checkout page was shown again because the
// product sold out.
func soldOut(page string) bool { return soldOutText(problemOf(page)) }

// soldOutText reports whether a refusal says there are too few left: the
// catalogue's "... is sold out.", "... has just sold out.", "Only N left
// of ...", "Only N of ... left.".
func soldOutText(msg string) bool {
	return strings.Contains(msg, "sold out") || strings.Contains(msg, " left")
}

// leadOf is the message of the page refusing an add to the basket.
func leadOf(page string) string {
	if m := leadRE.FindStringSubmatch(page); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// problemOf is the problem a page shows with its form, "" for none.
func problemOf(page string) string {
	if m := formErrorRE.FindStringSubmatch(page); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// cartTarget is the cart's page at path as shopper s sees it.
func (b *benchRun) cartTarget(s shopper, path string) httpTarget {
	return httpTarget{url: b.cfg.Service("cart").InternalURL + path, host: hostOf(b.cfg.Service("cart").PublicURL), cookie: s.cookie}
}

// cartPost posts form to the cart as shopper s, from the cart's own pages.
func (b *benchRun) cartPost(ctx context.Context, client *http.Client, s shopper, path string, form url.Values) (int, http.Header, string, error) {
	t := b.cartTarget(s, path)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, "", err
	}
	req.Host = t.host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", t.cookie)
	req.Header.Set("Origin", strings.TrimSuffix(b.cfg.Service("cart").PublicURL, "/"))
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body), err
}

// sumupDoubles counts the paid SumUp checkouts beyond the first of each
// order (their references are order-{id}-{attempt}).
func sumupDoubles(cos []sumup.Checkout) int {
	paid := map[string]int{}
	for _, co := range cos {
		if co.Status != sumup.StatusPaid {
			continue
		}
		ref := co.Reference
		if i := strings.LastIndexByte(ref, '-'); i > 0 {
			ref = ref[:i]
		}
		paid[ref]++
	}
	n := 0
	for _, c := range paid {
		n += c - 1
	}
	return n
}

// orderDoubles counts an order's paid attempts beyond one.
func orderDoubles(o models.Order) int {
	n := 0
	for _, at := range o.Attempts {
		if at.Status == models.AttemptPaid {
			n++
		}
	}
	return max(n-1, 0)
}

// oversold is how many units were sold beyond the starting stock: the
// units of paid and pending orders beyond it, and any below zero left.
func oversold(sold, left, stock int) int {
	return max(sold-stock, 0) + max(-left, 0)
}

// checkoutTargets are the checkout run's targets: no order charged twice,
// no unit sold that was not there.
func checkoutTargets(r checkoutResult) []benchTarget {
	return []benchTarget{
		{what: "checkout: no double charges", pass: r.doubleCharges() == 0,
			got: fmt.Sprintf("%d (SumUp checkouts paid twice for an order: %d; orders with two paid attempts: %d)",
				r.doubleCharges(), r.sumupDoubles, r.orderDoubles)},
		{what: "checkout: no units oversold", pass: r.oversold == 0,
			got: fmt.Sprintf("%d (%d sold of %d, %d left)", r.oversold, r.sold, r.stock, r.stockLeft)},
	}
}

// cartTargets are the cart's targets: the signed-in basket (case 11) at
// least 0.20x the static page's rate, and the checkout run's.
func cartTargets(sums map[int]caseSummary, r checkoutResult) []benchTarget {
	return append([]benchTarget{ratioTarget("case 11 req/s >= 0.20x case 1 (basket)", sums[11].rps, sums[1].rps, 0.20)},
		checkoutTargets(r)...)
}

// reportCheckout prints the checkout run's line.
func reportCheckout(w io.Writer, r checkoutResult) {
	fmt.Fprintf(w, "checkout: %d shoppers, %d purchases tried of %d in stock over %.1fs: %d orders paid (%.1f orders/s, webhook verified by GET), %d refused (sold out), %d errors\n",
		r.shoppers, r.tries, r.stock, r.elapsed.Seconds(), r.paid, r.perSecond(), r.refused, r.errors)
	if r.firstError != "" {
		fmt.Fprintf(w, "checkout: first error: %s\n", r.firstError)
	}
}
