package journeys

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/demo"
)

func seedDemo(t *testing.T, st *Stack) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := demo.Seed(context.Background(), pool, nil); err != nil {
		t.Fatal(err)
	}
}

// addToCart adds qty of the demo variant with that SKU to b's cart, as its
// product page's form does.
func addToCart(t *testing.T, st *Stack, b *Browser, sku string, qty int) {
	t.Helper()
	p := b.Post(t, st.URL["cart"]+"/items", url.Values{"variant_id": {variantID(t, st, sku)},
		"quantity": {strconv.Itoa(qty)}, "next": {"/"}})
	if p.Status != 200 {
		t.Fatalf("add to cart: %d\n%s", p.Status, p.Body)
	}
}

// variantID returns the id of the variant with that SKU.
func variantID(t *testing.T, st *Stack, sku string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var id string
	if err := conn.QueryRow(context.Background(), `SELECT id::text FROM product_variants WHERE sku = $1`, sku).Scan(&id); err != nil {
		t.Fatalf("variant %s: %v", sku, err)
	}
	return id
}

func cartMini(p Page) string { return between(p.Body, `<div class="cart-mini">`, `</div>`) }

// The blog home shows the site navigation, the user's account menu, their
// cart count and total, and upcoming events, each from its own service.
func TestBlogHomeIsComposedFromEveryService(t *testing.T) {
	st := StartStack(t, "blog", "account", "cart", "events")
	seedDemo(t, st)
	b := NewBrowser(t)
	home := st.SignIn(t, b, "blog", demo.AdminEmail, "admin")
	for what, want := range map[string]string{
		"nav-tree (blog)":       `<nav class="site-menu"`,
		"nav item":              `href="` + st.URL["blog"] + `/about">About</a>`,
		"account-nav (account)": `<span class="account-name">Rose Ash Admin</span>`,
		"admin link":            `class="account-admin"`,
		"cart-mini (cart)":      `3 items`,
		"cart total":            `£17.50`,
		"upcoming (events)":     `Upcoming events`,
	} {
		if !strings.Contains(home.Body, want) {
			t.Errorf("blog home lacks %s: %s", what, want)
		}
	}
	// Every service's pages carry the same header fragments.
	for _, svc := range []string{"cart", "account", "federation"} {
		p := b.Get(t, st.URL[svc]+"/auth/login?next=/") // one click: already signed in at federation
		if svc == "federation" {
			p = b.Get(t, st.URL[svc]+"/")
		}
		if !strings.Contains(p.Body, `<nav class="site-menu"`) || !strings.Contains(cartMini(p), "3 items") {
			t.Errorf("%s's header lacks the shared fragments", svc)
		}
	}
}

// A visitor's header shows no account menu and no notifications badge, so
// a visitor's page does not ask account or federation for them.
func TestVisitorPagesFetchOnlyWhatTheyShow(t *testing.T) {
	st := StartStack(t, "cart", "account")
	visitor := NewBrowser(t)
	for range 3 {
		if p := visitor.Get(t, st.URL["cart"]+"/"); p.Status != 200 || !strings.Contains(p.Body, "account-signin") {
			t.Fatalf("the cart home for a visitor: %d", p.Status)
		}
	}
	asked := map[string]bool{}
	for _, line := range strings.Split(visitor.Get(t, st.URL["cart"]+"/metrics").Body, "\n") {
		if strings.HasPrefix(line, "fragment_requests_total{") && !strings.HasSuffix(line, " 0") {
			asked[between(line, `type="`, `"`)] = true
		}
	}
	if asked["account-nav"] || asked["notifications"] {
		t.Errorf("a visitor's pages asked for fragments their header does not show: %v", asked)
	}
	if !asked["nav-tree"] || !asked["cart-mini"] {
		t.Errorf("a visitor's pages did not ask for the navigation and the cart summary: %v", asked)
	}
}

// Adding to the cart shows on the next blog page view (the change
// invalidates the cached fragment), and only for that user.
func TestCartChangeShowsAtOnceAndOnlyToItsOwner(t *testing.T) {
	st := StartStack(t, "blog", "account", "cart")
	seedDemo(t, st)
	ann, bob := NewBrowser(t), NewBrowser(t)
	st.SignIn(t, ann, "blog", "ann@example.org", "ann")
	st.SignIn(t, bob, "blog", "bob@example.org", "bob")
	ann.Get(t, st.URL["cart"]+"/auth/login?next=/") // single sign-on
	if got := cartMini(ann.Get(t, st.URL["blog"]+"/")); strings.Contains(got, "item") {
		t.Fatalf("empty cart shows %q", got)
	}
	addToCart(t, st, ann, "BH-RYE-800", 2) // Rye loaf, £3.80
	if got := cartMini(ann.Get(t, st.URL["blog"]+"/")); !strings.Contains(got, "2 items") || !strings.Contains(got, "£7.60") {
		t.Fatalf("right after adding, Ann's blog header shows %q", got)
	}
	if got := cartMini(bob.Get(t, st.URL["blog"]+"/")); strings.Contains(got, "item") {
		t.Fatalf("Bob sees Ann's cart: %q", got)
	}
	if p := bob.Get(t, st.URL["blog"]+"/"); SignedInAs(p) != "Bob" {
		t.Fatalf("Bob's account menu shows %q", SignedInAs(p))
	}
}

// When the cart service is down the blog home still renders promptly,
// without the cart summary; when it is back, so is the summary.
func TestBlogHomeSurvivesTheCartGoingDown(t *testing.T) {
	st := StartStack(t, "blog", "account", "cart", "events")
	seedDemo(t, st)
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", demo.AdminEmail, "admin")
	st.Stop("cart")
	// The cached summary may be served until it expires or is invalidated;
	// drop it as a change would.
	st.flushFragments(t)
	start := time.Now()
	p := b.Get(t, st.URL["blog"]+"/")
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("blog home took %s with the cart down", took)
	}
	if p.Status != 200 || cartMini(p) != "" || SignedInAs(p) != "Rose Ash Admin" || !strings.Contains(p.Body, "Upcoming events") {
		t.Fatalf("with the cart down: %d cart=%q user=%q", p.Status, cartMini(p), SignedInAs(p))
	}
	st.Start(t, "cart")
	if got := cartMini(b.Get(t, st.URL["blog"]+"/")); !strings.Contains(got, "3 items") {
		t.Fatalf("after the cart came back the header shows %q", got)
	}
}

// Anonymous visitors get cached pages; signed-in users never do, and their
// pages are never stored for others.
func TestAnonymousPageCacheNeverServesSignedInViews(t *testing.T) {
	st := StartStack(t, "blog", "account", "cart")
	get := func(b *Browser) Page {
		req, _ := http.NewRequest("GET", st.URL["blog"]+"/", nil)
		return b.Do(t, req)
	}
	anon := NewBrowser(t)
	get(anon)
	if p := get(anon); p.Header.Get("X-Cache") != "HIT" {
		t.Fatalf("second anonymous view not from the page cache (X-Cache=%q)", p.Header.Get("X-Cache"))
	}
	user := NewBrowser(t)
	st.SignIn(t, user, "blog", "carol@example.org", "carol")
	for range 2 {
		p := get(user)
		if p.Header.Get("X-Cache") == "HIT" || SignedInAs(p) != "Carol" {
			t.Fatalf("signed-in view: X-Cache=%q as %q", p.Header.Get("X-Cache"), SignedInAs(p))
		}
	}
	if p := get(NewBrowser(t)); strings.Contains(p.Body, "Carol") {
		t.Fatal("an anonymous visitor was served Carol's page")
	}
}
