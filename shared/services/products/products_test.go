package products_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/products"
)

// catalogue is a small shop: two markets, a two-level category tree and a
// few products.
type catalogue struct {
	st  *products.Store
	db  *pgxpool.Pool
	ctx context.Context
}

func newCatalogue(t *testing.T) catalogue {
	t.Helper()
	db := pgtest.MustPool(t)
	st := products.New(db)
	clock := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	c := catalogue{st: st, db: db, ctx: context.Background()}
	for _, m := range []products.MarketInput{
		{Name: "Hillside Bees", Summary: "Honey from the hills", Location: "Hillside"},
		{Name: "Crème Bakery", Slug: "creme-bakery", Summary: "Bread and cakes"},
	} {
		if _, err := st.CreateMarket(c.ctx, m); err != nil {
			t.Fatalf("market %s: %v", m.Name, err)
		}
	}
	for _, cat := range []products.CategoryInput{
		{Name: "Pantry"}, {Name: "Honey", Parent: "pantry"}, {Name: "Bakery"}, {Name: "Bread", Parent: "bakery"},
	} {
		if _, err := st.SaveCategory(c.ctx, uuid.Nil, cat); err != nil {
			t.Fatalf("category %s: %v", cat.Name, err)
		}
	}
	return c
}

func (c catalogue) add(t *testing.T, in products.ProductInput) models.Product {
	t.Helper()
	if in.Currency == "" {
		in.Currency = "GBP"
	}
	in.Publish = true
	p, err := c.st.CreateProduct(c.ctx, in)
	if err != nil {
		t.Fatalf("product %s: %v", in.Name, err)
	}
	return p
}

func one(price int64, stock int) []products.VariantInput {
	return []products.VariantInput{{Price: price, TrackStock: true, Stock: stock}}
}

func names(ps []models.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func TestSearchFindsByPrefixAndRanksNamesFirst(t *testing.T) {
	c := newCatalogue(t)
	c.add(t, products.ProductInput{Market: "hillside-bees", Category: "honey", Name: "Heather honey", Variants: one(725, 10)})
	c.add(t, products.ProductInput{Market: "creme-bakery", Category: "bread", Name: "Spelt loaf",
		Description: "<p>Sweetened with a spoon of honey.</p>", Variants: one(450, 4)})
	c.add(t, products.ProductInput{Market: "creme-bakery", Category: "bread", Name: "Rye bread", Variants: one(400, 4)})
	c.add(t, products.ProductInput{Market: "creme-bakery", Name: "Brioche", Variants: one(300, 0)})

	got, err := c.st.Search(c.ctx, "hon", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Heather honey", "Spelt loaf"}; !slices.Equal(names(got.Products), want) || got.Total != 2 {
		t.Errorf(`search "hon" = %v (total %d), want %v: a prefix finds honey, and a name match ranks above a description match`, names(got.Products), got.Total, want)
	}
	// The market's name is searched, accents folded.
	got, err = c.st.Search(c.ctx, "creme", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Products) != 3 {
		t.Errorf(`search "creme" = %v, want the three products of Crème Bakery`, names(got.Products))
	}
	// All words must match; punctuation and stop words alone find nothing
	// and fail nothing.
	for q, want := range map[string]int{"rye bre": 1, "rye honey": 0, "'); DROP TABLE products; --": 0, "   ": 0, "the": 0} {
		got, err := c.st.Search(c.ctx, q, 1, 10)
		if err != nil || len(got.Products) != want {
			t.Errorf("search %q = %v, %v; want %d products", q, names(got.Products), err, want)
		}
	}
	if _, err := c.st.Search(c.ctx, string(make([]byte, 300)), 1, 10); models.Code(err) != models.EInvalid {
		t.Errorf("a 300-character query: %v, want EInvalid", err)
	}
}

// Kept pages: a search and a listing are answered from memory until the
// Store changes the catalogue (a change made behind its back, like stock
// sold by another service, shows when the pages expire).
func TestKeptListingsAndSearchesAreForgottenOnChange(t *testing.T) {
	c := newCatalogue(t)
	c.st.CacheListings(time.Minute)
	honey := c.add(t, products.ProductInput{Market: "hillside-bees", Name: "Heather honey", Variants: one(725, 10)})
	search := func() products.Page {
		t.Helper()
		got, err := c.st.Search(c.ctx, "honey", 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	listing := func() products.Page {
		t.Helper()
		got, err := c.st.Products(c.ctx, products.Query{MinPrice: -1, MaxPrice: -1})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := search(); got.Total != 1 || len(listing().Products) != 1 {
		t.Fatalf("search: %v", names(got.Products))
	}
	// Behind the Store's back: the kept pages still answer.
	if _, err := c.db.Exec(c.ctx, `UPDATE products SET status = 'draft' WHERE id = $1`, honey.ID); err != nil {
		t.Fatal(err)
	}
	if got := search(); got.Total != 1 || len(listing().Products) != 1 {
		t.Errorf("the kept search was not served: %v", names(got.Products))
	}
	// A change through the Store: the next search and listing see it.
	c.add(t, products.ProductInput{Market: "hillside-bees", Name: "Honey fudge", Variants: one(300, 3)})
	if got := search(); got.Total != 1 || got.Products[0].Name != "Honey fudge" {
		t.Errorf("after a change, search = %v, want only Honey fudge", names(got.Products))
	}
	if got := listing(); len(got.Products) != 1 {
		t.Errorf("after a change, listing = %v", names(got.Products))
	}
	// Drafts (the admin's lists) are never kept.
	if _, err := c.db.Exec(c.ctx, `UPDATE products SET status = 'draft'`); err != nil {
		t.Fatal(err)
	}
	if got, err := c.st.Products(c.ctx, products.Query{Drafts: true, MinPrice: -1, MaxPrice: -1}); err != nil || got.Total != 2 {
		t.Errorf("drafts listing: %v, %v", got.Total, err)
	}
}

func TestListingFiltersSortsAndPages(t *testing.T) {
	c := newCatalogue(t)
	c.add(t, products.ProductInput{Market: "hillside-bees", Category: "honey", Name: "Heather honey", Variants: []products.VariantInput{
		{Name: "340 g", Price: 725, TrackStock: true, Stock: 10}, {Name: "1 kg", Price: 1800, TrackStock: true, Stock: 1}}})
	c.add(t, products.ProductInput{Market: "hillside-bees", Category: "pantry", Name: "Beeswax wraps", Variants: one(900, 0)})
	c.add(t, products.ProductInput{Market: "creme-bakery", Category: "bread", Name: "Spelt loaf", Variants: one(450, 4)})
	c.add(t, products.ProductInput{Market: "creme-bakery", Category: "bread", Name: "Rye bread",
		Variants: []products.VariantInput{{Price: 400, TrackStock: true, Stock: 0, AllowBackorder: true}}})
	draft, err := c.st.CreateProduct(c.ctx, products.ProductInput{Market: "creme-bakery", Name: "Secret cake", Currency: "GBP", Variants: one(100, 5)})
	if err != nil {
		t.Fatal(err)
	}

	list := func(q products.Query) []string {
		t.Helper()
		page, err := c.st.Products(c.ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		return names(page.Products)
	}
	for _, tc := range []struct {
		what string
		q    products.Query
		want []string
	}{
		{"newest first", products.Query{MinPrice: -1, MaxPrice: -1}, []string{"Rye bread", "Spelt loaf", "Beeswax wraps", "Heather honey"}},
		{"price up (lowest variant)", products.Query{Sort: products.SortPriceUp, MinPrice: -1, MaxPrice: -1}, []string{"Rye bread", "Spelt loaf", "Heather honey", "Beeswax wraps"}},
		{"price down", products.Query{Sort: products.SortPriceDown, MinPrice: -1, MaxPrice: -1}, []string{"Beeswax wraps", "Heather honey", "Spelt loaf", "Rye bread"}},
		{"name", products.Query{Sort: products.SortName, MinPrice: -1, MaxPrice: -1}, []string{"Beeswax wraps", "Heather honey", "Rye bread", "Spelt loaf"}},
		{"a market", products.Query{Market: "creme-bakery", MinPrice: -1, MaxPrice: -1}, []string{"Rye bread", "Spelt loaf"}},
		{"a category with its subcategories", products.Query{Category: "pantry", MinPrice: -1, MaxPrice: -1}, []string{"Beeswax wraps", "Heather honey"}},
		{"in stock (a backorder is not in stock)", products.Query{InStock: true, MinPrice: -1, MaxPrice: -1}, []string{"Spelt loaf", "Heather honey"}},
		{"price range", products.Query{MinPrice: 450, MaxPrice: 900}, []string{"Spelt loaf", "Beeswax wraps", "Heather honey"}},
	} {
		if got := list(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, got, tc.want)
		}
	}
	if got := list(products.Query{Drafts: true, Market: "creme-bakery", MinPrice: -1, MaxPrice: -1}); !slices.Contains(got, draft.Name) {
		t.Errorf("the admin's list %v lacks the draft", got)
	}
	if _, err := c.st.Product(c.ctx, draft.Slug, false); models.Code(err) != models.ENotFound {
		t.Errorf("a shopper opening a draft: %v, want ENotFound", err)
	}

	// Pages follow each other without repeating or losing a product.
	var seen []string
	for page := 1; page <= 3; page++ {
		p, err := c.st.Products(c.ctx, products.Query{Sort: products.SortPriceUp, Page: page, PerPage: 3, MinPrice: -1, MaxPrice: -1})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 4 || p.Pages() != 2 {
			t.Errorf("page %d: total %d, pages %d; want 4 and 2", page, p.Total, p.Pages())
		}
		seen = append(seen, names(p.Products)...)
	}
	if want := list(products.Query{Sort: products.SortPriceUp, MinPrice: -1, MaxPrice: -1}); !slices.Equal(seen, want) {
		t.Errorf("pages gave %v, want %v", seen, want)
	}
	for _, q := range []products.Query{{Sort: "cheapest"}, {Page: -1}, {PerPage: 1000}, {MinPrice: 900, MaxPrice: 100}} {
		if _, err := c.st.Products(c.ctx, q); models.Code(err) != models.EInvalid {
			t.Errorf("%+v: %v, want EInvalid", q, err)
		}
	}
}

func TestProductValidationAndLocking(t *testing.T) {
	c := newCatalogue(t)
	base := products.ProductInput{Market: "hillside-bees", Name: "Heather honey", Currency: "GBP", VATRateBP: 0, Variants: one(725, 3)}
	for what, change := range map[string]func(*products.ProductInput){
		"a negative price":    func(in *products.ProductInput) { in.Variants = one(-1, 3) },
		"no currency":         func(in *products.ProductInput) { in.Currency = "" },
		"a currency of words": func(in *products.ProductInput) { in.Currency = "pounds" },
		"VAT over 100%":       func(in *products.ProductInput) { in.VATRateBP = 15000 },
		"no variant":          func(in *products.ProductInput) { in.Variants = nil },
		"a bad slug":          func(in *products.ProductInput) { in.Slug = "Heather Honey!" },
		"unnamed variants":    func(in *products.ProductInput) { in.Variants = append(one(1, 1), one(2, 2)...) },
	} {
		in := base
		change(&in)
		if _, err := c.st.CreateProduct(c.ctx, in); models.Code(err) != models.EInvalid {
			t.Errorf("%s: %v, want EInvalid", what, err)
		}
	}
	in := base
	in.Description = `<p onclick="steal()">Raw <script>alert(1)</script><b>honey</b></p>`
	p, err := c.st.CreateProduct(c.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Description != "<p>Raw <b>honey</b></p>" {
		t.Errorf("description kept %q: it must be sanitized", p.Description)
	}
	if _, err := c.st.CreateProduct(c.ctx, base); models.Code(err) != models.EConflict {
		t.Errorf("the same slug again: %v, want EConflict", err)
	}
	in.Market = "nowhere"
	in.Slug = "other"
	if _, err := c.st.CreateProduct(c.ctx, in); models.Code(err) != models.ENotFound {
		t.Errorf("an unknown market: %v, want ENotFound", err)
	}

	// Two admins open the product; the second save is stale and changes
	// nothing.
	first := base
	first.Name = "Heather honey, raw"
	first.Variants = []products.VariantInput{{ID: p.Variants[0].ID, Price: 800, TrackStock: true, Stock: 3}}
	saved, err := c.st.UpdateProduct(c.ctx, p.ID, p.Version, first)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Version != p.Version+1 || saved.MinPrice != 800 || saved.Variants[0].ID != p.Variants[0].ID {
		t.Errorf("saved: version %d, price %d, variant %v; want %d, 800 and the same variant", saved.Version, saved.MinPrice, saved.Variants[0].ID, p.Version+1)
	}
	second := base
	second.Name = "Something else"
	if _, err := c.st.UpdateProduct(c.ctx, p.ID, p.Version, second); models.Code(err) != models.EConflict {
		t.Errorf("a stale save: %v, want EConflict", err)
	}
	if now, _ := c.st.ProductByID(c.ctx, p.ID, true); now.Name != "Heather honey, raw" {
		t.Errorf("after the stale save the name is %q", now.Name)
	}
}

func TestVariantForCartTakesTheDatabasePriceAndRefusesSoldOut(t *testing.T) {
	c := newCatalogue(t)
	p := c.add(t, products.ProductInput{Market: "hillside-bees", Name: "Heather honey", Variants: []products.VariantInput{
		{Name: "340 g", Price: 725, TrackStock: true, Stock: 2},
		{Name: "1 kg", Price: 1800, TrackStock: true, Stock: 0},
		{Name: "5 kg", Price: 8000, TrackStock: true, Stock: 0, AllowBackorder: true}}})
	line, err := c.st.VariantForCart(c.ctx, p.Variants[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if line.Title != "Heather honey (340 g)" || line.Price != (models.Money{Minor: 725, Currency: "GBP"}) {
		t.Errorf("line %q %v", line.Title, line.Price)
	}
	if _, err := c.st.VariantForCart(c.ctx, p.Variants[1].ID); models.Code(err) != models.EInvalid {
		t.Errorf("a sold-out variant: %v, want EInvalid", err)
	}
	if _, err := c.st.VariantForCart(c.ctx, p.Variants[2].ID); err != nil {
		t.Errorf("a backorderable variant: %v", err)
	}
	if _, err := c.st.VariantForCart(c.ctx, uuid.New()); models.Code(err) != models.ENotFound {
		t.Errorf("an unknown variant: %v, want ENotFound", err)
	}
	if _, err := c.st.SetPublished(c.ctx, []uuid.UUID{p.ID}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.st.VariantForCart(c.ctx, p.Variants[0].ID); models.Code(err) != models.ENotFound {
		t.Errorf("a variant of an unpublished product: %v, want ENotFound", err)
	}
	texts := []string{}
	for _, v := range p.Variants {
		texts = append(texts, v.StockText())
	}
	if want := []string{"Only 2 left", "Sold out", "Available to order"}; !slices.Equal(texts, want) {
		t.Errorf("stock texts %v, want %v", texts, want)
	}
}

func TestEveryChangeRunsOnChangeInItsTransaction(t *testing.T) {
	c := newCatalogue(t)
	var seen []uuid.UUID
	fail := false
	c.st.OnChange(func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
		if fail {
			return errors.New("announce failed")
		}
		seen = append(seen, id)
		return nil
	})
	p := c.add(t, products.ProductInput{Market: "hillside-bees", Name: "Heather honey", Variants: one(725, 3)})
	if _, err := c.st.SetPublished(c.ctx, []uuid.UUID{p.ID}, false); err != nil {
		t.Fatal(err)
	}
	if err := c.st.DeleteProduct(c.ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Errorf("OnChange ran %d times for create, unpublish and delete, want 3", len(seen))
	}
	fail = true
	_, err := c.st.CreateProduct(c.ctx, products.ProductInput{Market: "hillside-bees", Name: "Wax", Currency: "GBP", Variants: one(1, 1)})
	if err == nil {
		t.Fatal("a failing announcement did not fail the save")
	}
	if _, err := c.st.Product(c.ctx, "wax", true); models.Code(err) != models.ENotFound {
		t.Errorf("the product whose announcement failed was saved anyway: %v", err)
	}
}
