package internal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// Every catalogue admin route turns away visitors (to sign in) and members
// (403), and changes nothing.
func TestCatalogueAdminIsForAdminsOnly(t *testing.T) {
	env := newAdminEnv(t)
	m := env.seedMarket(t, "Hill Farm")
	id := uuid.NewString()
	routes := []struct{ method, path string }{
		{"GET", "/admin"}, {"GET", "/admin/products"}, {"POST", "/admin/products/bulk"}, {"GET", "/admin/products/new"},
		{"POST", "/admin/products"}, {"GET", "/admin/products/" + id}, {"POST", "/admin/products/" + id},
		{"POST", "/admin/products/" + id + "/delete"}, {"GET", "/admin/markets"}, {"GET", "/admin/markets/new"},
		{"POST", "/admin/markets"}, {"GET", "/admin/markets/" + m.ID.String()}, {"POST", "/admin/markets/" + m.ID.String()},
		{"POST", "/admin/markets/" + m.ID.String() + "/delete"}, {"GET", "/admin/categories"}, {"POST", "/admin/categories"},
		{"POST", "/admin/categories/" + id}, {"POST", "/admin/categories/" + id + "/delete"}, {"POST", "/admin/media"},
	}
	anon, member := env.browser(t, ""), env.browser(t, "member-token")
	form := url.Values{"confirm": {"yes"}, "name": {"Sneaky"}}
	for _, rt := range routes {
		var a, b answer
		if rt.method == "GET" {
			a, b = anon.get(rt.path), member.get(rt.path)
		} else {
			a, b = anon.post(rt.path, form), member.post(rt.path, form)
		}
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location, "/auth/login") {
			t.Errorf("visitor %s %s = %d to %q, want 303 to sign in", rt.method, rt.path, a.Status, a.Location)
		}
		if b.Status != http.StatusForbidden {
			t.Errorf("member %s %s = %d, want 403", rt.method, rt.path, b.Status)
		}
	}
	if ms, _ := env.store.Markets(context.Background()); len(ms) != 1 || ms[0].Name != "Hill Farm" {
		t.Errorf("markets after the attempts: %+v", ms)
	}
}

// The admin creates a product with two variants typed in pounds; the store
// has them in pence, the edit page shows them back, and the anonymous page
// cache is purged.
func TestAdminCreatesAProduct(t *testing.T) {
	env := newAdminEnv(t)
	m := env.seedMarket(t, "Hill Farm")
	admin, anon := env.browser(t, "admin-token"), env.browser(t, "")
	if a := anon.get("/test/cached"); !strings.Contains(a.Body, "v1") {
		t.Fatalf("cached page: %s", a.Body)
	}
	env.cachedV.Store("v2")

	if a := admin.get("/admin/products/new"); a.Status != http.StatusOK || !strings.Contains(a.Body, `value="GBP"`) ||
		!strings.Contains(a.Body, "Hill Farm") {
		t.Fatalf("new product form: %d\n%s", a.Status, a.Body)
	}
	form := productFormValues(m.Slug, "Heather honey", [2]string{"340 g jar", "7.25"}, [2]string{"1 kg jar", "12"})
	form.Set("vat", "5.5")
	form.Set("publish", "1")
	a := admin.post("/admin/products", form)
	if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location, "/admin/products/") {
		t.Fatalf("create: %d to %q\n%s", a.Status, a.Location, a.Body)
	}
	p, err := env.store.Product(context.Background(), "heather-honey", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Variants) != 2 || p.Variants[0].Price != 725 || p.Variants[1].Price != 1200 || p.VATRateBP != 550 ||
		p.Status != models.ProductPublished || p.Currency != "GBP" || p.MarketSlug != m.Slug {
		t.Fatalf("stored product: %+v", p)
	}
	edit := admin.get(a.Location)
	for _, want := range []string{"Saved.", `value="7.25"`, `value="12.00"`, `value="5.5"`, `value="340 g jar"`, "Heather honey"} {
		if !strings.Contains(edit.Body, want) {
			t.Errorf("edit page lacks %s", want)
		}
	}
	if a := anon.get("/test/cached"); !strings.Contains(a.Body, "v2") {
		t.Error("the anonymous page cache still serves the page from before the product was created")
	}
	list := admin.get("/admin/products")
	for _, want := range []string{"Heather honey", "Hill Farm", "£7.25", "20 in stock", "Published"} {
		if !strings.Contains(list.Body, want) {
			t.Errorf("product list lacks %q", want)
		}
	}
}

// Mistakes in the product form come back with the message and everything
// typed, as 422 (409 for a taken address), never 500; nothing is saved.
func TestAdminProductFormMistakes(t *testing.T) {
	env := newAdminEnv(t)
	ctx := context.Background()
	m := env.seedMarket(t, "Hill Farm")
	admin := env.browser(t, "admin-token")
	if a := admin.post("/admin/products", productFormValues(m.Slug, "Taken", [2]string{"", "3"})); a.Status != http.StatusSeeOther {
		t.Fatalf("first product: %d\n%s", a.Status, a.Body)
	}
	for _, c := range []struct {
		name   string
		change func(url.Values)
		status int
		msg    string
	}{
		{"negative price", func(f url.Values) { f.Set("v1.price", "-1") }, 422, "The price of variant row 2 (Big jar) cannot be negative"},
		{"three decimals", func(f url.Values) { f.Set("v0.price", "7.255") }, 422, "at most 2 decimal places"},
		{"letters", func(f url.Values) { f.Set("v0.price", "seven") }, 422, "must be a number such as 7.25"},
		{"bad currency", func(f url.Values) { f.Set("currency", "POUNDS") }, 422, "three-letter code such as GBP"},
		{"no currency", func(f url.Values) { f.Set("currency", "") }, 422, "needs a currency"},
		{"VAT 150", func(f url.Values) { f.Set("vat", "150") }, 422, "from 0% to 100%"},
		{"negative stock", func(f url.Values) { f.Set("v0.stock", "-3") }, 422, "stock of variant row 1 (Small jar) cannot be negative"},
		{"no variant", func(f url.Values) {
			for _, k := range []string{"v0.name", "v0.price", "v0.stock", "v1.name", "v1.price", "v1.stock"} {
				f.Del(k)
			}
		}, 422, "at least one variant"},
		{"taken slug", func(f url.Values) { f.Set("slug", "taken") }, 409, "Another product has the address taken"},
		{"no market", func(f url.Values) { f.Set("market", "nowhere") }, 422, "There is no market"},
		{"damaged", func(f url.Values) { f.Set("variants", "lots") }, 422, "The form is damaged"},
		{"outside image", func(f url.Values) { f.Set("img0.url", "https://example.org/x.jpg") }, 422, "Image row 1: upload the image"},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := productFormValues(m.Slug, "Typed name", [2]string{"Small jar", "4.50"}, [2]string{"Big jar", "9"})
			form.Set("summary", "Typed summary")
			c.change(form)
			a := admin.post("/admin/products", form)
			if a.Status != c.status || !strings.Contains(a.Body, c.msg) || !strings.Contains(a.Body, "form-error") {
				t.Fatalf("status %d, want %d with %q\n%s", a.Status, c.status, c.msg, a.Body)
			}
			for _, typed := range []string{`value="Typed name"`, "Typed summary"} {
				if !strings.Contains(a.Body, typed) {
					t.Errorf("the form lost %s", typed)
				}
			}
			if c.name != "no variant" && c.name != "damaged" && !strings.Contains(a.Body, `value="Big jar"`) {
				t.Error("the form lost the variant rows")
			}
		})
	}
	page, err := env.store.AdminProducts(ctx, products.AdminQuery{})
	if err != nil || page.Total != 1 {
		t.Errorf("products after the mistakes: %d, %v", page.Total, err)
	}
}

// Saving a form opened before someone else's save is refused with 409,
// keeping what was typed; saving again from there replaces it.
func TestAdminStaleProductSave(t *testing.T) {
	env := newAdminEnv(t)
	ctx := context.Background()
	m := env.seedMarket(t, "Hill Farm")
	admin := env.browser(t, "admin-token")
	a := admin.post("/admin/products", productFormValues(m.Slug, "Heather honey", [2]string{"", "7.25"}))
	editURL := strings.SplitN(a.Location, "?", 2)[0]
	p, err := env.store.Product(ctx, "heather-honey", true)
	if err != nil {
		t.Fatal(err)
	}
	form := productFormValues(m.Slug, "Heather honey", [2]string{"", "7.50"})
	form.Set("version", strconv.Itoa(p.Version))
	form.Set("v0.id", p.Variants[0].ID.String())
	if a := admin.post(editURL, form); a.Status != http.StatusSeeOther {
		t.Fatalf("first save: %d\n%s", a.Status, a.Body)
	}
	form.Set("name", "Overwritten honey")
	a = admin.post(editURL, form) // the same, older version
	if a.Status != http.StatusConflict || !strings.Contains(a.Body, "Someone else saved this product") ||
		!strings.Contains(a.Body, `value="Overwritten honey"`) || !strings.Contains(a.Body, `value="7.50"`) {
		t.Fatalf("stale save: %d\n%s", a.Status, a.Body)
	}
	if cur, _ := env.store.ProductByID(ctx, p.ID, true); cur.Name != "Heather honey" {
		t.Fatalf("a stale save changed the product: %q", cur.Name)
	}
	cur, _ := env.store.ProductByID(ctx, p.ID, true)
	if !strings.Contains(a.Body, `name="version" value="`+strconv.Itoa(cur.Version)+`"`) {
		t.Fatal("the refused form does not carry the current version to save again")
	}
	form.Set("version", strconv.Itoa(cur.Version))
	if a := admin.post(editURL, form); a.Status != http.StatusSeeOther {
		t.Fatalf("saving again: %d", a.Status)
	}
	if cur, _ := env.store.ProductByID(ctx, p.ID, true); cur.Name != "Overwritten honey" || cur.Variants[0].Price != 750 ||
		cur.Variants[0].ID != p.Variants[0].ID {
		t.Fatalf("after saving again: %+v", cur)
	}
}

// Removing a variant, adding one in a blank row and deleting the product
// (after a confirmation).
func TestAdminEditsVariantsAndDeletes(t *testing.T) {
	env := newAdminEnv(t)
	ctx := context.Background()
	m := env.seedMarket(t, "Hill Farm")
	admin := env.browser(t, "admin-token")
	admin.post("/admin/products", productFormValues(m.Slug, "Heather honey", [2]string{"Small", "4"}, [2]string{"Large", "9"}))
	p, _ := env.store.Product(ctx, "heather-honey", true)
	form := productFormValues(m.Slug, "Heather honey", [2]string{"Small", "4"}, [2]string{"Large", "9"}, [2]string{"Comb", "15.5"})
	form.Set("version", strconv.Itoa(p.Version))
	form.Set("v0.id", p.Variants[0].ID.String())
	form.Set("v1.id", p.Variants[1].ID.String())
	form.Set("v1.remove", "1")
	form.Set("images", "3")
	form.Set("img0.url", "/media/ab/jar-one.png")
	form.Set("img0.alt", "A jar")
	form.Set("img0.position", "2")
	form.Set("img1.url", "/media/cd/jar-two.png")
	form.Set("img1.position", "1")
	if a := admin.post("/admin/products/"+p.ID.String(), form); a.Status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", a.Status, a.Body)
	}
	p, _ = env.store.Product(ctx, "heather-honey", true)
	if len(p.Variants) != 2 || p.Variants[0].Name != "Small" || p.Variants[1].Name != "Comb" || p.Variants[1].Price != 1550 {
		t.Fatalf("variants: %+v", p.Variants)
	}
	if len(p.Images) != 2 || p.Images[0].URL != "/media/cd/jar-two.png" || p.Images[1].Alt != "A jar" {
		t.Fatalf("images: %+v", p.Images)
	}
	confirm := admin.post("/admin/products/"+p.ID.String()+"/delete", nil)
	if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, "cannot be undone") {
		t.Fatalf("no confirmation: %d", confirm.Status)
	}
	if _, err := env.store.ProductByID(ctx, p.ID, true); err != nil {
		t.Fatal("deleted before the confirmation")
	}
	a := admin.post("/admin/products/"+p.ID.String()+"/delete", url.Values{"confirm": {"yes"}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", a.Status)
	}
	if _, err := env.store.ProductByID(ctx, p.ID, true); models.Code(err) != models.ENotFound {
		t.Fatalf("after delete: %v", err)
	}
	if a := admin.get(a.Location); !strings.Contains(a.Body, "Deleted “Heather honey”.") {
		t.Error("no notice after deleting")
	}
}

// Ticking products and publishing, unpublishing or moving them; the list
// filters by status, category and name.
func TestAdminBulkActions(t *testing.T) {
	env := newAdminEnv(t)
	ctx := context.Background()
	m := env.seedMarket(t, "Hill Farm")
	cat, err := env.store.SaveCategory(ctx, uuid.Nil, products.CategoryInput{Name: "Honey"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, name := range []string{"Heather honey", "Clover honey", "Beeswax candle"} {
		p, err := env.store.CreateProduct(ctx, products.ProductInput{Market: m.Slug, Name: name, Currency: "GBP",
			Variants: []products.VariantInput{{Price: 500}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID.String())
	}
	admin := env.browser(t, "admin-token")
	a := admin.post("/admin/products/bulk", url.Values{"action": {"publish"}, "id": ids[:2]})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("publish: %d\n%s", a.Status, a.Body)
	}
	if l := admin.get(a.Location); !strings.Contains(l.Body, "2 products published.") {
		t.Error("no notice after publishing")
	}
	pub := admin.get("/admin/products?status=published")
	if !strings.Contains(pub.Body, "Heather honey") || !strings.Contains(pub.Body, "Clover honey") || strings.Contains(pub.Body, "Beeswax candle") {
		t.Errorf("published filter:\n%s", pub.Body)
	}
	if a := admin.post("/admin/products/bulk", url.Values{"action": {"unpublish"}, "id": ids[1:2]}); a.Status != http.StatusSeeOther {
		t.Fatalf("unpublish: %d", a.Status)
	}
	if p, _ := env.store.Product(ctx, "clover-honey", true); p.Status != models.ProductDraft {
		t.Errorf("clover honey is %s after unpublishing", p.Status)
	}
	if a := admin.post("/admin/products/bulk", url.Values{"action": {"move"}, "to_category": {cat.Slug}, "id": ids[:2]}); a.Status != http.StatusSeeOther {
		t.Fatalf("move: %d", a.Status)
	}
	inCat := admin.get("/admin/products?category=" + cat.Slug)
	if !strings.Contains(inCat.Body, "Clover honey") || strings.Contains(inCat.Body, "Beeswax candle") {
		t.Errorf("category filter:\n%s", inCat.Body)
	}
	if s := admin.get("/admin/products?q=wax"); !strings.Contains(s.Body, "Beeswax candle") || strings.Contains(s.Body, "Clover honey") {
		t.Errorf("search by name:\n%s", s.Body)
	}
	for _, c := range []struct {
		form url.Values
		msg  string
	}{
		{url.Values{"action": {"publish"}}, "Tick the products"},
		{url.Values{"action": {"explode"}, "id": ids[:1]}, "Choose what to do"},
		{url.Values{"action": {"move"}, "to_category": {"nowhere"}, "id": ids[:1]}, "There is no category"},
		{url.Values{"action": {"publish"}, "id": {"not-an-id"}}, "damaged"},
	} {
		if a := admin.post("/admin/products/bulk", c.form); a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, c.msg) {
			t.Errorf("bulk %v: %d, want 422 with %q", c.form, a.Status, c.msg)
		}
	}
}

// The list shows 50 products a page, with links to the others that keep
// the filters.
func TestAdminProductListPages(t *testing.T) {
	env := newAdminEnv(t)
	ctx := context.Background()
	m := env.seedMarket(t, "Hill Farm")
	for i := range adminPerPage + 5 {
		if _, err := env.store.CreateProduct(ctx, products.ProductInput{Market: m.Slug, Name: "Jar " + strconv.Itoa(i),
			Currency: "GBP", Variants: []products.VariantInput{{Price: 100}}}); err != nil {
			t.Fatal(err)
		}
	}
	admin := env.browser(t, "admin-token")
	first := admin.get("/admin/products?market=" + m.Slug)
	if first.Status != http.StatusOK || !strings.Contains(first.Body, "55 products") || !strings.Contains(first.Body, "Page 1 of 2") ||
		!strings.Contains(first.Body, `href="/admin/products?market=hill-farm&amp;page=2"`) {
		t.Fatalf("first page: %d\n%s", first.Status, first.Body)
	}
	second := admin.get("/admin/products?market=hill-farm&page=2")
	if rows := strings.Count(second.Body, `name="id"`); rows != 5 || !strings.Contains(second.Body, "Page 2 of 2") {
		t.Errorf("second page: %d rows", rows)
	}
	if a := admin.get("/admin/products?page=zero"); a.Status != http.StatusUnprocessableEntity {
		t.Errorf("page=zero: %d", a.Status)
	}
}
