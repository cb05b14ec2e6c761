package internal

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/services/products"
)

// A market is created, edited with its typed values kept on a mistake, and
// cannot be deleted while it has products.
func TestAdminMarkets(t *testing.T) {
	env := newAdminEnv(t)
	ctx := context.Background()
	admin := env.browser(t, "admin-token")
	a := admin.post("/admin/markets", url.Values{"name": {"Hill Farm"}, "location": {"Exmoor"}, "summary": {"Honey and wax."}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", a.Status, a.Body)
	}
	m, err := env.store.Market(ctx, "hill-farm")
	if err != nil || m.Location != "Exmoor" {
		t.Fatalf("market: %+v, %v", m, err)
	}
	if a := admin.post("/admin/markets", url.Values{"name": {"Hill Farm"}, "location": {"Typed place"}}); a.Status != http.StatusConflict ||
		!strings.Contains(a.Body, "Another market has the address hill-farm") || !strings.Contains(a.Body, `value="Typed place"`) {
		t.Fatalf("duplicate: %d\n%s", a.Status, a.Body)
	}
	if a := admin.post("/admin/markets/"+m.ID.String(), url.Values{"name": {""}, "location": {"Typed place"},
		"version": {strconv.Itoa(m.Version)}}); a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "needs a name") ||
		!strings.Contains(a.Body, `value="Typed place"`) {
		t.Fatalf("no name: %d\n%s", a.Status, a.Body)
	}
	if a := admin.post("/admin/markets/"+m.ID.String(), url.Values{"name": {"Hill Farm Bees"}, "slug": {"hill-farm"},
		"version": {strconv.Itoa(m.Version)}}); a.Status != http.StatusSeeOther {
		t.Fatalf("rename: %d\n%s", a.Status, a.Body)
	}
	if a := admin.post("/admin/markets/"+m.ID.String(), url.Values{"name": {"Stale name"}, "slug": {"hill-farm"},
		"version": {strconv.Itoa(m.Version)}}); a.Status != http.StatusConflict || !strings.Contains(a.Body, `value="Stale name"`) {
		t.Fatalf("stale: %d\n%s", a.Status, a.Body)
	}
	if a := admin.post("/admin/markets", url.Values{"name": {"Linked Farm"}, "image": {"https://example.org/x.jpg"}}); a.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(a.Body, "must be uploaded") || !strings.Contains(a.Body, `value="Linked Farm"`) {
		t.Fatalf("linked image: %d\n%s", a.Status, a.Body)
	}
	if list := admin.get("/admin/markets"); !strings.Contains(list.Body, "Hill Farm Bees") {
		t.Error("the list does not show the renamed market")
	}

	if _, err := env.store.CreateProduct(ctx, products.ProductInput{Market: "hill-farm", Name: "Honey", Currency: "GBP",
		Variants: []products.VariantInput{{Price: 500}}}); err != nil {
		t.Fatal(err)
	}
	del := "/admin/markets/" + m.ID.String() + "/delete"
	if a := admin.post(del, nil); a.Status != http.StatusOK || !strings.Contains(a.Body, `name="confirm"`) {
		t.Fatalf("no confirmation: %d", a.Status)
	}
	a = admin.post(del, url.Values{"confirm": {"yes"}})
	if a.Status != http.StatusConflict || !strings.Contains(a.Body, "still has products") {
		t.Fatalf("delete with products: %d\n%s", a.Status, a.Body)
	}
	if _, err := env.store.Market(ctx, "hill-farm"); err != nil {
		t.Fatal("the market was deleted with its products")
	}
	empty := env.seedMarket(t, "Empty Stall")
	if a := admin.post("/admin/markets/"+empty.ID.String()+"/delete", url.Values{"confirm": {"yes"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("delete empty market: %d", a.Status)
	}
	if _, err := env.store.Market(ctx, "empty-stall"); err == nil {
		t.Error("the empty market is still there")
	}
}

// A market's delivery fee and pickup places are set on its form (the
// checkout offers them); a fee that is not an amount is refused with the
// typed values kept.
func TestAdminMarketHandover(t *testing.T) {
	env := newAdminEnv(t)
	admin := env.browser(t, "admin-token")
	a := admin.post("/admin/markets", url.Values{"name": {"Hill Farm"}, "delivery_fee": {"3.95"},
		"pickup_places": {"Farm gate\r\n\r\nSaturday market\r\nFarm gate"}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", a.Status, a.Body)
	}
	m, err := env.store.Market(context.Background(), "hill-farm")
	if err != nil || m.DeliveryFee != 395 || strings.Join(m.PickupPlaces, "|") != "Farm gate|Saturday market" {
		t.Fatalf("handover: fee %d, places %q, %v", m.DeliveryFee, m.PickupPlaces, err)
	}
	if form := admin.get("/admin/markets/" + m.ID.String()); !strings.Contains(form.Body, `value="3.95"`) || !strings.Contains(form.Body, "Saturday market") {
		t.Errorf("the form does not show the fee and the places:\n%s", form.Body)
	}
	for _, fee := range []string{"-1", "three", "3.955", "5000"} {
		a := admin.post("/admin/markets/"+m.ID.String(), url.Values{"name": {"Hill Farm"}, "slug": {"hill-farm"}, "delivery_fee": {fee},
			"pickup_places": {"Typed place"}, "version": {strconv.Itoa(m.Version)}})
		if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "Typed place") {
			t.Errorf("fee %q: %d\n%s", fee, a.Status, a.Body)
		}
	}
}

// Categories are added, moved under another, kept as typed on a mistake,
// and deleted (not while they have subcategories).
func TestAdminCategories(t *testing.T) {
	env := newAdminEnv(t)
	ctx := context.Background()
	admin := env.browser(t, "admin-token")
	for _, name := range []string{"Pantry", "Honey"} {
		if a := admin.post("/admin/categories", url.Values{"name": {name}, "position": {"1"}}); a.Status != http.StatusSeeOther {
			t.Fatalf("add %s: %d\n%s", name, a.Status, a.Body)
		}
	}
	if a := admin.post("/admin/categories", url.Values{"name": {"Honey"}, "position": {"7"}}); a.Status != http.StatusConflict ||
		!strings.Contains(a.Body, "Another category has the address honey") || !strings.Contains(a.Body, `value="7"`) {
		t.Fatalf("duplicate: %d\n%s", a.Status, a.Body)
	}
	if a := admin.post("/admin/categories", url.Values{"name": {"Jams"}, "position": {"first"}}); a.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(a.Body, "whole number") || !strings.Contains(a.Body, `value="Jams"`) {
		t.Fatalf("bad position: %d\n%s", a.Status, a.Body)
	}
	honey, _ := env.store.Category(ctx, "honey")
	pantry, _ := env.store.Category(ctx, "pantry")
	if a := admin.post("/admin/categories/"+honey.ID.String(), url.Values{"name": {"Local honey"}, "slug": {"honey"},
		"parent": {"pantry"}, "position": {"2"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("move: %d\n%s", a.Status, a.Body)
	}
	if c, _ := env.store.Category(ctx, "honey"); c.Name != "Local honey" || c.ParentID.UUID != pantry.ID {
		t.Fatalf("after the move: %+v", c)
	}
	if a := admin.post("/admin/categories/"+pantry.ID.String(), url.Values{"name": {"Pantry typed"}, "slug": {"pantry"},
		"parent": {"honey"}}); a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "cannot be placed under itself") ||
		!strings.Contains(a.Body, `value="Pantry typed"`) {
		t.Fatalf("cycle: %d\n%s", a.Status, a.Body)
	}
	page := admin.get("/admin/categories")
	if !strings.Contains(page.Body, "— Local honey") || !strings.Contains(page.Body, "Local honey") {
		t.Errorf("the tree does not show honey under pantry:\n%s", page.Body)
	}
	if a := admin.post("/admin/categories/"+pantry.ID.String()+"/delete", url.Values{"confirm": {"yes"}}); a.Status != http.StatusConflict ||
		!strings.Contains(a.Body, "has subcategories") {
		t.Fatalf("delete with a subcategory: %d\n%s", a.Status, a.Body)
	}
	if a := admin.post("/admin/categories/"+honey.ID.String()+"/delete", url.Values{"confirm": {"yes"}}); a.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", a.Status)
	}
	if a := admin.post("/admin/categories/"+uuid.NewString()+"/delete", nil); a.Status != http.StatusNotFound {
		t.Errorf("delete of no category: %d", a.Status)
	}
}

func adminTestPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{0, 128, 255, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// multipartPost posts fields and files (field name -> contents) as a
// multipart form.
func (b *adminBrowser) multipartPost(path string, fields url.Values, files map[string][]byte, accept string) answer {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	for k, data := range files {
		fw, _ := mw.CreateFormFile(k, k+".png")
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.env.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return b.do(req)
}

// Images are uploaded from the editor (JSON) and with the product form;
// what is not an image is refused with the form kept.
func TestAdminUploadsImages(t *testing.T) {
	env := newAdminEnv(t)
	ctx := context.Background()
	m := env.seedMarket(t, "Hill Farm")
	admin := env.browser(t, "admin-token")
	pic := adminTestPNG(t)

	a := admin.multipartPost("/admin/media", nil, map[string][]byte{"file": pic}, "application/json")
	var got struct{ URL string }
	if a.Status != http.StatusCreated || json.Unmarshal([]byte(a.Body), &got) != nil || !strings.HasPrefix(got.URL, "/media/") {
		t.Fatalf("upload: %d %s", a.Status, a.Body)
	}
	if s := admin.get(got.URL); s.Status != http.StatusOK || s.Body != string(pic) {
		t.Errorf("GET %s = %d", got.URL, s.Status)
	}
	if a := admin.multipartPost("/admin/media", nil, map[string][]byte{"file": []byte("just words")}, "application/json"); a.Status != http.StatusUnprocessableEntity {
		t.Errorf("text upload: %d", a.Status)
	}

	form := productFormValues(m.Slug, "Pictured honey", [2]string{"", "5"})
	form.Set("upload_alt", "A jar of honey")
	if a := admin.multipartPost("/admin/products", form, map[string][]byte{"upload": pic}, ""); a.Status != http.StatusSeeOther {
		t.Fatalf("create with an image: %d\n%s", a.Status, a.Body)
	}
	p, err := env.store.Product(ctx, "pictured-honey", true)
	if err != nil || len(p.Images) != 1 || p.Images[0].URL != got.URL || p.Images[0].Alt != "A jar of honey" {
		t.Fatalf("product images: %+v, %v", p.Images, err)
	}
	form.Set("name", "Worded honey")
	a = admin.multipartPost("/admin/products", form, map[string][]byte{"upload": []byte("not a picture")}, "")
	if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "Only JPEG, PNG, GIF and WebP") ||
		!strings.Contains(a.Body, `value="Worded honey"`) {
		t.Fatalf("text as an image: %d\n%s", a.Status, a.Body)
	}

	mk := admin.multipartPost("/admin/markets", url.Values{"name": {"Pictured Farm"}}, map[string][]byte{"upload": pic}, "")
	if mk.Status != http.StatusSeeOther {
		t.Fatalf("market with an image: %d\n%s", mk.Status, mk.Body)
	}
	if pm, _ := env.store.Market(ctx, "pictured-farm"); pm.Image != got.URL {
		t.Errorf("market image %q, want %q", pm.Image, got.URL)
	}
}
