package orders_test

import (
	"context"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub/listings"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
)

// Stock sold or given back through orders reaches the market's followers
// as the market's own edits do, but only when the availability they see
// changes: a sale that leaves plenty sends nothing, the sale of the last
// units sends Update "Sold out", and the stock an expired order gives back
// sends Update "In stock" again.
func TestOrdersAnnounceAvailabilityChanges(t *testing.T) {
	db := pgtest.MustPool(t)
	ctx := context.Background()
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pub := &listings.Publisher{MarketURL: "https://market.example.org", Jobs: jobs}
	catalog := products.New(db)
	catalog.OnChange(pub.Sync)
	if _, err := catalog.CreateMarket(ctx, products.MarketInput{Slug: "hill-farm", Name: "Hill Farm"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE markets SET pickup_places = '{"Farm gate"}'`); err != nil {
		t.Fatal(err)
	}
	honey, err := catalog.CreateProduct(ctx, products.ProductInput{Market: "hill-farm", Name: "Heather honey", Currency: "GBP",
		Publish: true, Variants: []products.VariantInput{{Price: 725, TrackStock: true, Stock: 12}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := func() []string {
		t.Helper()
		rows, err := db.Query(ctx, `SELECT type || ' ' || coalesce(payload->'object'->>'content', '') FROM ap_activities
WHERE object_uri = $1 ORDER BY created_at, id`, pub.ObjectID(honey.ID))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	if got := sent(); len(got) != 1 || !strings.HasPrefix(got[0], "Create") || !strings.Contains(got[0], "In stock") {
		t.Fatalf("after publishing: %q, want one Create saying In stock", got)
	}

	store := orders.New(db, catalog)
	buy := func(n int) models.Order {
		t.Helper()
		o, _, err := store.Place(ctx, orders.PlaceInput{Email: "shopper@example.org", Fulfilment: models.FulfilPickup,
			PickupPlace: "Farm gate", AcceptTerms: true, Lines: []orders.LineInput{{VariantID: honey.Variants[0].ID, Quantity: n}}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	buy(2) // 10 left: still "In stock"
	if got := sent(); len(got) != 1 {
		t.Fatalf("a sale that changed no availability was announced: %q", got)
	}
	last := buy(10)
	got := sent()
	if len(got) != 2 || !strings.HasPrefix(got[1], "Update") || !strings.Contains(got[1], "Sold out") {
		t.Fatalf("after selling the last jars: %q, want an Update saying Sold out", got)
	}
	if _, err := store.Move(ctx, last.ID, models.OrderCancelled, orders.Actor{Name: "test"}, "shopper changed their mind"); err != nil {
		t.Fatal(err)
	}
	got = sent()
	if len(got) != 3 || !strings.HasPrefix(got[2], "Update") || !strings.Contains(got[2], "In stock") {
		t.Fatalf("after the unpaid order was cancelled: %q, want an Update saying In stock", got)
	}
}
