package internal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// testUserHeader names the user a test browser is signed in as: the
// test server's stand-in for the sign-in middleware.
const testUserHeader = "X-Test-User"

// server serves the basket's routes as NewServer does, with the session
// loaded and saved around them and the user a test browser names signed
// in.
func (s *shop) server(t *testing.T) *httptest.Server {
	t.Helper()
	r := chi.NewRouter()
	r.Use(s.basket.notices.sm.LoadAndSave)
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil {
				r = r.WithContext(web.WithViewer(r.Context(), models.User{ID: id}))
			}
			next.ServeHTTP(w, r)
		})
	})
	r.Use(mergeGuestBasket(s.basket))
	r.Get("/", showHome(s.basket))
	r.Post("/items", addItem(s.basket))
	r.Post("/items/{ref}/quantity", changeQuantity(s.basket))
	r.Post("/items/{ref}/remove", removeLine(s.basket))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// browser is a shopper's browser on the cart: it keeps its cookies and
// does not follow redirects; it is signed in as user when that is set.
type browser struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
	user   *models.User
}

func (s *shop) browser(t *testing.T, srv *httptest.Server, user *models.User) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, srv: srv, user: user, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is what a browser got: its status, Location, body and cookies
// set.
type response struct {
	status   int
	location string
	body     string
	cookies  []*http.Cookie
}

func (b *browser) do(method, path string, form url.Values) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.user != nil {
		req.Header.Set(testUserHeader, b.user.ID.String())
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw), cookies: resp.Cookies()}
}

func (b *browser) get(path string) response { b.t.Helper(); return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	return b.do(http.MethodPost, path, form)
}

// addVariant adds qty of the variant and expects it added.
func (b *browser) addVariant(id uuid.UUID, qty string) response {
	b.t.Helper()
	r := b.post("/items", variantForm(id, qty))
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("adding %s of %s: %d\n%s", qty, id, r.status, r.body)
	}
	return r
}

// quantityOf returns how many of the variant the owner's basket holds.
func (s *shop) quantityOf(t *testing.T, owner models.CartOwner, id uuid.UUID) int {
	t.Helper()
	lines, err := s.carts.BasketLines(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if l.ProductRef == id.String() {
			return l.Quantity
		}
	}
	return 0
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
	if t.Failed() {
		t.Fatalf("%s:\n%s", what, body)
	}
}

// The basket lists each line with its picture, name, price, quantity
// form, total and the VAT it includes, then the subtotal, the delivery
// note and the Checkout button; an empty basket has no button.
func TestTheBasketShowsItsLinesWithVATAndCheckout(t *testing.T) {
	s := newShop(t)
	srv := s.server(t)
	market := s.site.URL("market", "")
	ann := s.browser(t, srv, &s.shopper)
	ann.addVariant(s.small, "2")
	ann.addVariant(s.jam, "1")

	page := ann.get("/")
	if page.status != http.StatusOK {
		t.Fatalf("basket = %d\n%s", page.status, page.body)
	}
	small := s.small.String()
	mustContain(t, "the basket", page.body,
		`src="`+market+`/media/heather.jpg" alt="A jar of heather honey"`,
		`<a href="`+market+`/products/heather-honey">Heather honey (227 g)</a>`,
		"£5.50", "£11.00", "incl. VAT £1.83 (20%)", // 1100 × 2000 / 12000 = 183.3
		"Damson jam", "£4.75",
		"3 items", "£15.75", "incl. VAT £1.83",
		`action="/items/`+small+`/quantity"`, `name="quantity"`, `value="2"`, `max="10"`,
		`action="/items/`+small+`/remove"`,
		"Delivery: chosen at checkout.",
		`<form method="post" action="/checkout" class="basket-checkout"><button>Checkout</button></form>`)
	if strings.Contains(page.body, "incl. VAT £0.00 (") {
		t.Errorf("a line without VAT shows a VAT part:\n%s", page.body)
	}

	empty := s.browser(t, srv, nil).get("/")
	mustContain(t, "a visitor's empty basket", empty.body, "Your basket is empty.")
	if strings.Contains(empty.body, `action="/checkout"`) {
		t.Fatalf("an empty basket offers checkout:\n%s", empty.body)
	}
}

// Products priced in different currencies are added up apart.
func TestMixedCurrenciesHaveASubtotalEach(t *testing.T) {
	s := newShop(t)
	cheese, err := products.New(s.db).CreateProduct(context.Background(), products.ProductInput{Market: "hive",
		Name: "Alpine cheese", Currency: "EUR", Publish: true, Variants: []products.VariantInput{{Price: 1200}}})
	if err != nil {
		t.Fatal(err)
	}
	ann := s.browser(t, s.server(t), &s.shopper)
	ann.addVariant(s.small, "1")
	ann.addVariant(cheese.Variants[0].ID, "2")
	page := ann.get("/")
	mustContain(t, "the basket", page.body, "€24.00", "£5.50", "2 items", "1 item")
	if n := strings.Count(page.body, `class="basket-subtotal"`); n != 2 {
		t.Fatalf("%d subtotals, want one per currency:\n%s", n, page.body)
	}
}

// A line's quantity changes through its form; 0 and Remove take it out
// (a second Remove is no error).
func TestChangingAQuantityAndRemovingALine(t *testing.T) {
	s := newShop(t)
	ann := s.browser(t, s.server(t), &s.shopper)
	owner := models.UserCart(s.shopper.ID)
	ann.addVariant(s.small, "2")
	ann.addVariant(s.large, "1")

	r := ann.post("/items/"+s.small.String()+"/quantity", url.Values{"quantity": {"5"}})
	if r.status != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("changing the quantity: %d to %q\n%s", r.status, r.location, r.body)
	}
	if q := s.quantityOf(t, owner, s.small); q != 5 {
		t.Fatalf("after changing it to 5 the basket has %d", q)
	}
	mustContain(t, "the basket", ann.get("/").body, `value="5"`, "£27.50")

	if r := ann.post("/items/"+s.small.String()+"/quantity", url.Values{"quantity": {"0"}}); r.status != http.StatusSeeOther {
		t.Fatalf("quantity 0: %d\n%s", r.status, r.body)
	}
	if q := s.quantityOf(t, owner, s.small); q != 0 {
		t.Fatalf("quantity 0 left %d in the basket", q)
	}
	for range 2 {
		if r := ann.post("/items/"+s.large.String()+"/remove", nil); r.status != http.StatusSeeOther || r.location != "/" {
			t.Fatalf("remove: %d to %q\n%s", r.status, r.location, r.body)
		}
	}
	page := ann.get("/")
	mustContain(t, "the emptied basket", page.body, "Your basket is empty.")
	if strings.Contains(page.body, `action="/checkout"`) {
		t.Fatal("the emptied basket offers checkout")
	}
}

// A quantity that is not a whole number from 0 to 99, or more than are
// left, is refused with the basket page saying why; nothing changes.
func TestABadBasketQuantityIsRefused(t *testing.T) {
	s := newShop(t)
	ann := s.browser(t, s.server(t), &s.shopper)
	owner := models.UserCart(s.shopper.ID)
	ann.addVariant(s.small, "2")
	path := "/items/" + s.small.String() + "/quantity"
	for _, q := range []string{"-1", "two", "", "100", "1.5"} {
		r := ann.post(path, url.Values{"quantity": {q}})
		if r.status != http.StatusBadRequest {
			t.Errorf("quantity %q: %d, want 400", q, r.status)
		}
		mustContain(t, "the refusal of "+q, r.body, "The quantity must be a whole number from 0 to 99", "Heather honey (227 g)")
	}
	r := ann.post(path, url.Values{"quantity": {"11"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("more than the stock: %d, want 400", r.status)
	}
	mustContain(t, "the refusal of 11", r.body, "Only 10 left of Heather honey (227 g): choose 10 or fewer.")
	if q := s.quantityOf(t, owner, s.small); q != 2 {
		t.Fatalf("refused quantities left %d in the basket, want 2", q)
	}

	r = ann.post("/items/"+s.large.String()+"/quantity", url.Values{"quantity": {"1"}})
	if r.status != http.StatusNotFound {
		t.Errorf("a line not in the basket: %d, want 404", r.status)
	}
	mustContain(t, "a change of a line not there", r.body, "That item is not in your basket.")
	if q := s.quantityOf(t, owner, s.large); q != 0 {
		t.Fatalf("changing a line not in the basket added %d", q)
	}
}

// Showing the basket checks it against the catalogue: a new price is
// taken and said, a line above the stock is cut to it, and one sold out
// or no longer published is taken out, each said once.
func TestTheBasketFollowsTheCatalogue(t *testing.T) {
	ctx := context.Background()
	s := newShop(t)
	ann := s.browser(t, s.server(t), &s.shopper)
	owner := models.UserCart(s.shopper.ID)
	ann.addVariant(s.small, "5")
	ann.addVariant(s.large, "2")
	ann.addVariant(s.jam, "1")
	for _, sql := range []string{
		`UPDATE product_variants SET stock = 3, price_minor = 600 WHERE id = '` + s.small.String() + `'`,
		`UPDATE product_variants SET stock = 0 WHERE id = '` + s.large.String() + `'`,
		`UPDATE products SET status = 'draft' WHERE id = (SELECT product_id FROM product_variants WHERE id = '` + s.jam.String() + `')`,
	} {
		if _, err := s.db.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	page := ann.get("/")
	if page.status != http.StatusOK {
		t.Fatalf("basket = %d\n%s", page.status, page.body)
	}
	mustContain(t, "the basket", page.body,
		"The price of Heather honey (227 g) changed from £5.50 to £6.00.",
		"Only 3 left of Heather honey (227 g), so your basket now has 3.",
		"Heather honey (340 g) is sold out, so it was taken out of your basket.",
		"Damson jam is no longer for sale, so it was taken out of your basket.",
		"£18.00")
	lines, err := s.carts.BasketLines(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	want := models.CartLine{ProductRef: s.small.String(), Title: "Heather honey (227 g)",
		UnitPrice: models.Money{Minor: 600, Currency: "GBP"}, Quantity: 3}
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("the cart holds %+v, want %+v", lines, want)
	}
	again := ann.get("/")
	if strings.Contains(again.body, "changed from") || strings.Contains(again.body, "taken out") {
		t.Fatalf("the changes are said again:\n%s", again.body)
	}
}

// A visitor adds to a basket kept by a cookie (its key stored only as a
// hash) and sees it; once they sign in it joins their own basket,
// quantities summed up to the stock, and the page says so once.
func TestAGuestsBasketJoinsTheirsAtSignIn(t *testing.T) {
	ctx := context.Background()
	s := newShop(t)
	srv := s.server(t)
	user := models.UserCart(s.shopper.ID)
	ann := s.browser(t, srv, &s.shopper)
	ann.addVariant(s.small, "1")
	ann.addVariant(s.large, "1")

	guest := s.browser(t, srv, nil)
	r := guest.addVariant(s.small, "2")
	if r.location != "/" {
		t.Fatalf("a guest's add goes to %q, want their basket", r.location)
	}
	var cookie *http.Cookie
	for _, c := range r.cookies {
		if c.Name == "roseash_basket" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.MaxAge != 30*24*3600 ||
		cookie.Path != "/" || len(cookie.Value) != 43 {
		t.Fatalf("the guest's basket cookie is %+v", cookie)
	}
	guest.addVariant(s.large, "2")
	page := guest.get("/")
	mustContain(t, "the guest's basket", page.body, "2 × Heather honey (227 g) added to your basket.",
		"2 × Heather honey (340 g) added to your basket.", "4 items", "£25.50", `action="/checkout"`)
	if strings.Contains(guest.get("/").body, "added to your basket") {
		t.Fatal("the add is said again on the next page")
	}
	var stored string
	if err := s.db.QueryRow(ctx, `SELECT session_key FROM carts WHERE session_key IS NOT NULL`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(cookie.Value))
	if stored != hex.EncodeToString(sum[:]) {
		t.Fatalf("the guest cart's key is %q, not the hash of the cookie", stored)
	}

	// The guest signs in: the same browser, now as Ann.
	guest.user = &s.shopper
	page = guest.get("/")
	mustContain(t, "the basket after signing in", page.body,
		"The basket you filled before signing in is now part of yours.",
		"Your basket has 3 of Heather honey (227 g): the 2 you chose before signing in were added to the 1 it had.",
		"Your basket has 2 of Heather honey (340 g): you had 1 and chose 2 before signing in, but only 2 can be ordered.")
	cleared := false
	for _, c := range page.cookies {
		cleared = cleared || (c.Name == "roseash_basket" && c.MaxAge < 0)
	}
	if !cleared {
		t.Fatalf("the guest cookie was not cleared: %+v", page.cookies)
	}
	if q, l := s.quantityOf(t, user, s.small), s.quantityOf(t, user, s.large); q != 3 || l != 2 {
		t.Fatalf("Ann's basket has %d small and %d large jars, want 3 and 2", q, l)
	}
	var guestCarts int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM carts WHERE session_key IS NOT NULL`).Scan(&guestCarts); err != nil || guestCarts != 0 {
		t.Fatalf("%d guest carts left (%v)", guestCarts, err)
	}
	again := guest.get("/")
	if strings.Contains(again.body, "now part of yours") {
		t.Fatal("the merge is said again on the next page")
	}
	if q := s.quantityOf(t, user, s.small); q != 3 {
		t.Fatalf("a second page view changed the basket to %d", q)
	}
}

// checkLines keeps lines in step with the catalogue: the cases the
// basket page meets, and the VAT each line includes (half up).
func TestCheckLines(t *testing.T) {
	gbp := func(minor int64) models.Money { return models.Money{Minor: minor, Currency: "GBP"} }
	id := func(n byte) uuid.UUID { return uuid.UUID{15: n} }
	variant := func(n byte, title string, price int64, vat int, v models.Variant) products.CartVariant {
		return products.CartVariant{CartLine: products.CartLine{VariantID: id(n), Title: title, Price: gbp(price), Variant: v},
			VATRateBP: vat}
	}
	line := func(n byte, title string, price int64, qty int) models.CartLine {
		return models.CartLine{ProductRef: id(n).String(), Title: title, UnitPrice: gbp(price), Quantity: qty}
	}
	variants := map[uuid.UUID]products.CartVariant{
		id(1): variant(1, "Honey", 600, 2000, models.Variant{TrackStock: true, Stock: 4}),
		id(2): variant(2, "Jam", 3, 2000, models.Variant{TrackStock: false}),
		id(3): variant(3, "Candle", 900, 2000, models.Variant{TrackStock: true, Stock: 0}),
		id(4): variant(4, "Bread", 100, 0, models.Variant{TrackStock: true, Stock: 0, AllowBackorder: true}),
	}
	b, updates := checkLines([]models.CartLine{
		line(1, "Honey", 550, 6),     // dearer now, and only 4 left
		line(2, "Jam", 3, 120),       // not tracked: held to the most a line may hold
		line(3, "Candle", 900, 1),    // sold out
		line(4, "Bread", 100, 2),     // backorders: kept as it is
		line(5, "Old thing", 100, 1), // gone from the catalogue
		{ProductRef: "a-slug", Title: "Older line", UnitPrice: gbp(1), Quantity: 1}, // not a variant id
	}, variants)
	wantChanges := []string{
		"The price of Honey changed from £5.50 to £6.00.",
		"Only 4 left of Honey, so your basket now has 4.",
		"A basket holds at most 99 of Jam, so yours now has 99.",
		"Candle is sold out, so it was taken out of your basket.",
		"Old thing is no longer for sale, so it was taken out of your basket.",
		"Older line is no longer for sale, so it was taken out of your basket.",
	}
	if strings.Join(b.Changes, "\n") != strings.Join(wantChanges, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(b.Changes, "\n"), strings.Join(wantChanges, "\n"))
	}
	wantUpdates := []models.CartLineUpdate{
		{ProductRef: id(1).String(), Title: "Honey", UnitPrice: gbp(600), MaxQuantity: 4},
		{ProductRef: id(2).String(), Title: "Jam", UnitPrice: gbp(3), MaxQuantity: 99},
		{ProductRef: id(3).String()},
		{ProductRef: id(5).String()},
		{ProductRef: "a-slug"},
	}
	if len(updates) != len(wantUpdates) {
		t.Fatalf("updates = %+v\nwant %+v", updates, wantUpdates)
	}
	for i := range updates {
		if updates[i] != wantUpdates[i] {
			t.Errorf("update %d = %+v, want %+v", i, updates[i], wantUpdates[i])
		}
	}
	// Honey: 2400 at 20% includes 400; jam: 297 includes 49.5, so 50;
	// bread: no VAT.
	var vats []int64
	for _, l := range b.Lines {
		vats = append(vats, l.VAT.Minor)
	}
	if len(b.Lines) != 3 || vats[0] != 400 || vats[1] != 50 || vats[2] != 0 || b.Lines[2].Quantity != 2 {
		t.Fatalf("lines = %+v", b.Lines)
	}
	want := []BasketTotal{{Subtotal: gbp(2400 + 297 + 200), VAT: gbp(450), ItemCount: 105}}
	if len(b.Totals) != 1 || b.Totals[0] != want[0] || b.ItemCount != 105 {
		t.Fatalf("totals = %+v (%d items), want %+v", b.Totals, b.ItemCount, want)
	}
}

// A signed-in shopper's basket page is kept a moment: reloading it reads
// nothing (a price changed in the catalogue meanwhile is not shown yet),
// but the shopper's own change shows at once, with the catalogue as it is
// now. Another session of theirs (a phone) never sees the basket kept for
// this one. A guest's basket is never kept.
func TestAReloadedBasketIsKeptUntilTheShopperChangesIt(t *testing.T) {
	ctx := context.Background()
	s := newShop(t)
	s.basket.kept = NewKeptBaskets(s.basket.notices.sm, time.Minute)
	srv := s.server(t)
	ann := s.browser(t, srv, &s.shopper)
	ann.addVariant(s.small, "2")
	mustContain(t, "the basket", ann.get("/").body, "£11.00")

	setPrice := func(minor int) {
		t.Helper()
		if _, err := s.db.Exec(ctx, `UPDATE product_variants SET price_minor = $2 WHERE id = $1`, s.small, minor); err != nil {
			t.Fatal(err)
		}
	}
	setPrice(600)
	if page := ann.get("/"); !strings.Contains(page.body, "£11.00") || strings.Contains(page.body, "changed from") {
		t.Fatalf("the reloaded basket was read again, not kept:\n%s", page.body)
	}
	if r := ann.post("/items/"+s.small.String()+"/quantity", url.Values{"quantity": {"3"}}); r.status != http.StatusSeeOther {
		t.Fatalf("changing the quantity: %d\n%s", r.status, r.body)
	}
	mustContain(t, "the basket after a change", ann.get("/").body,
		"The price of Heather honey (227 g) changed from £5.50 to £6.00.", "£18.00")

	// The same shopper on another device: their basket as it is now.
	phone := s.browser(t, srv, &s.shopper)
	phone.addVariant(s.jam, "1")
	mustContain(t, "the basket on the phone", phone.get("/").body, "Damson jam", "£22.75")

	// A guest's basket is read at every view.
	guest := s.browser(t, srv, nil)
	guest.addVariant(s.small, "1")
	mustContain(t, "the guest's basket", guest.get("/").body, "£6.00")
	setPrice(650)
	mustContain(t, "the guest's basket, reloaded", guest.get("/").body, "£6.50")
}
