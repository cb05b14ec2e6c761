package journeys

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A shopper, in a real headless Chromium, driven only through the pages:
// signs in on the market by magic link as a new member and once on the
// cart (single sign-on), browses the market's home, lists what is in
// stock cheapest first, searches "hon", opens Heather honey, chooses the
// 340 g jar and two of them, adds them to the cart and is back on the
// product page, where the header's cart summary now counts 2 items for
// £16.50; the basket page lists the jar at its catalogue price.
func TestBrowserShopperAddsAVariantToTheCart(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v); run `make test`, which installs it", chromiumPath, err)
	}
	// One site, as in production: the cart's session cookie (SameSite=Lax)
	// goes with the form the market's page posts to the cart.
	st := StartSiteStack(t, "rose-ash", "market", "cart")
	seedDemo(t, st)
	market, cart := st.URL["market"], st.URL["cart"]
	tab := startChromium(t)
	const email, name = "sam@example.org", "Sam Shopper"

	// Sign in on the market as a new member.
	tab.signInAsNewMember(st, "market", email, name, "sam")

	// One click signs in on the cart too; the basket is empty.
	tab.load("sign in on the cart", chromedp.Navigate(cart+"/auth/login?next=/"))
	tab.expectOn(cart + "/")
	tab.waitVisible(".account-name")
	if !strings.Contains(tab.text("main"), "Your basket is empty") {
		t.Fatalf("a new member's basket is not empty:\n%s", tab.text("main"))
	}

	// The market's home shows the demo's markets and products, and an
	// empty cart in the header.
	tab.load("open the market again", chromedp.Navigate(market+"/"))
	tab.waitVisible(".cart-mini")
	if tab.present(".cart-mini .cart-count") {
		t.Fatalf("the header counts %q in a new member's cart", tab.text(".cart-mini"))
	}
	home := tab.text("main")
	for _, want := range []string{"Bramble & Comb", "The Bakehouse", "Hollow Lane Farm"} {
		if !strings.Contains(home, want) {
			t.Errorf("the market's home does not show the market %s", want)
		}
	}

	// What is in stock, cheapest first: carrots at £1.60 lead, the sold-out
	// rhubarb is not there.
	tab.load("list what is in stock, cheapest first", chromedp.Navigate(market+"/products?in_stock=1&sort=price-asc"))
	tab.waitVisible(`main a[href*="/products/"]`)
	first := tab.attr(`main a[href*="/products/"]`, "href")
	if !strings.HasSuffix(first, "/products/heritage-carrots") {
		t.Errorf("in stock, cheapest first, the first product is %s, want heritage-carrots", first)
	}
	if listing := tab.text("main"); strings.Contains(listing, "Forced rhubarb") || !strings.Contains(listing, "Heritage carrots") {
		t.Errorf("the in-stock listing shows the sold-out rhubarb, or not the carrots:\n%s", listing)
	}

	// Search "hon", through the market's search box when the page has one
	// (the header's site search is the blog's).
	box := `form[action="/search"] input[name="q"], form[action="` + market + `/search"] input[name="q"]`
	if tab.present(box) {
		tab.do("type hon into the market's search box", chromedp.SendKeys(chromedp.CSS(box), "hon"))
		tab.load("search", chromedp.Submit(chromedp.CSS(box)))
	} else {
		tab.load("search for hon", chromedp.Navigate(market+"/search?q=hon"))
	}
	tab.expectOn(market + "/search")
	tab.waitVisible(`main a[href$="/products/heather-honey"]`)
	if results := tab.text("main"); !strings.Contains(results, "Wildflower honey") {
		t.Errorf("searching hon does not list the wildflower honey:\n%s", results)
	}

	// Open Heather honey, choose the 340 g jar and two of them.
	tab.load("open Heather honey", chromedp.Click(chromedp.CSS(`main a[href$="/products/heather-honey"]`)))
	tab.expectOn(market + "/products/heather-honey")
	form := `form[action="` + cart + `/items"]`
	tab.waitVisible(form + ` button[type="submit"]`)
	if b := tab.text(form + ` button[type="submit"]`); !strings.Contains(b, "Add to cart") {
		t.Fatalf("the product page's cart button says %q", b)
	}
	chosen := tab.eval(`(() => {
		const s = document.querySelector('` + form + ` select[name="variant_id"]');
		const o = s && [...s.options].find(o => o.textContent.includes('340 g'));
		if (!o) return '';
		s.value = o.value;
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return o.value;
	})()`)
	if chosen == "" {
		t.Fatalf("the product page offers no 340 g jar to choose:\n%s", tab.text("main"))
	}
	tab.do("choose two", chromedp.SetValue(chromedp.CSS(form+` input[name="quantity"]`), "2"))
	tab.load("click Add to cart", chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))

	// Back on the product page, the header counts the two jars.
	tab.expectOn(market + "/products/heather-honey")
	tab.waitVisible(".cart-mini .cart-count")
	if got := tab.text(".cart-mini"); !strings.Contains(got, "2 items") || !strings.Contains(got, "£16.50") {
		t.Fatalf("after adding two 340 g jars the header's cart says %q, want 2 items · £16.50", got)
	}

	// The basket lists them at the catalogue's price.
	tab.load("open the basket", chromedp.Click(chromedp.CSS(".cart-mini a")))
	tab.expectOn(cart + "/")
	tab.waitVisible("tr.basket-line")
	if line := tab.text("tr.basket-line"); !strings.Contains(line, "Heather honey (340 g)") || !strings.Contains(line, "£8.25") ||
		!strings.Contains(line, "£16.50") {
		t.Fatalf("the basket's line is %q, want Heather honey (340 g), 2 at £8.25, £16.50", line)
	}
}

// signInAsNewMember signs a new member in on service through its header's
// Sign in link, by magic link and the welcome form, and checks the
// service's home greets them.
func (c *chromeTab) signInAsNewMember(st *Stack, service, email, name, username string) {
	c.t.Helper()
	t, home := c.t, st.URL[service]
	c.load("open "+service, chromedp.Navigate(home+"/"))
	c.waitVisible("a.account-signin")
	c.load("click Sign in on "+service, chromedp.Click(chromedp.CSS("a.account-signin")))
	c.expectOn(st.URL["federation"] + "/auth/signin")
	c.waitVisible("input#email")
	c.do("type the email", chromedp.SendKeys(chromedp.CSS("input#email"), email))
	c.load("ask for a sign-in link", chromedp.Click(chromedp.CSS(`form[action="/auth/signin"] button[type="submit"]`)))
	msg := st.Mail.WaitFor(t, email, 10*time.Second)
	link := magicLinkRE.FindString(msg.Text)
	if link == "" {
		t.Fatalf("no sign-in link in the mail:\n%s", msg.Text)
	}
	c.load("open the link from the mail", chromedp.Navigate(link))
	c.waitVisible(`form[action="/auth/magic"] button[type="submit"]`)
	c.load("confirm the sign-in", chromedp.Click(chromedp.CSS(`form[action="/auth/magic"] button[type="submit"]`)))
	c.expectOn(st.URL["federation"] + "/auth/welcome")
	c.waitVisible("input#display_name")
	c.do("fill in the welcome form",
		chromedp.Clear(chromedp.CSS("input#display_name")),
		chromedp.SendKeys(chromedp.CSS("input#display_name"), name),
		chromedp.Clear(chromedp.CSS("input#username")),
		chromedp.SendKeys(chromedp.CSS("input#username"), username),
	)
	c.load("submit the welcome form", chromedp.Click(chromedp.CSS(`form[action="/auth/welcome"] button[type="submit"]`)))
	c.expectOn(home + "/")
	c.waitVisible(".account-name")
	if got := c.text(".account-name"); got != name {
		t.Fatalf("%s shows %q signed in, want %q", service, got, name)
	}
}

// A shopper signed in on the market but not yet on the cart, whose
// browser keeps each *.localhost service a site of its own (so the cart's
// session cookie does not go with the market's form), adds a loaf: the
// cart keeps it in a guest basket and shows it; one click signs them in
// on the cart (no mail), the guest basket joins theirs and the page says
// so, and the header counts the loaf.
func TestBrowserShopperAddsAsAGuestThenSignsInOnTheCart(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v); run `make test`, which installs it", chromiumPath, err)
	}
	st := StartStack(t, "market", "cart")
	seedDemo(t, st)
	market, cart := st.URL["market"], st.URL["cart"]
	tab := startChromium(t)
	tab.signInAsNewMember(st, "market", "kit@example.org", "Kit Baker", "kit")
	mails := len(st.Mail.Messages())

	tab.load("open the rye loaf", chromedp.Navigate(market+"/products/rye-loaf"))
	form := `form[action="` + cart + `/items"]`
	tab.waitVisible(form + ` button[type="submit"]`)
	tab.load("click Add to cart", chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
	tab.expectOn(cart + "/")
	tab.waitVisible("tr.basket-line")
	if got := tab.text("main"); !strings.Contains(got, "1 × Rye loaf added to your basket.") || !strings.Contains(got, "£3.80") {
		t.Fatalf("the guest's basket says %q", got)
	}
	tab.load("click Sign in on the cart", chromedp.Click(chromedp.CSS("a.account-signin")))
	tab.expectOn(cart + "/")
	tab.waitVisible(".account-name")
	if got := tab.text("main"); !strings.Contains(got, "The basket you filled before signing in is now part of yours.") {
		t.Fatalf("after signing in the basket says %q", got)
	}
	if n := len(st.Mail.Messages()); n != mails {
		t.Fatalf("signing in on the cart sent %d more mails, want none", n-mails)
	}
	tab.load("back to the loaf", chromedp.Navigate(market+"/products/rye-loaf"))
	tab.waitVisible(".cart-mini .cart-count")
	if got := tab.text(".cart-mini"); !strings.Contains(got, "1 item") || !strings.Contains(got, "£3.80") {
		t.Fatalf("after signing in the header's cart says %q, want 1 item · £3.80", got)
	}
}

// attr is an attribute of the first element matching css.
func (c *chromeTab) attr(css, name string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`(document.querySelector(`+jsString(css)+`) || {getAttribute: () => ""}).getAttribute(`+jsString(name)+`) || ""`))
	if err != nil {
		c.t.Fatalf("reading %s of %s: %v", name, css, err)
	}
	return v
}

// eval runs a JavaScript expression that gives a string.
func (c *chromeTab) eval(js string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		c.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
