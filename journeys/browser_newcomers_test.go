package journeys

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/pagecache"
)

// startDemoStack runs every service on the seeded demo, its images in the
// services' media store.
func startDemoStack(t *testing.T) *Stack {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v)", chromiumPath, err)
	}
	dir := t.TempDir()
	st := StartStackWith(t, map[string]string{"MEDIA_DIR": dir}, "blog", "account", "cart", "events")
	store, err := media.NewDiskStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := demo.Seed(context.Background(), pool, store); err != nil {
		t.Fatal(err)
	}
	return st
}

// firstSignInLink is the href of the page's first link whose text is "Sign
// in", as the outside check finds it.
var firstSignInLink = regexp.MustCompile(`<a[^>]+href="([^"]+)"[^>]*>[^<]*Sign in`)

// A newcomer on a phone (375 px wide): federation's header "Sign in" leads
// to federation's sign-in form; the blog's header is a compact bar with a
// menu button that reveals each service once; the blog home has a search
// box, a visible feed link and pictures; an upcoming event leads to its
// page on the events service, whose home lists the same events.
func TestBrowserNewcomerOnAPhone(t *testing.T) {
	st := startDemoStack(t)
	tab := startChromium(t)
	tab.do("a phone's screen", chromedp.EmulateViewport(375, 800))

	// Federation's header Sign in answers 200 and is federation's form.
	b := NewBrowser(t)
	fed := b.Get(t, st.URL["federation"]+"/")
	m := firstSignInLink.FindStringSubmatch(fed.Body)
	if m == nil {
		t.Fatal("federation's home has no Sign in link")
	}
	href := htmlUnescape(m[1])
	if !strings.HasPrefix(href, "http") {
		href = st.URL["federation"] + href
	}
	if p := b.Get(t, href); p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/auth/signin"`) {
		t.Fatalf("federation's header Sign in (%s) answers %d at %s", href, p.Status, p.URL)
	}
	tab.load("open federation", chromedp.Navigate(st.URL["federation"]+"/"))
	tab.load("click the header's Sign in", chromedp.Click(chromedp.CSS("header a.account-signin")))
	tab.expectOn(st.URL["federation"] + "/auth/signin")
	tab.waitVisible("input#email")

	// The blog's header fits in a quarter of the screen, its menu closed.
	tab.load("open the blog", chromedp.Navigate(st.URL["blog"]+"/"))
	tab.waitVisible("header.site-header")
	height := tab.number(`document.querySelector("header.site-header").getBoundingClientRect().height`)
	if height > 800*0.25 {
		t.Errorf("the blog's header is %.0f px tall on a 375x800 screen, want at most a quarter (200)", height)
	}
	saveScreenshot(t, tab, "newcomer-375-closed.png")
	if tab.number(`[...document.querySelectorAll("header .site-nav a")].filter(a => a.checkVisibility()).length`) != 0 {
		t.Error("the service links show before the menu is opened")
	}
	tab.do("open the menu", chromedp.Click(chromedp.CSS("header details.site-menu-toggle > summary")))
	saveScreenshot(t, tab, "newcomer-375-open.png")
	for _, name := range config.Services {
		base := strings.TrimSuffix(st.URL[name], "/") + "/"
		n := tab.number(fmt.Sprintf(`[...document.querySelectorAll("header a:not(.brand)")].filter(a => a.href === %q).length`, base))
		if n != 1 {
			t.Errorf("the header links %s %v times, want once", name, n)
		}
		visible := tab.number(fmt.Sprintf(`[...document.querySelectorAll("header a:not(.brand)")].filter(a => a.href === %q && a.checkVisibility()).length`, base))
		if visible != 1 {
			t.Errorf("with the menu open, the link to %s is not visible", name)
		}
	}

	// The blog home: a search box, a visible feed link, pictures that load.
	home := b.Get(t, st.URL["blog"]+"/")
	if !regexp.MustCompile(`(?i)<form[^>]+action="[^"]*search`).MatchString(home.Body) {
		t.Error("the blog home has no search form")
	}
	if !regexp.MustCompile(`(?i)<a[^>]+href="[^"]*(rss|atom|feed)[^"]*"`).MatchString(home.Body) {
		t.Error("the blog home has no feed link")
	}
	if n := tab.number(`[...document.querySelectorAll("footer a")].filter(a => /rss|atom/.test(a.href) && a.checkVisibility()).length`); n < 1 {
		t.Error("no feed link can be seen in the blog's footer")
	}
	loaded := tab.number(`Promise.all([...document.querySelectorAll("img.feature-image")].map(i => { i.loading = "eager"; return i.decode().then(() => i.naturalWidth > 0, () => false) })).then(r => r.filter(Boolean).length)`)
	if loaded < 4 {
		t.Errorf("%v feature images load on the blog home, want the demo posts' pictures", loaded)
	}
	tab.do("search the blog", chromedp.SendKeys(chromedp.CSS("#site-search-q"), "sourdough"))
	tab.load("submit the search", chromedp.Submit(chromedp.CSS("#site-search-q")))
	tab.expectOn(st.URL["blog"] + "/search?q=sourdough")
	if !strings.Contains(tab.text("main"), "Bread-making workshop") {
		t.Error("searching for sourdough does not find the bread-making post")
	}

	// An upcoming event on the blog home leads to its page on the events
	// service, and the events home lists the same events (the upcoming
	// fragment shows the next five dates).
	// A page rendered while a fragment missed its deadline (the events
	// service still starting on a busy machine) is kept only a moment
	// (pagecache.DegradedTTL): a reader reloading sees the events.
	upcomingRE := regexp.MustCompile(`<a href="([^"]+/events/[^"]+)"><strong>([^<]+)</strong>`)
	upcoming := upcomingRE.FindAllStringSubmatch(home.Body, -1)
	for deadline := time.Now().Add(15 * time.Second); len(upcoming) == 0 && time.Now().Before(deadline); {
		time.Sleep(pagecache.DegradedTTL)
		upcoming = upcomingRE.FindAllStringSubmatch(b.Get(t, st.URL["blog"]+"/").Body, -1)
	}
	if len(upcoming) != 5 {
		t.Fatalf("the blog home links %d upcoming events, want the next 5 of the %d demo events", len(upcoming), len(demo.Events))
	}
	events := b.Get(t, st.URL["events"]+"/")
	for _, u := range upcoming {
		if !strings.Contains(events.Body, htmlUnescape(u[2])) && !strings.Contains(events.Body, u[2]) {
			t.Errorf("the events home does not list %q, which the blog home shows", u[2])
		}
	}
	// On a wide screen the services show without opening anything.
	tab.do("a wide screen", chromedp.EmulateViewport(1280, 900))
	tab.load("open the blog wide", chromedp.Navigate(st.URL["blog"]+"/"))
	saveScreenshot(t, tab, "newcomer-1280.png")
	if n := tab.number(`[...document.querySelectorAll("header .site-nav a")].filter(a => a.checkVisibility()).length`); n != float64(len(config.Services)) {
		t.Errorf("on a wide screen %v service links show at once, want %d", n, len(config.Services))
	}

	tab.load("follow the first upcoming event", chromedp.Navigate(htmlUnescape(upcoming[0][1])))
	if got := tab.text("h1"); !strings.Contains(got, htmlUnescape(upcoming[0][2])) {
		t.Errorf("the event's page is headed %q, want %q", got, upcoming[0][2])
	}
}

// A signed-in member finds pages that agree: the basket page lists what the
// header's cart summary counts, the account page greets them, and an admin
// reading a post sees an Edit link that opens the editor.
func TestSignedInPagesAgree(t *testing.T) {
	st := startDemoStack(t)
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", demo.AdminEmail, "admin")

	post := b.Get(t, st.URL["blog"]+"/meet-the-growers-at-hollow-lane-farm")
	edit := regexp.MustCompile(`<a class="post-edit" href="([^"]+)">Edit</a>`).FindStringSubmatch(post.Body)
	if edit == nil {
		t.Fatal("an admin reading a post sees no Edit link")
	}
	if p := b.Get(t, st.URL["blog"]+edit[1]); p.Status != 200 || !strings.Contains(p.Body, "Meet the growers at Hollow Lane Farm") {
		t.Errorf("the Edit link %s: %d", edit[1], p.Status)
	}
	if anon := NewBrowser(t).Get(t, st.URL["blog"]+"/meet-the-growers-at-hollow-lane-farm"); strings.Contains(anon.Body, "post-edit") {
		t.Error("a visitor sees the Edit link")
	}

	cart := b.Get(t, st.URL["cart"]+"/auth/login?next=/")
	if SignedInAs(cart) != "Rose Ash Admin" {
		t.Fatalf("not signed in on cart: %q", SignedInAs(cart))
	}
	mini := cartMini(cart)
	if !strings.Contains(mini, "3 items") || !strings.Contains(mini, "£17.50") {
		t.Fatalf("the header's cart summary says %q", mini)
	}
	for _, l := range demo.AdminCart {
		if !strings.Contains(cart.Body, `">`+l.Title+`</a></td>`) {
			t.Errorf("the basket page lacks %q, which the header counts", l.Title)
		}
	}
	if !strings.Contains(cart.Body, "<td>3 items</td><td>£17.50</td>") {
		t.Error("the basket page's total differs from the header's 3 items · £17.50")
	}

	account := b.Get(t, st.URL["account"]+"/auth/login?next=/")
	if !strings.Contains(account.Body, "<h1>Hello, Rose Ash Admin</h1>") {
		t.Errorf("the account page does not greet the signed-in user:\n%s", between(account.Body, "<main", "</main>"))
	}
	if strings.Contains(account.Body, "once you sign in") || strings.Contains(account.Body, "once you're signed in") {
		t.Error("the account page tells a signed-in user to sign in")
	}
	if !strings.Contains(account.Body, "3 items in your basket") {
		t.Error("the account page does not show the basket the header counts")
	}
}

// number evaluates a JavaScript expression (awaiting a promise) that gives
// a number.
func (c *chromeTab) number(js string) float64 {
	c.t.Helper()
	n, err := chromedp.Run(c.ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("evaluating %s: %v", js, err)
	}
	return n
}

// saveScreenshot saves what the tab shows to the temporary directory, for
// a person to look at.
func saveScreenshot(t *testing.T, c *chromeTab, name string) {
	t.Helper()
	png, err := chromedp.Run(c.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	_ = os.WriteFile(os.TempDir()+"/"+name, png, 0o644)
}
