package main

import (
	"context"
	"fmt"
	"io"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// The market's cases search a catalogue of benchCatalogueSize products, of
// which benchSearchWord names one in len(benchNouns).
const (
	benchCatalogueSize = 10000
	benchMarket        = "bench-market"
	benchSearchWord    = "honey"
)

var (
	benchAdjectives = []string{"Smoked", "Wild", "Organic", "Aged", "Fresh", "Salted", "Spiced", "Golden", "Rustic", "Heritage",
		"Crème", "Highland", "Orchard", "Stone-ground", "Raw", "Toasted", "Farmhouse", "Heather", "Sweet", "Dark"}
	benchNouns = []string{"Honey", "Cheddar", "Sourdough", "Cider", "Chutney", "Marmalade", "Butter", "Oats", "Flour", "Apples",
		"Sausages", "Bacon", "Eggs", "Yoghurt", "Fudge", "Shortbread", "Jam", "Pickles", "Mustard", "Tea",
		"Coffee", "Chocolate", "Soap", "Candles", "Wool"}
)

// benchProduct is the bench catalogue's product i (0-based): a name of an
// adjective, a noun and its number, priced and stocked differently.
func benchProduct(i int) products.ProductInput {
	adj, noun := benchAdjectives[i%len(benchAdjectives)], benchNouns[(i/len(benchAdjectives))%len(benchNouns)]
	name := fmt.Sprintf("%s %s %d", adj, noun, i+1)
	in := products.ProductInput{
		Market: benchMarket, Slug: fmt.Sprintf("bench-%05d", i+1), Name: name, Currency: "GBP", VATRateBP: 2000, Publish: true,
		Summary:     fmt.Sprintf("%s %s from the bench market, lot %d.", adj, noun, i+1),
		Description: fmt.Sprintf("<p>%s %s, made in small batches. Keep somewhere cool and dry.</p>", adj, noun),
		Variants: []products.VariantInput{{Name: "Small", Price: 150 + int64(i*37%2000), TrackStock: true, Stock: i % 30},
			{Name: "Large", Price: 400 + int64(i*53%3000), TrackStock: true, Stock: i % 7}},
	}
	if i%3 == 0 {
		in.Images = []models.ProductImage{{URL: "/media/bench.jpg", Alt: name}}
	}
	return in
}

// seedBenchCatalogue adds the bench market and its benchCatalogueSize
// products to the bench's database through the products store, unless a
// previous run did.
func seedBenchCatalogue(ctx context.Context, dbURL string, stdout io.Writer) error {
	pool, err := cliPool(ctx, dbURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := products.New(pool)
	if _, err := store.Market(ctx, benchMarket); models.Code(err) == models.ENotFound {
		if _, err := store.CreateMarket(ctx, products.MarketInput{Slug: benchMarket, Name: "Bench Market",
			Summary: "The benchmark's catalogue", Location: "Loopback"}); err != nil {
			return fmt.Errorf("bench market: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("bench market: %w", err)
	}
	var have int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM products WHERE slug LIKE 'bench-%'`).Scan(&have); err != nil {
		return err
	}
	if have >= benchCatalogueSize {
		fmt.Fprintf(stdout, "bench catalogue: %d products already there\n", have)
		return nil
	}
	var missing []products.ProductInput
	rows, err := pool.Query(ctx, `SELECT slug FROM products WHERE slug LIKE 'bench-%'`)
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		taken[s] = true
	}
	rows.Close()
	for i := range benchCatalogueSize {
		if in := benchProduct(i); !taken[in.Slug] {
			missing = append(missing, in)
		}
	}
	n, err := store.CreateProducts(ctx, missing)
	if err != nil {
		return fmt.Errorf("bench catalogue: %w", err)
	}
	fmt.Fprintf(stdout, "bench catalogue: added %d products\n", n)
	return nil
}
