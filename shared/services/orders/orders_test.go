package orders_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
)

type shop struct {
	db      *pgxpool.Pool
	catalog *products.Store
	orders  *orders.Store
	ctx     context.Context
}

// newShop is a market with pickup at the farm gate and a £3.50 delivery,
// selling honey (5 left) and an untracked loaf.
func newShop(t *testing.T) (shop, uuid.UUID, uuid.UUID) {
	t.Helper()
	db := pgtest.MustPool(t)
	ctx := context.Background()
	catalog := products.New(db)
	if _, err := catalog.CreateMarket(ctx, products.MarketInput{Slug: "hill-farm", Name: "Hill Farm"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE markets SET delivery_fee_minor = 350, pickup_places = '{"Farm gate"}'`); err != nil {
		t.Fatal(err)
	}
	honey, err := catalog.CreateProduct(ctx, products.ProductInput{Market: "hill-farm", Name: "Heather honey", Currency: "GBP",
		VATRateBP: 2000, Publish: true, Variants: []products.VariantInput{{Price: 725, TrackStock: true, Stock: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	loaf, err := catalog.CreateProduct(ctx, products.ProductInput{Market: "hill-farm", Name: "Loaf", Currency: "GBP",
		Publish: true, Variants: []products.VariantInput{{Price: 400}}})
	if err != nil {
		t.Fatal(err)
	}
	return shop{db: db, catalog: catalog, orders: orders.New(db, catalog), ctx: ctx}, honey.Variants[0].ID, loaf.Variants[0].ID
}

func pickup(lines ...orders.LineInput) orders.PlaceInput {
	return orders.PlaceInput{Email: "shopper@example.org", Fulfilment: models.FulfilPickup, PickupPlace: "Farm gate",
		AcceptTerms: true, Lines: lines}
}

func (s shop) stock(t *testing.T, variant uuid.UUID) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(s.ctx, `SELECT stock FROM product_variants WHERE id = $1`, variant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// 20 shoppers check out the last 5 jars at once: exactly 5 orders are
// placed, the others are told, and the stock ends at 0, never below.
func TestConcurrentCheckoutsNeverOversell(t *testing.T) {
	s, honey, _ := newShop(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed, refused := 0, 0
	for range 20 {
		wg.Go(func() {
			_, _, err := s.orders.Place(s.ctx, pickup(orders.LineInput{VariantID: honey, Quantity: 1}))
			mu.Lock()
			defer mu.Unlock()
			switch models.Code(err) {
			case "":
				placed++
			case models.EConflict:
				refused++
			default:
				t.Errorf("checkout: %v", err)
			}
		})
	}
	wg.Wait()
	if placed != 5 || refused != 15 || s.stock(t, honey) != 0 {
		t.Errorf("placed %d, refused %d, stock %d; want 5, 15, 0", placed, refused, s.stock(t, honey))
	}
}

// An order's totals: lines at the catalogue's price, delivery fee, VAT
// included; its attempt is referenced order-<id>-1; a bad form writes
// nothing.
func TestPlaceTotalsAndValidation(t *testing.T) {
	s, honey, loaf := newShop(t)
	in := pickup(orders.LineInput{VariantID: honey, Quantity: 2}, orders.LineInput{VariantID: loaf, Quantity: 1})
	in.Fulfilment, in.PickupPlace = models.FulfilDelivery, ""
	in.Address = models.Address{Name: "Ann", Line1: "1 High St", City: "Leith", Postcode: "EH6 1AA"}
	o, at, err := s.orders.Place(s.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if o.Subtotal != 1850 || o.Delivery != 350 || o.Total != 2200 || o.VAT != 242 || o.Currency != "GBP" {
		t.Errorf("totals: %+v", o)
	}
	if at.Reference != "order-"+o.ID.String()+"-1" || at.Amount != (models.Money{Minor: 2200, Currency: "GBP"}) {
		t.Errorf("attempt: %+v", at)
	}
	if s.stock(t, honey) != 3 {
		t.Errorf("stock after ordering 2 of 5: %d", s.stock(t, honey))
	}
	for name, bad := range map[string]orders.PlaceInput{
		"no terms": func() orders.PlaceInput {
			p := pickup(orders.LineInput{VariantID: honey, Quantity: 1})
			p.AcceptTerms = false
			return p
		}(),
		"bad email": func() orders.PlaceInput {
			p := pickup(orders.LineInput{VariantID: honey, Quantity: 1})
			p.Email = "nope"
			return p
		}(),
		"no address": func() orders.PlaceInput {
			p := pickup(orders.LineInput{VariantID: honey, Quantity: 1})
			p.Fulfilment = models.FulfilDelivery
			return p
		}(),
		"bad place": func() orders.PlaceInput {
			p := pickup(orders.LineInput{VariantID: honey, Quantity: 1})
			p.PickupPlace = "Moon"
			return p
		}(),
		"zero":         pickup(orders.LineInput{VariantID: honey, Quantity: 0}),
		"too many":     pickup(orders.LineInput{VariantID: honey, Quantity: 4}),
		"unknown item": pickup(orders.LineInput{VariantID: uuid.New(), Quantity: 1}),
	} {
		if _, _, err := s.orders.Place(s.ctx, bad); err == nil || models.Code(err) == models.EInternal {
			t.Errorf("%s: %v, want a message", name, err)
		}
	}
	if s.stock(t, honey) != 3 {
		t.Errorf("a refused checkout changed the stock: %d", s.stock(t, honey))
	}
}

// Any number of webhooks and returns settle an order once; a mismatched
// amount is not paid; a payment after expiry is a refund due; expiry
// gives the stock back.
func TestSettleIsIdempotentAndExpiryReleases(t *testing.T) {
	s, honey, _ := newShop(t)
	o, at, err := s.orders.Place(s.ctx, pickup(orders.LineInput{VariantID: honey, Quantity: 2}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.orders.AttachCheckout(s.ctx, at.ID, "co-1", "http://sumup/pay/co-1"); err != nil {
		t.Fatal(err)
	}
	wrong := orders.Checked{CheckoutID: "co-1", Status: "PAID", Amount: models.Money{Minor: 1, Currency: "GBP"}, MerchantCode: "M1"}
	if out, _, err := s.orders.Settle(s.ctx, wrong, "M1"); err != nil || out != orders.Mismatch {
		t.Errorf("a wrong amount: %v %v", out, err)
	}
	paid := orders.Checked{CheckoutID: "co-1", Status: "PAID", Amount: at.Amount, MerchantCode: "M1", TransactionID: "tx-1"}
	var nowPaid atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			out, _, err := s.orders.Settle(s.ctx, paid, "M1")
			if err != nil {
				t.Error(err)
			}
			if out == orders.NowPaid {
				nowPaid.Add(1)
			}
		})
	}
	wg.Wait()
	got, err := s.orders.Order(s.ctx, o.ID)
	if err != nil || nowPaid.Load() != 1 || got.Status != models.OrderPaid || got.PaidAt == nil {
		t.Fatalf("after 8 settles: %d became paid, status %s, %v", nowPaid.Load(), got.Status, err)
	}
	if _, _, err := s.orders.Settle(s.ctx, orders.Checked{CheckoutID: "unknown", Status: "PAID"}, "M1"); models.Code(err) != models.ENotFound {
		t.Errorf("an unknown checkout: %v", err)
	}

	// An order left unpaid expires and its stock comes back; paying it then
	// is a refund due.
	late, at2, err := s.orders.Place(s.ctx, pickup(orders.LineInput{VariantID: honey, Quantity: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.orders.AttachCheckout(s.ctx, at2.ID, "co-2", ""); err != nil {
		t.Fatal(err)
	}
	if s.stock(t, honey) != 0 {
		t.Fatalf("stock with both orders: %d", s.stock(t, honey))
	}
	stale, err := s.orders.ExpireHolds(s.ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(stale) != 1 || stale[0].CheckoutID != "co-2" {
		t.Fatalf("expire: %+v %v", stale, err)
	}
	if s.stock(t, honey) != 3 {
		t.Errorf("stock after expiry: %d, want 3", s.stock(t, honey))
	}
	out, _, err := s.orders.Settle(s.ctx, orders.Checked{CheckoutID: "co-2", Status: "PAID", Amount: at2.Amount, MerchantCode: "M1"}, "M1")
	if err != nil || out != orders.RefundDue {
		t.Errorf("paid after expiry: %v %v", out, err)
	}
	if got, _ := s.orders.Order(s.ctx, late.ID); got.Status != models.OrderExpired {
		t.Errorf("a late payment changed the expired order to %s", got.Status)
	}
	// A partial refund of the paid order.
	given := func(context.Context, models.Order, models.PaymentAttempt) error { return nil } // SumUp refunded
	got, err = s.orders.Refund(s.ctx, o.ID, 500, orders.Actor{Name: "admin"}, "one jar broke", given)
	if err != nil || got.Status != models.OrderPartiallyRefunded || got.Refunded != 500 {
		t.Errorf("partial refund: %+v %v", got, err)
	}
	if _, err := s.orders.Refund(s.ctx, o.ID, 1000, orders.Actor{Name: "admin"}, "too much", given); models.Code(err) != models.EInvalid {
		t.Errorf("refunding more than is left: %v", err)
	}
}

// The same checkout form submitted twice (a double click, two tabs, the
// back button) places one order and holds its stock once.
func TestSameCheckoutKeyPlacesOneOrder(t *testing.T) {
	s, honey, _ := newShop(t)
	in := pickup(orders.LineInput{VariantID: honey, Quantity: 2})
	in.Key = "form-1"
	var wg sync.WaitGroup
	ids := make(chan uuid.UUID, 4)
	for range 4 {
		wg.Go(func() {
			o, _, err := s.orders.Place(s.ctx, in)
			if err != nil {
				t.Error(err)
				return
			}
			ids <- o.ID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[uuid.UUID]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || s.stock(t, honey) != 3 {
		t.Errorf("%d orders for one form, stock %d (want 1 order, 3 left)", len(seen), s.stock(t, honey))
	}
}
