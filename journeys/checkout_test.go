package journeys

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sumup/sandbox"
)

// The SumUp sandbox's merchant and key in the checkout journey.
const (
	journeyMerchant = "MJOURNEY"
	journeyKey      = "sup_sk_journey"
	// journeyPickup is a pickup place every demo market offers.
	journeyPickup = "Saturday market, Leith Walk"
)

// startSumUp serves a SumUp sandbox at http://sumup.localhost:PORT (its
// hosted pages open in the browser there) and returns its base URL; it is
// stopped when the test ends.
func startSumUp(t *testing.T) (*sandbox.Server, string) {
	t.Helper()
	port := servicetest.FreePort(t)
	base := "http://sumup.localhost:" + port
	sb := sandbox.New(sandbox.Options{MerchantCode: journeyMerchant, APIKey: journeyKey, PublicURL: base,
		Retry: []time.Duration{200 * time.Millisecond, time.Second, 2 * time.Second}})
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sb)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return sb, base
}

// A shopper, in a real headless Chromium: signs in on the market and the
// cart, adds Heather honey and a rye loaf from the market's product
// pages, makes it two loaves on the basket page, checks out for pickup,
// pays on SumUp's hosted page (the sandbox's Pay button), and is back on
// the order page, which says Paid. The header's cart summary is empty
// again, and the confirmation email has arrived.
func TestBrowserShopperChecksOutAndPays(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v); run `make test`, which installs it", chromiumPath, err)
	}
	sb, sumup := startSumUp(t)
	st := startStack(t, "rose-ash.localhost", map[string]string{
		"SUMUP_API_URL": sumup, "SUMUP_MERCHANT_CODE": journeyMerchant, "SUMUP_API_KEY": journeyKey,
	}, "market", "cart")
	seedDemo(t, st)
	market, cart := st.URL["market"], st.URL["cart"]
	tab := startChromium(t)
	const email = "pat@example.org"
	tab.signInAsNewMember(st, "market", email, "Pat Payer", "pat")
	tab.load("sign in on the cart", chromedp.Navigate(cart+"/auth/login?next=/"))
	tab.expectOn(cart + "/")
	tab.waitVisible(".account-name")

	// Two products from the market: a jar of heather honey and a rye loaf.
	form := `form[action="` + cart + `/items"]`
	for _, slug := range []string{"heather-honey", "rye-loaf"} {
		tab.load("open "+slug, chromedp.Navigate(market+"/products/"+slug))
		tab.waitVisible(form + ` button[type="submit"]`)
		tab.load("add "+slug+" to the cart", chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
		tab.expectOn(market + "/products/" + slug)
	}
	tab.waitVisible(".cart-mini .cart-count")
	if got := tab.text(".cart-mini"); !strings.Contains(got, "2 items") {
		t.Fatalf("after adding two products the header's cart says %q", got)
	}

	// On the basket, two rye loaves.
	tab.load("open the basket", chromedp.Click(chromedp.CSS(".cart-mini a")))
	tab.expectOn(cart + "/")
	tab.waitVisible("tr.basket-line")
	rye := tab.eval(`(() => {
		const row = [...document.querySelectorAll('tr.basket-line')].find(r => r.textContent.includes('Rye loaf'));
		const input = row && row.querySelector('input[name="quantity"]');
		if (!input) return '';
		input.id = 'rye-quantity';
		return input.form.getAttribute('action');
	})()`)
	if rye == "" {
		t.Fatalf("the basket has no rye loaf line:\n%s", tab.text("main"))
	}
	tab.do("make it two loaves", chromedp.SetValue(chromedp.CSS("#rye-quantity"), "2"))
	tab.load("update the quantity", chromedp.Click(chromedp.CSS(`form[action="`+rye+`"] button`)))
	tab.expectOn(cart + "/")
	tab.waitVisible("tr.basket-line")
	basket := tab.text("main")
	if !strings.Contains(basket, "Rye loaf") || !strings.Contains(basket, "£7.60") || !strings.Contains(basket, "Heather honey") {
		t.Fatalf("after making it two loaves the basket says:\n%s", basket)
	}

	// Checkout: pickup, the terms, Pay with SumUp.
	tab.load("click Checkout", chromedp.Click(chromedp.CSS("form.basket-checkout button")))
	tab.expectOn(cart + "/checkout")
	tab.waitVisible(`form[action="/checkout/pay"] button[type="submit"]`)
	if got := tab.attr(`input[name="email"]`, "value"); got != email {
		t.Errorf("the checkout's email is %q, want the shopper's %s", got, email)
	}
	if !strings.Contains(tab.text("main"), journeyPickup) {
		t.Fatalf("the checkout offers no pickup at %s:\n%s", journeyPickup, tab.text("main"))
	}
	tab.do("choose pickup at the Saturday market", chromedp.Click(chromedp.CSS(`input[name="fulfilment"][value="pickup"]`)),
		chromedp.SetValue(chromedp.CSS(`select[name="pickup_place"]`), journeyPickup))
	tab.do("accept the terms", chromedp.Click(chromedp.CSS(`input[name="terms"]`)))
	tab.load("click Pay with SumUp", chromedp.Click(chromedp.CSS(`form[action="/checkout/pay"] button[type="submit"]`)))

	// SumUp's hosted page: pay.
	tab.expectOn(sumup + "/pay/")
	tab.waitVisible(`button[value="PAID"]`)
	if got := tab.text("h1"); got != "£13.35" {
		t.Errorf("SumUp's page asks %q, want £13.35 (a £5.75 jar and two £3.80 loaves)", got)
	}
	tab.load("click Pay", chromedp.Click(chromedp.CSS(`button[value="PAID"]`)))

	// Back on the order page: Paid.
	tab.expectOn(cart + "/orders/")
	tab.waitVisible(".order-status")
	if got := tab.text(".order-status"); got != "Paid" {
		t.Fatalf("back from SumUp the order says %q, want Paid:\n%s", got, tab.text("main"))
	}
	page := tab.text("main")
	for _, want := range []string{"Heather honey", "Rye loaf", "£13.35", "Collect at " + journeyPickup} {
		if !strings.Contains(page, want) {
			t.Errorf("the order page lacks %q:\n%s", want, page)
		}
	}
	if tab.present(`button[type="submit"]`) && strings.Contains(page, "Pay now") {
		t.Errorf("a paid order offers Pay now")
	}
	if cos := sb.Checkouts(); len(cos) != 1 || cos[0].Status != "PAID" {
		t.Fatalf("SumUp's checkouts: %+v, want one paid", cos)
	}

	// The header's cart is empty again, on the market too.
	tab.load("open the market", chromedp.Navigate(market+"/"))
	tab.waitVisible(".cart-mini")
	if tab.present(".cart-mini .cart-count") {
		t.Fatalf("after paying the header's cart still says %q", tab.text(".cart-mini"))
	}
	tab.load("open the basket", chromedp.Navigate(cart+"/"))
	if got := tab.text("main"); !strings.Contains(got, "Your basket is empty") {
		t.Fatalf("after paying the basket says:\n%s", got)
	}

	// The confirmation email, with the link to the order.
	// (Other emails about the order, such as its receipt, may come first.)
	msg := st.Mail.WaitFor(t, email, 10*time.Second)
	for i := 0; i < 3 && !strings.HasPrefix(msg.Subject, "Payment confirmed"); i++ {
		msg = st.Mail.WaitFor(t, email, 10*time.Second)
	}
	if !strings.HasPrefix(msg.Subject, "Payment confirmed") || !strings.Contains(msg.Text, "£13.35") ||
		!strings.Contains(msg.Text, cart+"/orders/") {
		t.Fatalf("the email after paying: %q\n%s", msg.Subject, msg.Text)
	}
	if resp, err := NewBrowser(t).http.Get(strings.Fields(msg.Text[strings.Index(msg.Text, cart+"/orders/"):])[0]); err != nil ||
		resp.StatusCode != http.StatusOK {
		t.Fatalf("the email's order link, opened signed out: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
