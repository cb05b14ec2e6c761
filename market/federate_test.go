package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/servicetest"
)

// Products written without announcements, as the demo seeds them before
// the market starts, are in @market's outbox soon after it starts, and
// each is served at its id.
func TestSeededProductsReachTheMarketsOutbox(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.MustDatabaseURL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := activitypub.LoadOrCreateKey(ctx, pool); err != nil { // the blog makes it at its first start
		t.Fatal(err)
	}
	seed := products.New(pool) // no OnChange: as the demo's seed
	if _, err := seed.CreateMarket(ctx, products.MarketInput{Name: "Hill Farm"}); err != nil {
		t.Fatal(err)
	}
	p, err := seed.CreateProduct(ctx, products.ProductInput{Market: "hill-farm", Name: "Heather honey", Currency: "GBP",
		Publish: true, Variants: []products.VariantInput{{Price: 725, TrackStock: false}}})
	if err != nil {
		t.Fatal(err)
	}

	s := servicetest.Start(t, "market", run, servicetest.Options{DatabaseURL: dbURL})
	getAS := func(u string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "application/activity+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		return resp.StatusCode, doc
	}
	actor := s.BaseURL + "/users/market"
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, doc := getAS(actor + "/outbox")
		if total, _ := doc["totalItems"].(float64); status == http.StatusOK && total >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox after 20s: %d %v", status, doc)
		}
		time.Sleep(100 * time.Millisecond)
	}
	status, note := getAS(actor + "/products/" + p.ID.String())
	if status != http.StatusOK || note["type"] != "Note" || note["url"] != s.BaseURL+"/products/heather-honey" {
		t.Errorf("the product's object: %d %v", status, note)
	}
}
