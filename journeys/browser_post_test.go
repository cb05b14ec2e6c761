package journeys

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rose-ash.com/platform/shared/demo"
)

// The demo admin, in a real headless Chromium, signs in on the blog by
// magic link, writes a post in the rich-text editor (a paragraph with a
// phrase made bold from the toolbar), publishes it and saves; the post is
// then on the blog's home page and its own page, with the bold phrase in a
// <strong>.
func TestBrowserWritesAndPublishesAPost(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser journeys need Debian's Chromium at %s (%v); run `make test`, which installs it", chromiumPath, err)
	}
	began := time.Now()
	st := StartStack(t, "blog")
	seedDemo(t, st)
	stackUp := time.Now()
	tab := startChromium(t)
	defer func() {
		t.Logf("stack started in %s; browser and journey took %s",
			stackUp.Sub(began).Round(time.Millisecond), time.Since(stackUp).Round(time.Millisecond))
	}()
	const (
		title  = "Cider pressing weekend"
		slug   = "cider-pressing-weekend"
		plain  = "We press the orchard's apples on Saturday and Sunday. "
		bold   = "Bring your own bottles"
		adminN = "Rose Ash Admin"
	)

	// Sign in: the blog's "Sign in" leads to federation's form; the admin
	// already has a username, so the link from the mail leads straight back.
	tab.load("open the blog", chromedp.Navigate(st.URL["blog"]+"/"))
	tab.waitVisible("a.account-signin")
	tab.load("click Sign in on the blog", chromedp.Click(chromedp.CSS("a.account-signin")))
	tab.expectOn(st.URL["federation"] + "/auth/signin")
	tab.waitVisible("input#email")
	tab.do("type the email", chromedp.SendKeys(chromedp.CSS("input#email"), demo.AdminEmail))
	tab.load("ask for a sign-in link", chromedp.Click(chromedp.CSS(`form[action="/auth/signin"] button[type="submit"]`)))
	tab.waitVisible("h1")
	if h := tab.text("h1"); h != "Check your email" {
		t.Fatalf("after asking for a link the page says %q, want \"Check your email\"", h)
	}
	msg := st.Mail.WaitFor(t, demo.AdminEmail, 10*time.Second)
	link := magicLinkRE.FindString(msg.Text)
	if link == "" {
		t.Fatalf("no sign-in link in the mail:\n%s", msg.Text)
	}
	tab.load("open the link from the mail", chromedp.Navigate(link))
	tab.waitVisible(`form[action="/auth/magic"] button[type="submit"]`)
	tab.load("confirm the sign-in", chromedp.Click(chromedp.CSS(`form[action="/auth/magic"] button[type="submit"]`)))
	tab.expectOn(st.URL["blog"] + "/")
	tab.waitVisible(".account-name")
	if got := tab.text(".account-name"); got != adminN {
		t.Fatalf("blog shows %q signed in, want %q", got, adminN)
	}

	// A new post, in the editor that replaces the HTML textarea.
	tab.load("open the new post form", chromedp.Navigate(st.URL["blog"]+"/admin/posts/new"))
	tab.expectOn(st.URL["blog"] + "/admin/posts/new")
	tab.waitVisible("form[data-editor] input#title")
	tab.waitVisible("form[data-editor] .ProseMirror")
	tab.waitVisible(`form[data-editor] button[aria-label="Bold"]`)
	tab.do("type the title", chromedp.SendKeys(chromedp.CSS("input#title"), title))

	tab.do("click into the editor", chromedp.Click(chromedp.CSS(".ProseMirror")))
	tab.waitVisible(".ProseMirror.ProseMirror-focused")
	tab.do("type the paragraph", chromedp.KeyEvent(plain))
	tab.do("click Bold", chromedp.Click(chromedp.CSS(`button[aria-label="Bold"]`)))
	tab.waitVisible(`button[aria-label="Bold"][aria-pressed="true"]`)
	tab.do("type the bold phrase", chromedp.KeyEvent(bold))
	tab.waitVisible(".ProseMirror p strong")
	if got, want := tab.text(".ProseMirror"), plain+bold; got != strings.TrimSpace(want) {
		t.Fatalf("the editor holds %q, want %q", got, want)
	}
	if got := tab.text(".ProseMirror p strong"); got != bold {
		t.Fatalf("the editor's bold text is %q, want %q", got, bold)
	}

	tab.do("choose Published", chromedp.SetValue(chromedp.CSS("select#status"), "published"))
	if v, err := chromedp.Run(tab.ctx, chromedp.Value(chromedp.CSS("select#status"))); err != nil || v != "published" {
		t.Fatalf("status is %q (%v), want published", v, err)
	}
	tab.load("click Save", chromedp.Click(chromedp.CSS(`form[data-editor] button[type="submit"]`)))

	// Saved: the edit page, with the post as written.
	tab.expectOn(st.URL["blog"] + "/admin/posts/")
	tab.waitVisible("p.notice")
	if got := tab.text("p.notice"); got != "Saved." {
		t.Fatalf("after saving the page says %q, want \"Saved.\"", got)
	}
	if tab.present(".form-error") {
		t.Fatalf("saving reported a problem: %s", tab.text(".form-error"))
	}
	tab.waitVisible(".ProseMirror p strong")
	if got := tab.text(".ProseMirror p strong"); got != bold {
		t.Fatalf("the saved post's bold text in the editor is %q, want %q", got, bold)
	}

	// The blog's home page lists it; its title leads to the post.
	tab.load("open the blog home", chromedp.Navigate(st.URL["blog"]+"/"))
	tab.waitVisible(".post-list")
	titles, err := chromedp.Run(tab.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll(".post-list .card-title a"), a => a.textContent.trim())`))
	if err != nil {
		t.Fatalf("reading the home page's post titles: %v", err)
	}
	if !slices.Contains(titles, title) {
		t.Fatalf("the home page lists %q, not %q", titles, title)
	}
	postLink := `.post-list .card-title a[href="/` + slug + `"]`
	tab.waitVisible(postLink)
	tab.load("click the post's title", chromedp.Click(chromedp.CSS(postLink)))

	// The post page: the paragraph, with the bold phrase in a <strong>.
	tab.expectOn(st.URL["blog"] + "/" + slug)
	tab.waitVisible("article.post h1")
	if got := tab.text("article.post h1"); got != title {
		t.Fatalf("the post page's heading is %q, want %q", got, title)
	}
	tab.waitVisible(".post-body p")
	if got, want := tab.text(".post-body p"), strings.TrimSpace(plain+bold); got != want {
		t.Fatalf("the post's paragraph is %q, want %q", got, want)
	}
	tab.waitVisible(".post-body p strong")
	if got := tab.text(".post-body p strong"); got != bold {
		t.Fatalf("the post's <strong> holds %q, want %q", got, bold)
	}
}
