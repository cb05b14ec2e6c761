package journeys

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"rose-ash.com/platform/shared/demo"
)

// paidJourneyEvent is the demo's paid event the paid events journey
// books: a £25.00 workshop place, twelve seats.
const paidJourneyEvent = "bread-making-workshop"

// The demo admin, in a real headless Chromium, driven only through the
// pages, with the services on one site as in production: signs in on the
// events service and the cart, opens the bread-making workshop from the
// events home and clicks "Book for £25.00", a form the events page posts
// to the cart's /items on another origin. The basket, shown next, has
// the workshop place at £25.00; with the demo's products taken out of
// it, checkout asks no delivery question, SumUp's hosted page asks £25.00
// and the admin pays. The order page says Paid and links "See your
// tickets", which opens the booking's page on the events service with its
// QR code, and a Cancel button that says the places are refunded.
func TestBrowserEventsPaid(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v); run `make test`, which installs it", chromiumPath, err)
	}
	sb, sumup := startSumUp(t)
	st := startStack(t, "rose-ash.localhost", map[string]string{
		"SUMUP_API_URL": sumup, "SUMUP_MERCHANT_CODE": journeyMerchant, "SUMUP_API_KEY": journeyKey,
	}, "events", "cart")
	seedDemo(t, st)
	events, cart := st.URL["events"], st.URL["cart"]
	tab := startChromium(t)
	const adminName = "Rose Ash Admin"
	tab.signInKnownUser(st, "events", demo.AdminEmail, adminName)
	tab.load("sign in on the cart", chromedp.Navigate(cart+"/auth/login?next=/"))
	tab.expectOn(cart + "/")
	tab.waitVisible(".account-name")

	// From the events home to the workshop's page.
	tab.load("open the events home", chromedp.Navigate(events+"/"))
	link := `main a[href="/events/` + paidJourneyEvent + `"]`
	tab.waitVisible(link)
	tab.load("open the bread-making workshop", chromedp.Click(chromedp.CSS(link)))
	tab.expectOn(events + "/events/" + paidJourneyEvent)
	if h := tab.text("h1"); !strings.Contains(h, "Bread-making workshop") {
		t.Fatalf("the event's page is headed %q", h)
	}

	// Book for £25.00: the form goes to the cart, which shows the basket.
	form := `form[action="` + cart + `/items"]`
	tab.waitVisible(form + ` button[type="submit"]`)
	if b := tab.text(form + ` button[type="submit"]`); b != "Book for £25.00" {
		t.Fatalf("the workshop place's button says %q, want Book for £25.00", b)
	}
	if tab.present(form + ` input[name="email"]`) {
		t.Error("the paid booking form asks a signed-in member for their email")
	}
	tab.load("click Book for £25.00", chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))

	// The basket: the workshop place at £25.00, beside the demo admin's
	// products, which they take out to buy the place alone.
	tab.expectOn(cart + "/")
	tab.waitVisible("tr.basket-line")
	if got := tab.text("main"); !strings.Contains(got, "1 place at Bread-making workshop") || !strings.Contains(got, "added to your basket") {
		t.Errorf("the basket does not say the place was added:\n%s", got)
	}
	place := tab.eval(`(() => {
		const row = [...document.querySelectorAll('tr.basket-line')].find(r => r.textContent.includes('Bread-making workshop'));
		return row ? row.innerText : '';
	})()`)
	if place == "" {
		t.Fatalf("the basket has no line for the workshop:\n%s", tab.text("main"))
	}
	if !strings.Contains(place, "£25.00") || tab.eval(`(() => {
		const row = [...document.querySelectorAll('tr.basket-line')].find(r => r.textContent.includes('Bread-making workshop'));
		return row.querySelector('input[name="quantity"]').value;
	})()`) != "1" {
		t.Fatalf("the basket's workshop line says %q, want one place at £25.00", place)
	}
	if href := tab.eval(`(() => {
		const row = [...document.querySelectorAll('tr.basket-line')].find(r => r.textContent.includes('Bread-making workshop'));
		return row.querySelector('a').getAttribute('href');
	})()`); href != events+"/events/"+paidJourneyEvent {
		t.Errorf("the basket's workshop line links %q, want the event's page", href)
	}
	for i := 0; i < 5; i++ {
		remove := tab.eval(`(() => {
			const row = [...document.querySelectorAll('tr.basket-line')].find(r => !r.textContent.includes('Bread-making workshop'));
			const f = row && [...row.querySelectorAll('form')].find(f => f.getAttribute('action').endsWith('/remove'));
			return f ? f.getAttribute('action') : '';
		})()`)
		if remove == "" {
			break
		}
		tab.load("remove "+remove, chromedp.Click(chromedp.CSS(`form[action="`+remove+`"] button`)))
		tab.expectOn(cart + "/")
		tab.waitVisible("main")
	}
	if n := tab.number(`document.querySelectorAll("tr.basket-line").length`); n != 1 {
		t.Fatalf("after taking the products out the basket has %v lines:\n%s", n, tab.text("main"))
	}

	// Checkout: tickets alone, no delivery question.
	tab.load("click Checkout", chromedp.Click(chromedp.CSS("form.basket-checkout button")))
	tab.expectOn(cart + "/checkout")
	tab.waitVisible(`form[action="/checkout/pay"] button[type="submit"]`)
	if got := tab.attr(`input[name="email"]`, "value"); got != demo.AdminEmail {
		t.Errorf("the checkout's email is %q, want the admin's %s", got, demo.AdminEmail)
	}
	if tab.present(`input[name="fulfilment"][type="radio"]`) || tab.present(`select[name="pickup_place"]`) || tab.present(`input[name="postcode"]`) {
		t.Errorf("checking out a workshop place alone asks how to deliver it:\n%s", tab.text("main"))
	}
	if got := tab.text("main"); !strings.Contains(got, "Your tickets are on their own page once you have paid") {
		t.Errorf("the checkout does not say where the tickets will be:\n%s", got)
	}
	tab.do("accept the terms", chromedp.Click(chromedp.CSS(`input[name="terms"]`)))
	tab.load("click Pay with SumUp", chromedp.Click(chromedp.CSS(`form[action="/checkout/pay"] button[type="submit"]`)))

	// SumUp's hosted page: pay £25.00.
	tab.expectOn(sumup + "/pay/")
	tab.waitVisible(`button[value="PAID"]`)
	if got := tab.text("h1"); got != "£25.00" {
		t.Errorf("SumUp's page asks %q, want £25.00 (one workshop place)", got)
	}
	tab.load("click Pay", chromedp.Click(chromedp.CSS(`button[value="PAID"]`)))

	// Back on the order page: Paid, with a link to the tickets.
	tab.expectOn(cart + "/orders/")
	tab.waitVisible(".order-status")
	if got := tab.text(".order-status"); got != "Paid" {
		t.Fatalf("back from SumUp the order says %q, want Paid:\n%s", got, tab.text("main"))
	}
	page := tab.text("main")
	for _, want := range []string{"Bread-making workshop", "£25.00", "Your tickets", "Nothing to deliver or collect"} {
		if !strings.Contains(page, want) {
			t.Errorf("the order page lacks %q:\n%s", want, page)
		}
	}
	if cos := sb.Checkouts(); len(cos) != 1 || cos[0].Status != "PAID" {
		t.Fatalf("SumUp's checkouts: %+v, want one paid", cos)
	}
	tickets := `ul.order-tickets a`
	tab.waitVisible(tickets)
	if got := tab.text(tickets); got != "See your tickets" {
		t.Errorf("the order's tickets link says %q, want See your tickets", got)
	}
	if href := tab.attr(tickets, "href"); !strings.HasPrefix(href, events+"/tickets/") {
		t.Fatalf("the order's tickets link goes to %q, want the events service's /tickets/...", href)
	}

	// The tickets page on the events service: one place, its QR code.
	tab.load("click See your tickets", chromedp.Click(chromedp.CSS(tickets)))
	tab.expectOn(events + "/tickets/")
	tab.waitVisible("img.ticket-qr")
	page = tab.text("main")
	for _, want := range []string{"Bread-making workshop", "Show these QR codes at the door.", "1 place, Workshop place",
		"Ticket 1 of 1", adminName} {
		if !strings.Contains(page, want) {
			t.Errorf("the tickets page lacks %q:\n%s", want, page)
		}
	}
	if n := tab.number(`[...document.querySelectorAll("main img")].filter(i => (i.alt || "").startsWith("QR code")).length`); n != 1 {
		t.Fatalf("the tickets page shows %v images whose alt begins \"QR code\", want 1", n)
	}
	if n := tab.number(`Promise.all([...document.querySelectorAll("img.ticket-qr")].map(i => i.decode().then(() => i.naturalWidth > 0, () => false))).then(r => r.filter(Boolean).length)`); n != 1 {
		t.Errorf("%v of the 1 QR code loads as an image", n)
	}
	if code := tab.text("li.ticket .ticket-code code"); !regexp.MustCompile(`^[A-Z2-7]{26}$`).MatchString(code) {
		t.Errorf("the ticket's typed code is %q, want 26 letters and digits", code)
	}
	// Paid places are cancelled with a refund: the page says so.
	if !tab.present(`form[action$="/cancel"]`) || !strings.Contains(page, "refunded to your card") {
		t.Errorf("the paid booking's page does not offer to cancel it with a refund:\n%s", page)
	}
}
