package demo_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"unicode"

	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/products"
)

// A newcomer opening the market sees three markets with pictures, a
// two-level category tree and more than thirty published products with
// pictures, prices and variants; seeding again adds nothing.
func TestSeedFillsTheMarket(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 1) // without a media store: no pictures yet
	store, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mustSeedInto(t, db, store, 2) // the pictures come to what was seeded before

	variants, subcategories := 0, 0
	for _, p := range demo.Products {
		variants += len(p.Variants)
	}
	for _, c := range demo.Categories {
		subcategories += len(c.Children)
	}
	for query, want := range map[string]int{
		`SELECT count(*) FROM markets`:                                    3,
		`SELECT count(*) FROM markets WHERE image LIKE '/media/%'`:        3,
		`SELECT count(*) FROM product_categories`:                         len(demo.Categories) + subcategories,
		`SELECT count(*) FROM product_categories WHERE parent_id IS NULL`: len(demo.Categories),
		`SELECT count(*) FROM products WHERE status = 'published'`:        len(demo.Products),
		`SELECT count(*) FROM product_variants`:                           variants,
		`SELECT count(*) FROM product_images WHERE url LIKE '/media/%'`:   len(demo.Products),
	} {
		if n := count(t, db, query); n != want {
			t.Errorf("after seeding three times, %s = %d, want %d", query, n, want)
		}
	}
	if len(demo.Products) < 30 {
		t.Errorf("%d demo products, want at least 30", len(demo.Products))
	}

	st := products.New(db)
	tree, err := st.Categories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree) != 4 || tree[0].Name != "Pantry" || len(tree[0].Children) != 2 || tree[0].Children[0].Name != "Honey" {
		t.Errorf("demo category tree = %+v, want Pantry > Honey first", tree)
	}
	markets, err := st.Markets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range markets {
		if m.Summary == "" || m.Location == "" || !strings.Contains(m.Description, "<p>") || m.ProductCount < 8 {
			t.Errorf("demo market %s = %+v, want a summary, a location, a description and its products", m.Slug, m)
		}
	}

	featured := 0
	for _, dp := range demo.Products {
		p, err := st.Product(ctx, dp.Slug, false)
		if err != nil {
			t.Fatalf("demo product %s: %v", dp.Slug, err)
		}
		if n := len(p.Variants); n < 1 || n > 4 {
			t.Errorf("%s has %d variants, want 1 to 4", p.Slug, n)
		}
		if p.Summary == "" || !strings.Contains(p.Description, "<p>") || p.Image() == "" || p.CategorySlug == "" || p.MinPrice <= 0 {
			t.Errorf("demo product %s lacks a summary, description, picture, category or price: %+v", p.Slug, p)
		}
		craft := p.CategorySlug == "candles" || p.CategorySlug == "soap-and-balms"
		if craft && p.VATRateBP != 2000 {
			t.Errorf("%s (a craft) has VAT %s, want 20%%", p.Slug, p.VATRate())
		}
		if p.CategorySlug == "honey" && p.VATRateBP != 0 {
			t.Errorf("%s (food) has VAT %s, want 0%%", p.Slug, p.VATRate())
		}
		if p.Featured {
			featured++
			if !p.InStock {
				t.Errorf("featured demo product %s is not in stock", p.Slug)
			}
		}
		for _, v := range p.Variants {
			state := v.StockState()
			switch p.Slug {
			case demo.SoldOutProduct:
				if state != models.StockSoldOut || v.Buyable() {
					t.Errorf("%s is %s, want sold out", p.Slug, state)
				}
			case demo.LowStockProduct:
				if state != models.StockLow || v.StockText() != "Only 2 left" {
					t.Errorf("%s says %q, want Only 2 left", p.Slug, v.StockText())
				}
			case demo.BackorderProduct:
				if state != models.StockBackorder || !v.Buyable() || v.StockText() != "Available to order" {
					t.Errorf("%s is %s, want available to order", p.Slug, state)
				}
			default:
				if state != models.StockIn {
					t.Errorf("%s (%s) is %s, want in stock: only the three demo cases are not", p.Slug, v.Name, state)
				}
			}
		}
	}
	if featured < 4 {
		t.Errorf("%d featured demo products, want several", featured)
	}

	// The sold-out product cannot be put into a cart; the low one can.
	rhubarb, _ := st.Product(ctx, demo.SoldOutProduct, false)
	if _, err := st.VariantForCart(ctx, rhubarb.Variants[0].ID); models.Code(err) != models.EInvalid ||
		models.Message(err) != "Forced rhubarb is sold out." {
		t.Errorf("adding the sold-out demo product: %v", err)
	}
	comb, _ := st.Product(ctx, demo.LowStockProduct, false)
	if l, err := st.VariantForCart(ctx, comb.Variants[0].ID); err != nil || l.Price != (models.Money{Minor: 950, Currency: "GBP"}) {
		t.Errorf("adding the low-stock demo product: %+v, %v", l, err)
	}
}

// What an admin changes in a demo product, market or picture is kept when
// the demo is seeded again.
func TestSeedKeepsAnAdminsCatalogueChanges(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 1)
	st := products.New(db)
	p, err := st.Product(ctx, "heather-honey", false)
	if err != nil {
		t.Fatal(err)
	}
	in := products.ProductInput{Market: p.MarketSlug, Category: p.CategorySlug, Slug: p.Slug, Name: "Moorland heather honey",
		Currency: "GBP", Publish: true, Images: []models.ProductImage{{URL: "/media/ab/chosen.png", Alt: "Chosen"}}}
	for _, v := range p.Variants {
		in.Variants = append(in.Variants, products.VariantInput{ID: v.ID, Name: v.Name, SKU: v.SKU, Price: v.Price + 100,
			TrackStock: true, Stock: 1})
	}
	if _, err := st.UpdateProduct(ctx, p.ID, p.Version, in); err != nil {
		t.Fatal(err)
	}
	store, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mustSeedInto(t, db, store, 1)
	after, err := st.Product(ctx, "heather-honey", false)
	if err != nil {
		t.Fatal(err)
	}
	if after.Name != "Moorland heather honey" || after.MinPrice != 675 || after.Variants[0].Stock != 1 ||
		len(after.Images) != 1 || after.Image() != "/media/ab/chosen.png" {
		t.Errorf("seeding again changed an admin's product: %+v", after)
	}
}

// The market's search finds every demo product by the first four letters
// of the longest word of its name (as a shopper typing finds it), and
// "hon" finds the honey.
func TestDemoProductsAreFoundByTheStartOfTheirNames(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 1)
	st := products.New(db)
	for _, p := range demo.Products {
		words := strings.FieldsFunc(p.Name, func(r rune) bool { return !unicode.IsLetter(r) })
		sort.SliceStable(words, func(i, j int) bool { return len(words[i]) > len(words[j]) })
		q := strings.ToLower(words[0][:min(4, len(words[0]))])
		page, err := st.Search(ctx, q, 1, products.DefaultPerPage)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range page.Products {
			found = found || r.Slug == p.Slug
		}
		if !found {
			t.Errorf("searching %q does not find %s on the first page (%d results)", q, p.Name, page.Total)
		}
	}
	page, err := st.Search(ctx, "hon", 1, 10)
	if err != nil || page.Total < 5 || !strings.Contains(strings.ToLower(page.Products[0].Name), "honey") {
		t.Errorf("searching hon: %+v, %v", page, err)
	}
}

// The demo blog embeds a demo product's card.
func TestTheDemoBlogEmbedsAProductCard(t *testing.T) {
	widget := "<p>[[widget:product-card:" + demo.CardProduct + "]]</p>"
	embeds := 0
	for _, p := range demo.Posts {
		if strings.Contains(p.HTML, widget) && !p.Draft {
			embeds++
		}
	}
	if embeds != 1 {
		t.Errorf("%d published demo posts embed %s, want 1", embeds, widget)
	}
	found := false
	for _, p := range demo.Products {
		found = found || p.Slug == demo.CardProduct
	}
	if !found {
		t.Errorf("the embedded product %s is not a demo product", demo.CardProduct)
	}
}
