package layout

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// sixServices returns the platform nav with current marked.
func sixServices(current string) []Link {
	links := []Link{
		{Name: "blog", Title: "Blog", URL: "http://blog.localhost:8001/"},
		{Name: "market", Title: "Market", URL: "http://market.localhost:8002/"},
		{Name: "cart", Title: "Cart", URL: "http://cart.localhost:8003/"},
		{Name: "events", Title: "Events", URL: "http://events.localhost:8004/"},
		{Name: "federation", Title: "Federation", URL: "http://federation.localhost:8005/"},
		{Name: "account", Title: "Account", URL: "http://account.localhost:8006/"},
	}
	for i := range links {
		links[i].Current = links[i].Name == current
	}
	return links
}

func blogPage() Page {
	return Page{
		Title:        "Hello",
		Service:      "blog",
		ServiceTitle: "Blog",
		Nav:          sixServices("blog"),
		Stylesheet:   "/static/site.0123abcd.css",
		Description:  "Posts from the cooperative",
	}
}

// mustRender renders c (with children, if any) and returns the raw HTML and
// its parsed tree.
func mustRender(tb testing.TB, c templ.Component, children templ.Component) (string, *html.Node) {
	tb.Helper()
	ctx := context.Background()
	if children != nil {
		ctx = templ.WithChildren(ctx, children)
	}
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		tb.Fatalf("render: %v", err)
	}
	doc, err := html.Parse(strings.NewReader(buf.String()))
	if err != nil {
		tb.Fatalf("parse rendered HTML: %v", err)
	}
	return buf.String(), doc
}

func text(s string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "<p>"+templ.EscapeString(s)+"</p>")
		return err
	})
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// findAll returns the elements under n for which match is true, in document
// order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			found = append(found, d)
		}
	}
	return found
}

func findOne(tb testing.TB, n *html.Node, what string, match func(*html.Node) bool) *html.Node {
	tb.Helper()
	found := findAll(n, match)
	if len(found) != 1 {
		tb.Fatalf("want exactly one %s, found %d", what, len(found))
	}
	return found[0]
}

func isElem(a atom.Atom) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.DataAtom == a }
}

func hasAttr(a atom.Atom, key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		v, ok := attr(n, key)
		return n.DataAtom == a && ok && v == val
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestBaseRendersDocument(t *testing.T) {
	raw, doc := mustRender(t, Base(blogPage()), text("Welcome to the blog"))

	if !strings.HasPrefix(strings.ToLower(raw), "<!doctype html>") {
		t.Errorf("document does not start with the HTML5 doctype: %.40q", raw)
	}
	if got := textOf(findOne(t, doc, "<title>", isElem(atom.Title))); got != "Hello · Rose Ash Blog" {
		t.Errorf("title = %q, want %q", got, "Hello · Rose Ash Blog")
	}
	if lang, _ := attr(findOne(t, doc, "<html>", isElem(atom.Html)), "lang"); lang != "en" {
		t.Errorf(`<html lang> = %q, want "en"`, lang)
	}
	findOne(t, doc, "stylesheet link", hasAttr(atom.Link, "href", "/static/site.0123abcd.css"))
	desc := findOne(t, doc, "meta description", hasAttr(atom.Meta, "name", "description"))
	if c, _ := attr(desc, "content"); c != "Posts from the cooperative" {
		t.Errorf("meta description = %q", c)
	}
	body := findOne(t, doc, "<body>", isElem(atom.Body))
	if s, _ := attr(body, "data-service"); s != "blog" {
		t.Errorf(`<body data-service> = %q, want "blog"`, s)
	}

	// The skip link is the first link on the page and leads to <main id="main">.
	links := findAll(doc, isElem(atom.A))
	if len(links) == 0 {
		t.Fatal("page has no links")
	}
	if href, _ := attr(links[0], "href"); href != "#main" || !strings.Contains(strings.ToLower(textOf(links[0])), "skip") {
		t.Errorf("first link is %q -> %q, want a skip link to #main", textOf(links[0]), href)
	}
	main := findOne(t, doc, "<main>", isElem(atom.Main))
	if id, _ := attr(main, "id"); id != "main" {
		t.Errorf(`<main id> = %q, want "main"`, id)
	}
	if !strings.Contains(textOf(main), "Welcome to the blog") {
		t.Errorf("children not rendered in <main>: %q", textOf(main))
	}

	// The header shows the brand and the service.
	header := findOne(t, doc, "site header", isElem(atom.Header))
	if got := textOf(header); !strings.Contains(got, "Rose Ash") || !strings.Contains(got, "Blog") {
		t.Errorf("header text %q lacks the brand and service title", got)
	}

	// The nav lists the six services in order, with aria-current only on the blog.
	nav := findOne(t, doc, "service nav", hasAttr(atom.Nav, "class", "site-nav"))
	if label, _ := attr(nav, "aria-label"); label == "" {
		t.Error("nav has no aria-label")
	}
	navLinks := findAll(nav, isElem(atom.A))
	want := sixServices("blog")
	if len(navLinks) != len(want) {
		t.Fatalf("nav has %d links, want %d", len(navLinks), len(want))
	}
	for i, a := range navLinks {
		href, _ := attr(a, "href")
		if href != want[i].URL || textOf(a) != want[i].Title {
			t.Errorf("nav link %d = %q -> %q, want %q -> %q", i, textOf(a), href, want[i].Title, want[i].URL)
		}
		cur, ok := attr(a, "aria-current")
		if want[i].Current && cur != "page" {
			t.Errorf("current service %q lacks aria-current=page", want[i].Name)
		}
		if !want[i].Current && ok {
			t.Errorf("service %q has aria-current=%q but is not current", want[i].Name, cur)
		}
	}

	findOne(t, doc, "site footer", isElem(atom.Footer))
}

func TestDocumentTitle(t *testing.T) {
	tests := []struct {
		name string
		page Page
		want string
	}{
		{"page and service", Page{Title: "Spring market", ServiceTitle: "Market"}, "Spring market · Rose Ash Market"},
		{"service home", Page{ServiceTitle: "Events"}, "Rose Ash Events"},
		{"nothing set", Page{}, "Rose Ash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.page.DocumentTitle(); got != tt.want {
				t.Errorf("DocumentTitle() = %q, want %q", got, tt.want)
			}
			_, doc := mustRender(t, Base(tt.page), nil)
			if got := textOf(findOne(t, doc, "<title>", isElem(atom.Title))); got != tt.want {
				t.Errorf("<title> = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBaseEscapesContent(t *testing.T) {
	p := blogPage()
	p.Title = `<script>alert("x")</script>`
	p.ServiceTitle = `<b>Blog</b>`
	p.Description = `"><script>alert(1)</script>`
	p.Nav[0].Title = `<img src=x onerror=alert(1)>`
	raw, doc := mustRender(t, Base(p), nil)

	if n := len(findAll(doc, isElem(atom.Script))); n != 0 {
		t.Errorf("page has %d <script> elements, want none:\n%s", n, raw)
	}
	if n := len(findAll(doc, isElem(atom.Img))) + len(findAll(doc, isElem(atom.B))); n != 0 {
		t.Errorf("markup from data was rendered as elements:\n%s", raw)
	}
	if !strings.Contains(raw, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; · Rose Ash") {
		t.Errorf("title not shown escaped:\n%s", raw)
	}
	if got := textOf(findOne(t, doc, "<title>", isElem(atom.Title))); got != `<script>alert("x")</script> · Rose Ash <b>Blog</b>` {
		t.Errorf("title text = %q", got)
	}
}

func TestBaseUsesHeaderAndFooterOverrides(t *testing.T) {
	p := blogPage()
	p.Header = text("custom header")
	p.Footer = text("custom footer")
	p.Head = templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<link rel="alternate" type="application/atom+xml" href="/feed.atom">`)
		return err
	})
	raw, doc := mustRender(t, Base(p), text("body"))

	if !strings.Contains(raw, "custom header") || !strings.Contains(raw, "custom footer") {
		t.Errorf("overrides not rendered:\n%s", raw)
	}
	if n := len(findAll(doc, isElem(atom.Nav))); n != 0 {
		t.Errorf("default header rendered despite override (%d navs)", n)
	}
	if n := len(findAll(doc, isElem(atom.Footer))); n != 0 {
		t.Errorf("default footer rendered despite override")
	}
	findOne(t, doc, "feed link in head", hasAttr(atom.Link, "href", "/feed.atom"))
	findOne(t, doc, "skip link", hasAttr(atom.A, "href", "#main"))
}

func TestErrorPage(t *testing.T) {
	p := Page{Service: "market", ServiceTitle: "Market", Nav: sixServices("market"), Stylesheet: "/static/site.css"}
	raw, doc := mustRender(t, ErrorPage(p, 404, "Page not found", "We couldn't find that stall.", "req-7f3a<9>"), nil)

	if got := textOf(findOne(t, doc, "<title>", isElem(atom.Title))); got != "Page not found · Rose Ash Market" {
		t.Errorf("title = %q", got)
	}
	main := findOne(t, doc, "<main>", isElem(atom.Main))
	body := textOf(main)
	for _, want := range []string{"404", "Not Found", "Page not found", "We couldn't find that stall.", "Reference: req-7f3a<9>"} {
		if !strings.Contains(body, want) {
			t.Errorf("error page lacks %q; main text: %q", want, body)
		}
	}
	if !strings.Contains(raw, "req-7f3a&lt;9&gt;") {
		t.Error("request id not escaped")
	}
	if h1 := textOf(findOne(t, main, "<h1>", isElem(atom.H1))); h1 != "Page not found" {
		t.Errorf("h1 = %q", h1)
	}
	home := findOne(t, main, "home link", hasAttr(atom.A, "href", "/"))
	if !strings.Contains(textOf(home), "Market") {
		t.Errorf("home link text %q does not name the service", textOf(home))
	}
	robots := findOne(t, doc, "robots meta", hasAttr(atom.Meta, "name", "robots"))
	if c, _ := attr(robots, "content"); c != "noindex" {
		t.Errorf("robots meta = %q, want noindex", c)
	}
	// The error page keeps the site chrome, so the user can navigate away.
	if n := len(findAll(findOne(t, doc, "service nav", hasAttr(atom.Nav, "class", "site-nav")), isElem(atom.A))); n != 6 {
		t.Errorf("error page nav has %d links, want 6", n)
	}
}

func TestErrorPageDefaults(t *testing.T) {
	p := Page{Service: "cart", ServiceTitle: "Cart", Nav: sixServices("cart")}
	_, doc := mustRender(t, ErrorPage(p, 500, "", "", ""), nil)

	main := textOf(findOne(t, doc, "<main>", isElem(atom.Main)))
	if !strings.Contains(main, "500") || !strings.Contains(main, "Internal Server Error") {
		t.Errorf("status not shown: %q", main)
	}
	if strings.Contains(main, "Reference") {
		t.Errorf("reference shown without a request id: %q", main)
	}
	if got := textOf(findOne(t, doc, "<title>", isElem(atom.Title))); got != "Internal Server Error · Rose Ash Cart" {
		t.Errorf("title = %q", got)
	}
}

func TestServiceCards(t *testing.T) {
	var others []Link
	for _, l := range sixServices("events") {
		if !l.Current {
			others = append(others, l)
		}
	}
	_, doc := mustRender(t, ServiceCards(others), nil)

	cards := findAll(doc, func(n *html.Node) bool {
		c, _ := attr(n, "class")
		return c == "card"
	})
	if len(cards) != 5 {
		t.Fatalf("got %d cards, want 5", len(cards))
	}
	for i, c := range cards {
		a := findOne(t, c, "card link", isElem(atom.A))
		if href, _ := attr(a, "href"); href != others[i].URL {
			t.Errorf("card %d links to %q, want %q", i, href, others[i].URL)
		}
		if !strings.Contains(textOf(c), ServiceSummary(others[i].Name)) {
			t.Errorf("card %d lacks its summary: %q", i, textOf(c))
		}
	}
}

func TestServiceSummaryCoversEveryService(t *testing.T) {
	for _, l := range sixServices("") {
		if ServiceSummary(l.Name) == "" {
			t.Errorf("no summary for %q", l.Name)
		}
	}
}

func TestStylesheetIsSelfContained(t *testing.T) {
	css, err := fs.ReadFile(Static, "static/site.css")
	if err != nil {
		t.Fatalf("read embedded stylesheet: %v", err)
	}
	s := string(css)
	// Nothing may be fetched at run time: the CSP is style-src 'self' and the
	// platform uses no web fonts or images in its chrome.
	for _, banned := range []string{"@import", "url(", "@font-face", "http://", "https://"} {
		if strings.Contains(s, banned) {
			t.Errorf("site.css contains %q", banned)
		}
	}
	for _, want := range []string{":focus-visible", "prefers-color-scheme: dark", "prefers-reduced-motion", `[data-service="blog"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("site.css lacks %q", want)
		}
	}
}

// headerLinks returns the header's links as text -> href, in order.
func headerLinks(t *testing.T, doc *html.Node) [][2]string {
	t.Helper()
	var out [][2]string
	for _, a := range findAll(findOne(t, doc, "site header", isElem(atom.Header)), isElem(atom.A)) {
		href, _ := attr(a, "href")
		out = append(out, [2]string{textOf(a), href})
	}
	return out
}

// A visitor's "Sign in" goes to the page's own service's sign-in path
// (federation's is /auth/signin), coming back to the page, even when the
// account service's menu fragment is there: only the page's service knows
// its sign-in path.
func TestVisitorSignInGoesToThisServicesSignIn(t *testing.T) {
	p := Page{Service: "federation", ServiceTitle: "Federation", Nav: sixServices("federation"),
		SignInURL:   "/auth/signin?next=%2Fhub%2F",
		AccountMenu: templ.Raw(`<div class="account-bar"><a class="account-signin" href="/auth/login">Sign in</a></div>`)}
	_, doc := mustRender(t, Base(p), text("hello"))
	var signIns []string
	for _, l := range headerLinks(t, doc) {
		if l[0] == "Sign in" {
			signIns = append(signIns, l[1])
		}
	}
	if len(signIns) != 1 || signIns[0] != "/auth/signin?next=%2Fhub%2F" {
		t.Fatalf("header Sign in links = %q, want just federation's /auth/signin?next=%%2Fhub%%2F", signIns)
	}

	// A signed-in user gets the account service's menu.
	p.SignInURL, p.Viewer = "", &Viewer{Name: "Ada"}
	p.AccountMenu = templ.Raw(`<div class="account-menu"><span class="account-name">Ada</span></div>`)
	raw, _ := mustRender(t, Base(p), text("hello"))
	if !strings.Contains(raw, `<span class="account-name">Ada</span>`) {
		t.Fatal("signed-in header lacks the account menu")
	}
}

// The header links each service once: the nav sits in a <details> menu
// (a button on a phone, working without JavaScript), and the cart summary
// stands in for the nav's Cart link rather than repeating it.
func TestHeaderLinksEachServiceOnceInAMenu(t *testing.T) {
	p := blogPage()
	p.CartMini = templ.Raw(`<div class="cart-mini"><a href="http://cart.localhost:8003/">Cart · 3 items · £17.50</a></div>`)
	p.SignInURL = "/auth/login?next=%2F"
	_, doc := mustRender(t, Base(p), text("hello"))
	menu := findOne(t, doc, "header menu", hasAttr(atom.Details, "class", "site-menu-toggle"))
	if s := findOne(t, menu, "menu button", isElem(atom.Summary)); textOf(s) != "Menu" {
		t.Errorf("menu button says %q", textOf(s))
	}
	findOne(t, menu, "service nav in the menu", hasAttr(atom.Nav, "class", "site-nav"))
	count := map[string]int{}
	for _, l := range headerLinks(t, doc) {
		for _, svc := range sixServices("") {
			if l[1] == svc.URL {
				count[svc.Name]++
			}
		}
	}
	for _, svc := range sixServices("") {
		if count[svc.Name] != 1 {
			t.Errorf("header links %s %d times, want once (links: %q)", svc.Title, count[svc.Name], headerLinks(t, doc))
		}
	}
	// The blog search is in the menu too.
	form := findOne(t, menu, "search form", hasAttr(atom.Form, "role", "search"))
	if a, _ := attr(form, "action"); a != "http://blog.localhost:8001/search" {
		t.Errorf("search form action = %q", a)
	}
}

// The footer offers the services, the blog's feeds, and the About and
// Contact pages.
func TestFooterHasServicesFeedsAndPages(t *testing.T) {
	_, doc := mustRender(t, Base(blogPage()), text("hello"))
	footer := findOne(t, doc, "site footer", isElem(atom.Footer))
	hrefs := map[string]string{}
	for _, a := range findAll(footer, isElem(atom.A)) {
		href, _ := attr(a, "href")
		hrefs[href] = textOf(a)
	}
	for _, want := range []string{"http://blog.localhost:8001/rss.xml", "http://blog.localhost:8001/atom.xml",
		"http://blog.localhost:8001/about", "http://blog.localhost:8001/contact", "http://market.localhost:8002/",
		"http://events.localhost:8004/", "http://account.localhost:8006/"} {
		if _, ok := hrefs[want]; !ok {
			t.Errorf("footer lacks a link to %s (has %v)", want, hrefs)
		}
	}
}
