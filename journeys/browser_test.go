package journeys

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"rose-ash.com/platform/shared/servicetest"
)

// chromiumPath is Debian's Chromium, which `make test` installs
// (scripts/deps.sh, ensure_chromium).
const chromiumPath = "/usr/bin/chromium"

// journeyTimeout bounds the whole journey in the browser; browserLifetime
// bounds the browser process itself, leaving time to save the evidence of a
// failure after the journey's deadline.
const (
	journeyTimeout  = 60 * time.Second
	browserLifetime = journeyTimeout + 30*time.Second
)

// A person, in a real headless Chromium, driven only through the pages:
// signs in on blog by magic link as a new user (choosing a display name
// and username), is signed in on cart with one click and no new mail, signs
// out on cart, and is then signed out of blog within the grant-check bound.
// The session cookies the browser keeps are host-only, HttpOnly and
// SameSite=Lax.
func TestBrowserSignInAcrossServices(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v); run `make test`, which installs it", chromiumPath, err)
	}
	began := time.Now()
	st := StartStack(t, "blog", "cart")
	stackUp := time.Now()
	tab := startChromium(t)
	defer func() {
		t.Logf("stack started in %s; browser and journey took %s",
			stackUp.Sub(began).Round(time.Millisecond), time.Since(stackUp).Round(time.Millisecond))
	}()
	const email, name = "ada@example.org", "Ada Lovelace"

	// The blog's header offers "Sign in"; it leads to federation's form.
	tab.load("open the blog", chromedp.Navigate(st.URL["blog"]+"/"))
	tab.waitVisible("a.account-signin")
	tab.load("click Sign in on the blog", chromedp.Click(chromedp.CSS("a.account-signin")))
	tab.expectOn(st.URL["federation"] + "/auth/signin")
	tab.waitVisible("input#email")
	tab.do("type the email", chromedp.SendKeys(chromedp.CSS("input#email"), email))
	tab.load("ask for a sign-in link", chromedp.Click(chromedp.CSS(`form[action="/auth/signin"] button[type="submit"]`)))
	tab.waitVisible("h1")
	if h := tab.text("h1"); h != "Check your email" {
		t.Fatalf("after asking for a link the page says %q, want \"Check your email\"", h)
	}

	// The link from the mail opens the welcome form for a new user.
	msg := st.Mail.WaitFor(t, email, 10*time.Second)
	link := magicLinkRE.FindString(msg.Text)
	if link == "" {
		t.Fatalf("no sign-in link in the mail:\n%s", msg.Text)
	}
	tab.load("open the link from the mail", chromedp.Navigate(link))
	tab.waitVisible(`form[action="/auth/magic"] button[type="submit"]`)
	tab.load("confirm the sign-in", chromedp.Click(chromedp.CSS(`form[action="/auth/magic"] button[type="submit"]`)))
	tab.expectOn(st.URL["federation"] + "/auth/welcome")
	tab.waitVisible("input#display_name")
	tab.waitVisible("input#username")
	tab.do("fill in the welcome form",
		chromedp.Clear(chromedp.CSS("input#display_name")),
		chromedp.SendKeys(chromedp.CSS("input#display_name"), name),
		chromedp.Clear(chromedp.CSS("input#username")),
		chromedp.SendKeys(chromedp.CSS("input#username"), "ada"),
	)
	tab.load("submit the welcome form", chromedp.Click(chromedp.CSS(`form[action="/auth/welcome"] button[type="submit"]`)))

	// Back on the blog, signed in.
	tab.expectOn(st.URL["blog"] + "/")
	tab.waitVisible(".account-name")
	if got := tab.text(".account-name"); got != name {
		t.Fatalf("blog shows %q signed in, want %q", got, name)
	}

	// One click signs in on cart: no form, no mail.
	mails := len(st.Mail.Messages())
	tab.load("open the cart", chromedp.Navigate(st.URL["cart"]+"/"))
	tab.waitVisible("a.account-signin")
	tab.load("click Sign in on the cart", chromedp.Click(chromedp.CSS("a.account-signin")))
	tab.expectOn(st.URL["cart"] + "/")
	tab.waitVisible(".account-name")
	if got := tab.text(".account-name"); got != name {
		t.Fatalf("cart shows %q signed in after one click, want %q", got, name)
	}
	if n := len(st.Mail.Messages()); n != mails {
		t.Fatalf("signing in on cart sent %d more mails, want none", n-mails)
	}

	// Each service keeps its own session cookie on its own host.
	tab.checkSessionCookies(st.URL["blog"], st.URL["cart"])

	// Sign out on cart.
	tab.waitVisible(".account-signout button")
	tab.load("click Sign out on the cart", chromedp.Click(chromedp.CSS(".account-signout button")))
	signedOut := time.Now()
	tab.expectOn(st.URL["cart"] + "/")
	tab.waitVisible("a.account-signin")
	if tab.present(".account-name") {
		t.Fatalf("cart still shows %q after signing out", tab.text(".account-name"))
	}

	// The blog forgets the user within the grant-check cache window.
	deadline := signedOut.Add(GrantCheckCache + time.Second)
	tab.load("open the blog again", chromedp.Navigate(st.URL["blog"]+"/"))
	for {
		tab.expectOn(st.URL["blog"] + "/")
		tab.waitReady("header")
		if !tab.present(".account-name") && tab.present("a.account-signin") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("blog still shows %q %s after signing out on cart (grant checks are cached for %s)",
				tab.text(".account-name"), time.Since(signedOut).Round(time.Millisecond), GrantCheckCache)
		}
		tab.load("reload the blog", chromedp.Reload())
	}
}

// chromeTab is one tab of a headless Chromium, with steps that fail the
// test when they fail.
type chromeTab struct {
	t   *testing.T
	ctx context.Context // the journey's deadline
}

// startChromium launches Chromium with a fresh profile and returns its
// tab. The browser is closed when the test ends; if the test has failed by
// then, a screenshot, the URL and the text of the page are saved first.
func startChromium(t *testing.T) *chromeTab {
	t.Helper()
	output := &servicetest.SyncBuffer{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		// Browsers resolve *.localhost to loopback by themselves, but say
		// so, so that nothing here can reach the network.
		chromedp.Flag("host-resolver-rules", "MAP *.localhost 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
		// No UserDataDir: chromedp then gives every browser a fresh
		// temporary profile (--user-data-dir=$TMPDIR/chromedp-runner...),
		// and removes it afterwards, killing any Chromium helper process
		// still using it, which it does not do for a directory we name.
	}
	life, stopLife := context.WithTimeout(context.Background(), browserLifetime)
	allocCtx, stopAlloc := chromedp.NewExecAllocator(life, opts...)
	logs := &servicetest.SyncBuffer{}
	logf := func(format string, args ...any) { fmt.Fprintf(logs, format+"\n", args...) }
	browserCtx, stopBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf), chromedp.WithLogf(logf))
	// The first Do starts the browser and binds it to browserCtx, so it
	// must not carry the journey's shorter deadline.
	if err := chromedp.Do(browserCtx); err != nil {
		stopBrowser()
		stopAlloc()
		stopLife()
		t.Fatalf("starting %s: %v\n%s", chromiumPath, err, lastLines(output.String(), 30))
	}
	ctx, stopJourney := context.WithTimeout(browserCtx, journeyTimeout)
	tab := &chromeTab{t: t, ctx: ctx}
	t.Cleanup(func() {
		stopJourney()
		if t.Failed() {
			tab.saveEvidence(browserCtx)
			if s := strings.TrimSpace(logs.String()); s != "" {
				t.Logf("--- chromedp log ---\n%s", lastLines(s, 30))
			}
			if s := strings.TrimSpace(output.String()); s != "" {
				t.Logf("--- chromium output ---\n%s", lastLines(s, 30))
			}
		}
		stopBrowser()
		stopAlloc() // waits for the browser process to exit
		stopLife()
	})
	return tab
}

// saveEvidence logs where the browser is and what it shows, and saves a
// screenshot of the whole page.
func (c *chromeTab) saveEvidence(browserCtx context.Context) {
	t := c.t
	ctx, cancel := context.WithTimeout(browserCtx, 10*time.Second)
	defer cancel()
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		t.Logf("browser at %s", loc)
	} else {
		t.Logf("browser location: %v", err)
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); err == nil {
		t.Logf("--- page text ---\n%s", lastLines(text, 60))
	} else {
		t.Logf("page text: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	path := filepath.Join(os.TempDir(), "journey-failure.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot saved to %s", path)
}

// do runs steps that do not load a page.
func (c *chromeTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// load runs steps that load a page (following redirects) and requires
// the page to load with status 200.
func (c *chromeTab) load(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	resp, err := chromedp.RunResponse(c.ctx, steps...)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	if resp == nil {
		c.t.Fatalf("%s: no page loaded", what)
	}
	if resp.Status != 200 {
		c.t.Fatalf("%s: %s answered %d", what, resp.URL, resp.Status)
	}
}

// expectOn requires the page's address to start with prefix.
func (c *chromeTab) expectOn(prefix string) {
	c.t.Helper()
	loc, err := chromedp.Run(c.ctx, chromedp.Location())
	if err != nil {
		c.t.Fatalf("reading the location: %v", err)
	}
	if !strings.HasPrefix(loc, prefix) {
		c.t.Fatalf("browser is at %s, want %s...", loc, prefix)
	}
}

func (c *chromeTab) waitVisible(css string) {
	c.t.Helper()
	c.do("wait for "+css+" to be visible", chromedp.WaitVisible(chromedp.CSS(css)))
}

func (c *chromeTab) waitReady(css string) {
	c.t.Helper()
	c.do("wait for "+css, chromedp.WaitReady(chromedp.CSS(css)))
}

// text is the visible text of the first element matching css.
func (c *chromeTab) text(css string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		c.t.Fatalf("reading %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

// present reports whether the loaded page has an element matching css,
// without waiting for one.
func (c *chromeTab) present(css string) bool {
	c.t.Helper()
	found, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, css)))
	if err != nil {
		c.t.Fatalf("looking for %s: %v", css, err)
	}
	return found
}

// checkSessionCookies requires each service to have exactly one cookie in
// the browser, its session: host-only on its own host, HttpOnly and
// SameSite=Lax; and no cookie to be set for a parent domain.
func (c *chromeTab) checkSessionCookies(bases ...string) {
	c.t.Helper()
	var urls []string
	for _, b := range bases {
		urls = append(urls, b+"/")
	}
	res, err := chromedp.Call(c.ctx, network.GetCookies, network.GetCookiesParams{URLs: urls})
	if err != nil {
		c.t.Fatalf("reading cookies: %v", err)
	}
	byHost := map[string][]*network.Cookie{}
	for _, ck := range res.Cookies {
		byHost[ck.Domain] = append(byHost[ck.Domain], ck)
		if strings.HasPrefix(ck.Domain, ".") {
			c.t.Errorf("cookie %s is set for the domain %s; sessions must be host-only", ck.Name, ck.Domain)
		}
	}
	for _, b := range bases {
		host := strings.TrimPrefix(b, "http://")
		host, _, _ = strings.Cut(host, ":")
		cookies := byHost[host]
		if len(cookies) != 1 {
			c.t.Errorf("%s has %d host-only cookies %s, want its one session cookie", host, len(cookies), cookieSummary(cookies))
			continue
		}
		ck := cookies[0]
		if !ck.HTTPOnly {
			c.t.Errorf("%s session cookie %s is not HttpOnly", host, ck.Name)
		}
		if ck.SameSite != network.CookieSameSiteLax {
			c.t.Errorf("%s session cookie %s has SameSite=%q, want Lax", host, ck.Name, ck.SameSite)
		}
		if ck.Path != "/" {
			c.t.Errorf("%s session cookie %s has Path=%q, want /", host, ck.Name, ck.Path)
		}
	}
}

func cookieSummary(cookies []*network.Cookie) string {
	var parts []string
	for _, ck := range cookies {
		parts = append(parts, fmt.Sprintf("%s(domain=%s)", ck.Name, ck.Domain))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
