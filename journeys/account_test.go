package journeys

import (
	"bytes"
	"net/http"
	netmail "net/mail"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rose-ash.com/platform/shared/demo"
)

// confirmLinkRE finds a newsletter confirmation link in a mail's text.
var confirmLinkRE = regexp.MustCompile(`https?://\S+/newsletters/confirm\?t=[A-Za-z0-9_\-%]+`)

// unsubscribeLinkRE finds the https link of a List-Unsubscribe header.
var unsubscribeLinkRE = regexp.MustCompile(`<(https?://[^>]+)>`)

// A reader who is not a member, in a real headless Chromium: on the blog's
// welcome post they find the "Rose Ash news" box (the post's
// [[widget:newsletter:news]], served by the account service), type their
// address and press Subscribe; the account service says to check their
// inbox. The confirmation mail's link confirms the subscription, and the
// welcome message that follows carries List-Id and RFC 8058 one-click
// List-Unsubscribe headers. The demo admin signs in on the account
// service, writes a campaign in the editor (a paragraph with bold words)
// and sends it to Rose Ash news: the reader receives it, with the bold
// words in its HTML and one-click List-Unsubscribe. They open the
// campaign's unsubscribe link, which asks before it changes anything, and
// press Unsubscribe: unsubscribed.
// A mail provider's one-click POST of the same link afterwards (no cookie,
// no Origin) answers 200 and changes nothing more.
//
// Then the admin's dashboard shows
// their collected demo order (linking to the cart's order page), their
// ticket to the members' meeting with its QR code, and the newsletters;
// they subscribe to "Market days" from the dashboard (a signed-in member's
// address needs no confirmation) and the dashboard then offers to
// unsubscribe them; "Download my data" holds the subscription.
func TestBrowserAccountNewsletterAndDashboard(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v); run `make test`, which installs it", chromiumPath, err)
	}
	st := StartStack(t, "blog", "account")
	seedDemo(t, st)
	blog, account := st.URL["blog"], st.URL["account"]
	tab := startChromium(t)

	// The widget in the welcome post.
	const reader = "reader.journey@example.org"
	tab.load("open the welcome post", chromedp.Navigate(blog+"/welcome-to-the-new-rose-ash"))
	widget := `aside.newsletter-widget`
	tab.waitVisible(widget + ` form button[type="submit"]`)
	if h := tab.text(widget + " h3"); h != "Rose Ash news" {
		t.Fatalf("the post's newsletter box is headed %q, want Rose Ash news", h)
	}
	tab.do("type the reader's address", chromedp.SendKeys(chromedp.CSS(widget+` input[name="email"]`), reader))
	tab.load("press Subscribe", chromedp.Click(chromedp.CSS(widget+` form button[type="submit"]`)))
	tab.expectOn(account + "/newsletters/subscribe")
	if h := tab.text("h1"); h != "Check your inbox" {
		t.Fatalf("after subscribing the page is headed %q, want Check your inbox:\n%s", h, tab.text("main"))
	}

	// Confirm by the mail's link.
	confirmMail := st.Mail.WaitFor(t, reader, 15*time.Second)
	link := confirmLinkRE.FindString(confirmMail.Text)
	if link == "" {
		t.Fatalf("no confirmation link in the mail's text:\n%s", confirmMail.Text)
	}
	if !strings.Contains(confirmMail.Subject, "Rose Ash news") {
		t.Errorf("the confirmation mail's subject %q does not name the list", confirmMail.Subject)
	}
	tab.load("open the confirmation link", chromedp.Navigate(link))
	if h := tab.text("h1"); h != "Subscription confirmed" {
		t.Fatalf("the confirmation link's page is headed %q:\n%s", h, tab.text("main"))
	}

	// The welcome message: a list message with one-click unsubscribe.
	welcome := st.Mail.WaitFor(t, reader, 15*time.Second)
	head, err := netmail.ReadMessage(bytes.NewReader(welcome.Raw))
	if err != nil {
		t.Fatalf("the welcome message does not parse: %v", err)
	}
	if v := head.Header.Get("List-Unsubscribe-Post"); v != "List-Unsubscribe=One-Click" {
		t.Errorf("the welcome message's List-Unsubscribe-Post is %q", v)
	}
	if v := head.Header.Get("List-Id"); !strings.Contains(v, "Rose Ash news") || !strings.Contains(v, "<") {
		t.Errorf("the welcome message's List-Id is %q", v)
	}
	if welcome.HTML == "" || strings.TrimSpace(welcome.Text) == "" {
		t.Errorf("the welcome message lacks a plain-text or an HTML part")
	}
	// The admin writes a campaign in the editor and sends it to the list.
	tab.signInKnownUser(st, "account", demo.AdminEmail, "Rose Ash Admin")
	tab.load("open a new campaign", chromedp.Navigate(account+"/admin/newsletters/campaigns/new"))
	tab.waitVisible("form[data-editor] .ProseMirror")
	const subject, body = "Winter fair news", "The winter fair opens at ten. "
	tab.do("type the subject", chromedp.SendKeys(chromedp.CSS("input#subject"), subject))
	tab.do("click into the editor", chromedp.Click(chromedp.CSS(".ProseMirror")))
	tab.waitVisible(".ProseMirror.ProseMirror-focused")
	tab.do("type the message", chromedp.KeyEvent(body))
	tab.do("click Bold", chromedp.Click(chromedp.CSS(`button[aria-label="Bold"]`)))
	tab.do("type the bold words", chromedp.KeyEvent("Bring a friend."))
	tab.waitVisible(".ProseMirror p strong")
	list := chromedp.Search(`//label[contains(normalize-space(), "Rose Ash news")]/input[@name="list"]`)
	tab.do("choose Rose Ash news", chromedp.WaitVisible(list))
	tab.do("tick Rose Ash news", chromedp.Click(list))
	tab.load("click Save", chromedp.Click(chromedp.CSS(`form[data-editor] button[type="submit"]`)))
	send := `form[action$="/send"] button[type="submit"]`
	tab.waitVisible(send)
	tab.load("click Send now", chromedp.Click(chromedp.CSS(send)))
	tab.waitVisible("progress")

	news := st.Mail.WaitFor(t, reader, 30*time.Second)
	if news.Subject != subject || !strings.Contains(news.Text, "The winter fair opens at ten.") ||
		!strings.Contains(news.HTML, "<strong>Bring a friend.</strong>") {
		t.Fatalf("the campaign reached the reader as %q:\n%s\n%s", news.Subject, news.Text, news.HTML)
	}
	head, err = netmail.ReadMessage(bytes.NewReader(news.Raw))
	if err != nil {
		t.Fatalf("the campaign's message does not parse: %v", err)
	}
	if v := head.Header.Get("List-Unsubscribe-Post"); v != "List-Unsubscribe=One-Click" {
		t.Errorf("the campaign's List-Unsubscribe-Post is %q", v)
	}
	m := unsubscribeLinkRE.FindStringSubmatch(head.Header.Get("List-Unsubscribe"))
	if m == nil {
		t.Fatalf("List-Unsubscribe has no http(s) link: %q", head.Header.Get("List-Unsubscribe"))
	}
	unsubscribe := m[1]
	if !strings.HasPrefix(unsubscribe, account+"/newsletters/unsubscribe?") {
		t.Errorf("the unsubscribe link %s is not the account service's", unsubscribe)
	}

	// The reader follows the link: a page with a button, then unsubscribed.
	tab.load("open the unsubscribe link", chromedp.Navigate(unsubscribe))
	button := `form[action^="/newsletters/unsubscribe"] button[type="submit"]`
	tab.waitVisible(button)
	if h := tab.text("h1"); strings.Contains(h, "unsubscribed") {
		t.Fatalf("opening the unsubscribe link unsubscribed before the button was pressed: %q", h)
	}
	tab.load("press Unsubscribe", chromedp.Click(chromedp.CSS(button)))
	if h := tab.text("h1"); h != "You are unsubscribed" {
		t.Fatalf("after pressing Unsubscribe the page is headed %q:\n%s", h, tab.text("main"))
	}

	// A mail provider's one-click POST: no cookie, no Origin.
	req, _ := http.NewRequest(http.MethodPost, unsubscribe, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p := NewBrowser(t).Do(t, req); p.Status != http.StatusOK {
		t.Errorf("a one-click POST answered %d, want 200", p.Status)
	}
	var status string
	if err := mustConn(t, st).QueryRow(t.Context(), `
SELECT s.status FROM newsletter_subscriptions s
JOIN newsletter_subscribers r ON r.id = s.subscriber_id JOIN newsletter_lists l ON l.id = s.list_id
WHERE r.email = $1 AND l.slug = 'news'`, reader).Scan(&status); err != nil || status != "unsubscribed" {
		t.Errorf("the reader's subscription is %q (%v), want unsubscribed", status, err)
	}

	tab.load("open the dashboard", chromedp.Navigate(account+"/"))
	tab.waitVisible("main h2")
	headings := tab.text("main")
	for _, want := range []string{"Orders", "Tickets", "Bookings", "Newsletters", "Profile"} {
		if !strings.Contains(headings, want) {
			t.Errorf("the dashboard has no %s section:\n%s", want, headings)
		}
	}
	if n := tab.number(`[...document.querySelectorAll("main a")].filter(a => a.href.startsWith(` + jsString(st.URL["cart"]+"/orders/") + `)).length`); n < 1 {
		t.Errorf("the dashboard links to no order page of the cart")
	}
	if !strings.Contains(headings, "Sourdough loaf") {
		t.Errorf("the dashboard's order does not list what was bought:\n%s", headings)
	}
	if n := tab.number(`Promise.all([...document.querySelectorAll("main img")].filter(i => (i.alt || "").startsWith("QR code")).map(i => i.decode().then(() => i.naturalWidth > 0, () => false))).then(r => r.filter(Boolean).length)`); n < 1 {
		t.Errorf("the dashboard shows no ticket QR code that loads")
	}
	if !strings.Contains(headings, "Members' meeting") {
		t.Errorf("the dashboard's ticket does not name the members' meeting:\n%s", headings)
	}

	// Subscribe to Market days from the dashboard.
	subscribe := chromedp.Search(`//button[normalize-space()="Subscribe to Market days"]`)
	tab.do("find Subscribe to Market days", chromedp.WaitVisible(subscribe))
	tab.load("subscribe to Market days", chromedp.Click(subscribe))
	tab.do("see Unsubscribe from Market days", chromedp.WaitVisible(chromedp.Search(`//button[normalize-space()="Unsubscribe from Market days"]`)))

	// Download my data, in the same browser (its link downloads a file,
	// so the page fetches it).
	if n := tab.number(`document.querySelectorAll('main a[href="/export.json"]').length`); n != 1 {
		t.Errorf("the dashboard has %v links to /export.json, want 1", n)
	}
	data, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`fetch("/export.json").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(data, "market-days") || !strings.Contains(data, demo.AdminEmail) || !strings.Contains(data, "Members' meeting") {
		t.Errorf("the data export lacks the admin's address, their Market days subscription or their ticket:\n%s", lastLines(data, 30))
	}
}
