package journeys

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rose-ash.com/platform/shared/demo"
)

// eventsJourneyEvent is the demo's free one-off event the events journey
// books: one date (a series' check-in list admits a ticket only within
// 12 hours of its date), 60 seats, a free place.
const eventsJourneyEvent = "producers-open-evening"

// The demo admin, in a real headless Chromium, driven only through the
// pages: signs in on the events service, opens the producers' open
// evening from the events home, books two free places, and is on the
// booking's page: two tickets, each with its QR code (an image whose alt
// begins "QR code") and its typed code. At the event's check-in page they
// type the first ticket's code: "Checked in", 1 of 2 booked; typed again:
// "Already checked in at HH:MM by Rose Ash Admin", and the count stays 1.
// Then they cancel the event in the admin, saying why: the booking is
// cancelled, the email says so with the reason, and the booking's page
// shows no QR code any more.
func TestBrowserEventsBookAndCheckIn(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v); run `make test`, which installs it", chromiumPath, err)
	}
	st := StartStack(t, "events")
	seedDemo(t, st)
	events := st.URL["events"]
	tab := startChromium(t)
	const adminName = "Rose Ash Admin"
	tab.signInKnownUser(st, "events", demo.AdminEmail, adminName)

	// From the events home to the event's page.
	tab.load("open the events home", chromedp.Navigate(events+"/"))
	link := `main a[href="/events/` + eventsJourneyEvent + `"]`
	tab.waitVisible(link)
	tab.load("open the producers' open evening", chromedp.Click(chromedp.CSS(link)))
	tab.expectOn(events + "/events/" + eventsJourneyEvent)
	if h := tab.text("h1"); !strings.Contains(h, "Producers' open evening") {
		t.Fatalf("the event's page is headed %q", h)
	}

	// Book two free places.
	form := `form[action="/events/` + eventsJourneyEvent + `/book"]`
	tab.waitVisible(form + ` button[type="submit"]`)
	if b := tab.text(form + ` button[type="submit"]`); b != "Book" {
		t.Fatalf("the free place's button says %q, want Book", b)
	}
	if tab.present(form + ` input[name="email"]`) {
		t.Error("the booking form asks a signed-in member for their email")
	}
	tab.do("ask for two places", chromedp.SetValue(chromedp.CSS(form+` input[name="quantity"]`), "2"))
	tab.load("click Book", chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))

	// The booking's page: two tickets, each with its QR code and code.
	tab.expectOn(events + "/tickets/")
	ticketPage, err := chromedp.Run(tab.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	tab.waitVisible("img.ticket-qr")
	page := tab.text("main")
	for _, want := range []string{"Show these QR codes at the door.", "Producers' open evening", "2 places, Free place",
		"Ticket 1 of 2", "Ticket 2 of 2", adminName} {
		if !strings.Contains(page, want) {
			t.Errorf("the tickets page lacks %q:\n%s", want, page)
		}
	}
	if n := tab.number(`[...document.querySelectorAll("main img")].filter(i => (i.alt || "").startsWith("QR code")).length`); n != 2 {
		t.Fatalf("the tickets page shows %v images whose alt begins \"QR code\", want 2", n)
	}
	if n := tab.number(`Promise.all([...document.querySelectorAll("img.ticket-qr")].map(i => i.decode().then(() => i.naturalWidth > 0, () => false))).then(r => r.filter(Boolean).length)`); n != 2 {
		t.Errorf("%v of the 2 QR codes load as images", n)
	}
	code := tab.text("li.ticket .ticket-code code")
	if !regexp.MustCompile(`^[A-Z2-7]{26}$`).MatchString(code) {
		t.Fatalf("the first ticket's typed code is %q, want 26 letters and digits", code)
	}
	if other := tab.eval(`document.querySelectorAll("li.ticket .ticket-code code")[1].textContent.trim()`); other == code {
		t.Fatalf("both tickets have the code %s", code)
	}

	// The check-in page: nobody in yet, two booked.
	tab.load("open the check-in page", chromedp.Navigate(events+"/admin/check-in/"+eventsJourneyEvent))
	tab.waitVisible(`#checkin-form input[name="code"]`)
	if got := tab.text("#checkin-count"); got != "0 checked in of 2 booked" {
		t.Fatalf("before any scan the count says %q, want 0 checked in of 2 booked", got)
	}

	// Type the code: checked in, counted.
	tab.do("type the ticket's code", chromedp.SendKeys(chromedp.CSS(`#checkin-form input[name="code"]`), strings.ToLower(code)))
	tab.do("click Check in", chromedp.Click(chromedp.CSS(`#checkin-form button[type="submit"]`)))
	tab.waitVisible("#checkin-answer.checkin-ok")
	if got := tab.text("#checkin-answer"); !strings.HasPrefix(got, "Checked in: "+adminName+", Free place, ticket 1 of 2") {
		t.Fatalf("the first scan answers %q, want Checked in: %s, Free place, ticket 1 of 2.", got, adminName)
	}
	if got := tab.text("#checkin-count"); got != "1 checked in of 2 booked" {
		t.Errorf("after the first scan the count says %q, want 1 checked in of 2 booked", got)
	}

	// Type it again: already checked in, at what time and by whom; the
	// count stays.
	scanned := time.Now()
	tab.do("type the same code again", chromedp.SendKeys(chromedp.CSS(`#checkin-form input[name="code"]`), code))
	tab.do("click Check in again", chromedp.Click(chromedp.CSS(`#checkin-form button[type="submit"]`)))
	tab.waitVisible("#checkin-answer.checkin-already")
	got := tab.text("#checkin-answer")
	m := regexp.MustCompile(`^Already checked in at (\d\d:\d\d) by ` + adminName + `: ` + adminName + `, Free place, ticket 1 of 2\.$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("the second scan answers %q, want Already checked in at HH:MM by %s", got, adminName)
	}
	london, err := time.LoadLocation(demo.Zone)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != scanned.In(london).Format("15:04") && m[1] != scanned.Add(-time.Minute).In(london).Format("15:04") {
		t.Errorf("the second scan says the ticket came in at %s, want the first scan's time, about %s (London)",
			m[1], scanned.In(london).Format("15:04"))
	}
	if got := tab.text("#checkin-count"); got != "1 checked in of 2 booked" {
		t.Errorf("after the second scan of the same ticket the count says %q, want 1 checked in of 2 booked", got)
	}

	// Without the script's answer in place, the page itself agrees once
	// reloaded.
	tab.load("reload the check-in page", chromedp.Reload())
	tab.waitVisible("#checkin-count")
	if got := tab.text("#checkin-count"); got != "1 checked in of 2 booked" {
		t.Errorf("reloaded, the check-in page's count says %q, want 1 checked in of 2 booked", got)
	}

	// The admin cancels the event, saying why: the booker is emailed and
	// the booking's page says it is cancelled.
	tab.load("open the events admin", chromedp.Navigate(events+"/admin/events"))
	tab.waitVisible(`main a[href^="/admin/events/"]`)
	edit := tab.eval(`(() => { const a = [...document.querySelectorAll('main a[href^="/admin/events/"]')].find(a => a.textContent.trim() === "Producers' open evening"); return a ? a.getAttribute("href") : ""; })()`)
	if edit == "" {
		t.Fatalf("the events admin does not list the producers' open evening:\n%s", tab.text("main"))
	}
	tab.load("open the event in the admin", chromedp.Navigate(events+edit))
	cancel := `form[action="` + edit + `/cancel"]`
	tab.waitVisible(cancel + ` input[name="reason"]`)
	tab.do("say why", chromedp.SendKeys(chromedp.CSS(cancel+` input[name="reason"]`), "The hall's roof is being mended."))
	tab.load("click Cancel this event", chromedp.Click(chromedp.CSS(cancel+` button[type="submit"]`)))
	tab.expectOn(events + "/admin/events")
	if got := tab.text("main"); !strings.Contains(got, "Producers' open evening is cancelled.") {
		t.Errorf("after cancelling, the admin says:\n%s", got)
	}
	msg := st.Mail.WaitFor(t, demo.AdminEmail, 10*time.Second)
	for i := 0; i < 3 && !strings.HasPrefix(msg.Subject, "Cancelled: "); i++ {
		msg = st.Mail.WaitFor(t, demo.AdminEmail, 10*time.Second)
	}
	if !strings.HasPrefix(msg.Subject, "Cancelled: Producers' open evening") || !strings.Contains(msg.Text, "your booking is cancelled: 2 places (Free place)") ||
		!strings.Contains(msg.Text, "The organiser's reason: The hall's roof is being mended.") {
		t.Fatalf("the email after cancelling: %q\n%s", msg.Subject, msg.Text)
	}
	tab.load("open the booking again", chromedp.Navigate(ticketPage))
	tab.waitVisible("main")
	if got := tab.text("main"); !strings.Contains(got, "This booking is cancelled.") || tab.present("img.ticket-qr") {
		t.Errorf("the cancelled booking's page says:\n%s", got)
	}
}

// signInKnownUser signs a user who already has a username in on service
// through its header's Sign in link and the link from the mail, and
// checks the service shows them signed in as name.
func (c *chromeTab) signInKnownUser(st *Stack, service, email, name string) {
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
	c.expectOn(home + "/")
	c.waitVisible(".account-name")
	if got := c.text(".account-name"); got != name {
		t.Fatalf("%s shows %q signed in, want %q", service, got, name)
	}
}
