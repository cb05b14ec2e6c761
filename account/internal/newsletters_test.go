package internal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/ratelimit"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/web"
)

const bounceSecret = "bounce-s3cret"

// newsletterDesk is the account service (NewServer) with the demo's lists,
// its subscription mails worked by a River client into a DirSink.
type newsletterDesk struct {
	db     *pgxpool.Pool
	site   *web.Site
	store  *newsletters.Store
	sink   *mail.DirSink
	srv    *httptest.Server
	member models.User
	news   newsletters.List
}

// startStore gives d its mail sink, its server (not started yet; its
// address is the account's base URL, which the signed links name) and a
// newsletters store whose mails a River client works into the sink.
func (d *newsletterDesk) startStore(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var err error
	if d.sink, err = mail.NewDirSink(t.TempDir(), "Rose Ash <noreply@rose-ash.test>"); err != nil {
		t.Fatal(err)
	}
	d.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + d.srv.Listener.Addr().String()
	svc := d.site.Config.Services["account"]
	svc.PublicURL, svc.InternalURL = base, base
	d.site.Config.Services["account"] = svc

	worker := &newsletters.MailWorker{Sender: d.sink}
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	jobs, err := river.NewClient(riverpgxv5.New(d.db), &river.Config{Workers: workers,
		Queues: map[string]river.QueueConfig{newsletters.MailQueue: {MaxWorkers: 1}}, FetchPollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.store = newsletters.New(d.db, jobs, newsletters.Links{Key: []byte("test-links"), Base: base, Mailto: "unsubscribe@rose-ash.test"})
	worker.Store = d.store
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jobs.Stop(context.Background()) })

}

// mustList makes a list through the store.
func (d *newsletterDesk) mustList(t *testing.T, in newsletters.ListInput) newsletters.List {
	t.Helper()
	l, err := d.store.CreateList(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newNewsletterDesk(t *testing.T) *newsletterDesk {
	t.Helper()
	ctx := context.Background()
	d := &newsletterDesk{db: pgtest.MustPool(t), site: testSite(t)}
	d.startStore(t)
	d.news = d.mustList(t, newsletters.ListInput{Slug: "news", Name: "Rose Ash news", Description: "What the cooperative is up to.", Public: true, DoubleOptIn: true})
	d.mustList(t, newsletters.ListInput{Slug: "market-days", Name: "Market days", Public: true})
	d.mustList(t, newsletters.ListInput{Slug: "board", Name: "Board minutes", DoubleOptIn: true})

	d.member = models.User{Email: "mia@example.org", DisplayName: "Mia"}
	if err := d.db.QueryRow(ctx, `INSERT INTO users (email, display_name) VALUES ($1, $2) RETURNING id`, d.member.Email, d.member.DisplayName).Scan(&d.member.ID); err != nil {
		t.Fatal(err)
	}
	handler := NewServer(Deps{Site: d.site, Auth: oauth.NewClient(d.site, scs.New(), nil, http.DefaultClient), Carts: carts.New(d.db),
		Orders: orders.New(d.db, products.New(d.db)), Bookings: bookings.New(d.db), DB: d.db,
		Newsletters: d.store, BounceSecret: bounceSecret})
	d.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil && id == d.member.ID {
			r = r.WithContext(web.WithViewer(r.Context(), d.member))
		}
		handler.ServeHTTP(w, r)
	})
	d.srv.Start()
	t.Cleanup(d.srv.Close)
	return d
}

// do sends a request with a form body (nil: none) and the given headers,
// without following redirects; it returns the response and its body.
func (d *newsletterDesk) do(t *testing.T, method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = d.srv.URL + path
	}
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// waitMail waits for a mail to addr whose subject contains subject and
// returns it parsed and raw.
func (d *newsletterDesk) waitMail(t *testing.T, addr, subject string) (mail.Stored, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, err := d.sink.List(0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			if strings.Contains(m.To, addr) && strings.Contains(m.Subject, subject) {
				raw, err := os.ReadFile(filepath.Join(d.sink.Dir(), m.Name))
				if err != nil {
					t.Fatal(err)
				}
				return m, string(raw)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no mail %q to %s within 10s", subject, addr)
	return mail.Stored{}, ""
}

func (d *newsletterDesk) mailsTo(t *testing.T, addr string) int {
	t.Helper()
	list, err := d.sink.List(0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range list {
		if strings.Contains(m.To, addr) {
			n++
		}
	}
	return n
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// A visitor subscribes at /newsletters, confirms by the mailed link, gets
// the welcome list message, and leaves by RFC 8058 one-click: a POST with
// no session, cookie or Origin, answered 200, twice.
func TestVisitorSubscribesConfirmsAndUnsubscribesByOneClick(t *testing.T) {
	d := newNewsletterDesk(t)
	res, page := d.do(t, "GET", "/newsletters", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(page, "Rose Ash news") || !strings.Contains(page, "Market days") ||
		!strings.Contains(page, `name="email"`) || !strings.Contains(page, "Subscribe to Rose Ash news") {
		t.Fatalf("/newsletters: %d\n%s", res.StatusCode, page)
	}
	if strings.Contains(page, "Board minutes") {
		t.Errorf("a private list is offered")
	}
	if i, j := strings.Index(page, "Rose Ash news"), strings.Index(page, "Market days"); i > j {
		t.Errorf("the lists are not in the order they were made")
	}

	for addr, want := range map[string]string{"not-an-address": "one email address", "joe@mailinator.com": "Please use a permanent address"} {
		res, page := d.do(t, "POST", "/newsletters/subscribe", url.Values{"list": {"news"}, "email": {addr}}, nil)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, want) || !strings.Contains(page, `value="`+addr+`"`) {
			t.Errorf("subscribing %q: %d, want 422 with %q and the address kept", addr, res.StatusCode, want)
		}
	}

	addr := "vic@example.org"
	res, page = d.do(t, "POST", "/newsletters/subscribe", url.Values{"list": {"news"}, "email": {addr}},
		map[string]string{"User-Agent": "TestBrowser/1", "Referer": d.srv.URL + "/newsletters"})
	if res.StatusCode != 200 || !strings.Contains(page, "Check your inbox") {
		t.Fatalf("subscribe: %d\n%s", res.StatusCode, page)
	}
	confirm, _ := d.waitMail(t, addr, "Confirm")
	var link string
	for _, l := range linkRE.FindAllString(confirm.Text, -1) {
		if strings.Contains(l, "/newsletters/confirm") {
			link = l
		}
	}
	if link == "" {
		t.Fatalf("no confirm link in the plain text:\n%s", confirm.Text)
	}
	// Asking again sends nothing more and says so.
	if _, page := d.do(t, "POST", "/newsletters/subscribe", url.Values{"list": {"news"}, "email": {addr}}, nil); !strings.Contains(page, "a few minutes ago") {
		t.Errorf("the second subscribe does not say the link went already")
	}

	res, page = d.do(t, "GET", link, nil, nil)
	if res.StatusCode != 200 || !strings.Contains(page, "Subscription confirmed") {
		t.Fatalf("confirm: %d\n%s", res.StatusCode, page)
	}
	welcome, raw := d.waitMail(t, addr, "Welcome")
	if !strings.Contains(raw, "List-Unsubscribe-Post: List-Unsubscribe=One-Click") || !strings.Contains(raw, "List-Id: Rose Ash news <news.lists.127.0.0.1>") {
		t.Fatalf("the welcome has no one-click headers:\n%s", raw)
	}
	if !strings.Contains(welcome.Text, "/newsletters/preferences?t=") || welcome.HTML == "" {
		t.Errorf("the welcome's footer has no preferences link")
	}
	unsub := regexp.MustCompile(`List-Unsubscribe: <(http[^>]+)>`).FindStringSubmatch(strings.ReplaceAll(raw, "\r\n ", " "))
	if unsub == nil {
		t.Fatalf("no List-Unsubscribe link:\n%s", raw)
	}
	if d.mailsTo(t, addr) != 2 {
		t.Errorf("%d mails, want the confirmation and the welcome", d.mailsTo(t, addr))
	}

	// The unsubscribe page's GET changes nothing.
	res, page = d.do(t, "GET", unsub[1], nil, nil)
	if res.StatusCode != 200 || !strings.Contains(page, "<button type=\"submit\">Unsubscribe</button>") {
		t.Errorf("unsubscribe page: %d\n%s", res.StatusCode, page)
	}
	if ls, _ := d.store.MemberLists(context.Background(), uuid.Nil, addr); !ls[0].Subscribed() {
		t.Fatalf("a GET of the unsubscribe link unsubscribed")
	}
	for i := range 2 {
		res, page := d.do(t, "POST", unsub[1], url.Values{"List-Unsubscribe": {"One-Click"}}, nil)
		if res.StatusCode != 200 || res.Header.Get("Set-Cookie") != "" {
			t.Fatalf("one-click POST #%d: %d (cookie %q)\n%s", i+1, res.StatusCode, res.Header.Get("Set-Cookie"), page)
		}
	}
	if ls, _ := d.store.MemberLists(context.Background(), uuid.Nil, addr); ls[0].Status != newsletters.StatusUnsubscribed {
		t.Errorf("after one-click the subscription is %q", ls[0].Status)
	}
	var sources []string
	rows, _ := d.db.Query(context.Background(), `SELECT action || ':' || source || ':' || user_agent FROM newsletter_consents ORDER BY id`)
	sources, _ = pgx.CollectRows(rows, pgx.RowTo[string])
	want := []string{"subscribe:" + d.srv.URL + "/newsletters:TestBrowser/1", "confirm:confirmation link:Go-http-client/1.1", "unsubscribe:one-click:Go-http-client/1.1"}
	if strings.Join(sources, "|") != strings.Join(want, "|") {
		t.Errorf("consent log %q, want %q", sources, want)
	}
}

// Links that do not work get their own pages: expired 410 with a way to
// a new one, tampered 400.
func TestNewsletterLinksExpiredAndTampered(t *testing.T) {
	d := newNewsletterDesk(t)
	r, err := d.store.Subscribe(context.Background(), newsletters.SubscribeRequest{Email: "old@example.org", ListID: d.news.ID})
	if err != nil {
		t.Fatal(err)
	}
	expired := d.store.Links.Sign(newsletters.Token{Purpose: newsletters.PurposeConfirm, SubscriberID: r.SubscriberID, ListID: d.news.ID,
		Expires: time.Now().Add(-time.Hour)})
	res, page := d.do(t, "GET", "/newsletters/confirm?t="+expired, nil, nil)
	if res.StatusCode != http.StatusGone || !strings.Contains(page, "This link has expired") || !strings.Contains(page, "Send me a new link") {
		t.Fatalf("expired: %d\n%s", res.StatusCode, page)
	}
	d.waitMail(t, "old@example.org", "Confirm")
	for _, path := range []string{"/newsletters/confirm?t=" + expired[:len(expired)-2] + "AA", "/newsletters/unsubscribe?t=nonsense", "/newsletters/preferences?t="} {
		res, page := d.do(t, "GET", path, nil, nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "This link is not valid") {
			t.Errorf("%s: %d\n%s", path, res.StatusCode, page)
		}
	}
	if res, _ := d.do(t, "POST", "/newsletters/unsubscribe?t=nonsense", url.Values{"List-Unsubscribe": {"One-Click"}}, nil); res.StatusCode != 400 {
		t.Errorf("one-click with a bad token: %d", res.StatusCode)
	}
}

// A member subscribes from the dashboard's Newsletters section without a
// confirmation mail; the export holds the subscription and its consent.
func TestMemberManagesNewslettersOnTheDashboard(t *testing.T) {
	d := newNewsletterDesk(t)
	who := map[string]string{testUserHeader: d.member.ID.String()}
	res, page := d.do(t, "GET", "/", nil, who)
	if res.StatusCode != 200 || !regexp.MustCompile(`<h2[^>]*>Newsletters`).MatchString(page) || !strings.Contains(page, "Subscribe to Rose Ash news") {
		t.Fatalf("dashboard: %d\n%s", res.StatusCode, page)
	}
	if strings.Contains(page, "Board minutes") {
		t.Errorf("the dashboard offers a private list")
	}
	res, _ = d.do(t, "POST", "/newsletters/dashboard", url.Values{"list": {"news"}, "action": {"subscribe"}}, who)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/#newsletters" {
		t.Fatalf("dashboard subscribe: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	d.waitMail(t, d.member.Email, "Welcome")
	if n := d.mailsTo(t, d.member.Email); n != 1 {
		t.Errorf("%d mails to the member, want the welcome only", n)
	}
	_, page = d.do(t, "GET", "/", nil, who)
	if !strings.Contains(page, "Unsubscribe from Rose Ash news") {
		t.Errorf("after subscribing the dashboard offers no Unsubscribe")
	}
	// /newsletters fills in the member's address.
	if _, page := d.do(t, "GET", "/newsletters", nil, who); !strings.Contains(page, `value="mia@example.org"`) {
		t.Errorf("/newsletters does not fill in the member's address")
	}
	res, body := d.do(t, "GET", "/export.json", nil, who)
	var x struct {
		Newsletters newsletters.Export `json:"newsletters"`
	}
	if err := json.Unmarshal([]byte(body), &x); err != nil || res.StatusCode != 200 {
		t.Fatalf("export: %d %v", res.StatusCode, err)
	}
	if len(x.Newsletters.Subscriptions) != 1 || x.Newsletters.Subscriptions[0].Status != "confirmed" ||
		len(x.Newsletters.ConsentLog) != 2 || x.Newsletters.ConsentLog[0].Source != "dashboard" {
		t.Errorf("export's newsletters: %+v", x.Newsletters)
	}
	res, _ = d.do(t, "POST", "/newsletters/dashboard", url.Values{"list": {"news"}, "action": {"unsubscribe"}}, who)
	if ls, _ := d.store.MemberLists(context.Background(), d.member.ID, d.member.Email); res.StatusCode != 303 || ls[0].Subscribed() {
		t.Errorf("dashboard unsubscribe: %d %+v", res.StatusCode, ls[0])
	}
	// A visitor is sent to sign in; nothing changes.
	if res, _ := d.do(t, "POST", "/newsletters/dashboard", url.Values{"list": {"news"}, "action": {"subscribe"}}, nil); res.Header.Get("Location") == "/#newsletters" {
		t.Errorf("a visitor's dashboard post was accepted")
	}
	if ls, _ := d.store.MemberLists(context.Background(), d.member.ID, d.member.Email); ls[0].Subscribed() {
		t.Errorf("a visitor's dashboard post subscribed the member")
	}
}

// The blog's widget posts across origins: the platform's blog is trusted,
// another site is refused.
func TestNewsletterWidgetPostsFromTheBlog(t *testing.T) {
	d := newNewsletterDesk(t)
	req, _ := http.NewRequest("GET", d.srv.URL+"/internal/fragments/newsletter?ref=news", nil)
	req.Header.Set(fragments.SecretHeader, fragments.Secret(d.site.Config.SecretKey))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	frag := string(raw)
	if res.StatusCode != 200 || !strings.Contains(frag, "Rose Ash news") || !strings.Contains(frag, `action="`+d.srv.URL+`/newsletters/subscribe"`) {
		t.Fatalf("fragment: %d\n%s", res.StatusCode, frag)
	}
	req, _ = http.NewRequest("GET", d.srv.URL+"/internal/fragments/newsletter?ref=board", nil)
	req.Header.Set(fragments.SecretHeader, fragments.Secret(d.site.Config.SecretKey))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Errorf("a private list's widget: %v %v", res.StatusCode, err)
	}

	blog := d.site.Config.Service("blog").PublicURL
	res, page := d.do(t, "POST", "/newsletters/subscribe", url.Values{"list": {"market-days"}, "email": {"wid@example.org"}, "source": {blog + "/"}},
		map[string]string{"Origin": blog, "Sec-Fetch-Site": "same-site", "Referer": blog + "/posts/hello/"})
	if res.StatusCode != 200 || !strings.Contains(page, "Subscribed") {
		t.Fatalf("a post from the blog's widget: %d\n%s", res.StatusCode, page)
	}
	var source string
	_ = d.db.QueryRow(context.Background(), `SELECT source FROM newsletter_consents ORDER BY id LIMIT 1`).Scan(&source)
	if source != blog+"/posts/hello/" {
		t.Errorf("consent source %q, want the blog page", source)
	}
	res, _ = d.do(t, "POST", "/newsletters/subscribe", url.Values{"list": {"market-days"}, "email": {"evil@example.org"}},
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a post from another site: %d, want 403", res.StatusCode)
	}
}

// The relay's bounce webhook needs the secret, explains bad JSON, and
// records a batch.
func TestBounceWebhook(t *testing.T) {
	d := newNewsletterDesk(t)
	post := func(auth, body string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", d.srv.URL+"/newsletters/webhooks/bounces", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	ok := `[{"email":"gone@example.org","type":"hard","detail":"550 5.1.1"},{"email":"full@example.org","type":"soft","campaign_id":"` + uuid.NewString() + `"}]`
	for _, auth := range []string{"", "Bearer wrong", bounceSecret} {
		if res, _ := post(auth, ok); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("auth %q: %d, want 401", auth, res.StatusCode)
		}
	}
	for body, want := range map[string]string{
		`{"email":`: "not a JSON bounce report",
		`[{"email":"a@example.org","type":"bounced"}]`:              "Report 1: The bounce's type must be hard, soft or complaint.",
		`{"email":"a@example.org","type":"hard","campaign_id":"x"}`: "campaign_id is not a UUID",
	} {
		res, got := post("Bearer "+bounceSecret, body)
		var p struct{ Detail string }
		_ = json.Unmarshal([]byte(got), &p)
		if res.StatusCode != 400 || res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(p.Detail, want) {
			t.Errorf("body %s: %d %s, want 400 saying %q", body, res.StatusCode, got, want)
		}
	}
	res, got := post("Bearer "+bounceSecret, ok)
	if res.StatusCode != 200 || !strings.Contains(got, `"recorded":2`) || !strings.Contains(got, `"suppressed":["gone@example.org"]`) {
		t.Fatalf("batch: %d %s", res.StatusCode, got)
	}
	if s, _ := d.store.Suppressed(context.Background(), "gone@example.org"); !s {
		t.Errorf("a hard bounce did not suppress")
	}
	if s, _ := d.store.Suppressed(context.Background(), "full@example.org"); s {
		t.Errorf("one soft bounce suppressed")
	}
	// The suppressed address is refused with a sentence.
	if res, page := d.do(t, "POST", "/newsletters/subscribe", url.Values{"list": {"news"}, "email": {"gone@example.org"}}, nil); res.StatusCode != 422 || !strings.Contains(page, "another address") {
		t.Errorf("subscribing a suppressed address: %d", res.StatusCode)
	}
}

// The preferences link manages every list without signing in; a private
// list cannot be joined from a form.
func TestPreferencesPageManagesEveryList(t *testing.T) {
	d := newNewsletterDesk(t)
	r, err := d.store.Subscribe(context.Background(), newsletters.SubscribeRequest{Email: "pam@example.org", ListID: d.news.ID})
	if err != nil {
		t.Fatal(err)
	}
	prefs := d.store.Links.PreferencesURL(r.SubscriberID)
	res, page := d.do(t, "GET", prefs, nil, nil)
	if res.StatusCode != 200 || !strings.Contains(page, "pam@example.org") || !strings.Contains(page, "Subscribe to Market days") ||
		!strings.Contains(page, "Unsubscribe from Rose Ash news") || strings.Contains(page, "Board minutes") {
		t.Fatalf("preferences: %d\n%s", res.StatusCode, page)
	}
	res, page = d.do(t, "POST", prefs, url.Values{"list": {"market-days"}, "action": {"subscribe"}}, nil)
	if res.StatusCode != 200 || !strings.Contains(page, "You now receive Market days.") || !strings.Contains(page, "Unsubscribe from Market days") {
		t.Fatalf("subscribing from preferences: %d\n%s", res.StatusCode, page)
	}
	d.waitMail(t, "pam@example.org", "Welcome to Market days")
	res, page = d.do(t, "POST", prefs, url.Values{"list": {"news"}, "action": {"unsubscribe"}}, nil)
	if res.StatusCode != 200 || !strings.Contains(page, "You no longer receive Rose Ash news.") {
		t.Fatalf("unsubscribing from preferences: %d\n%s", res.StatusCode, page)
	}
	if res, _ := d.do(t, "POST", "/newsletters/subscribe", url.Values{"list": {"board"}, "email": {"pam@example.org"}}, nil); res.StatusCode != 404 {
		t.Errorf("subscribing to a private list: %d, want 404", res.StatusCode)
	}
}

// A client address asking for more subscriptions in an hour than
// newsletters.subscribe_per_ip gets 429 with Retry-After and a sentence,
// and nothing is subscribed (nor mailed) for the request refused; another
// address is still served.
func TestSubscribeRequestsAreLimitedPerAddress(t *testing.T) {
	d := newNewsletterDesk(t)
	d.site.Config.Newsletters.SubscribePerIP = 2
	limiter := ratelimit.New(servicetest.MustRedis(t), cache.Namespace(fmt.Sprintf("acctlimit%d", time.Now().UnixNano())))
	subscribe := limitSubscriptions(d.site, limiter)(subscribeNewsletter(d.site, d.store))
	post := func(from, email string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/newsletters/subscribe",
			strings.NewReader(url.Values{"list": {"news"}, "email": {email}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = from + ":40000"
		rec := httptest.NewRecorder()
		subscribe.ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if rec := post("203.0.113.7", fmt.Sprintf("reader%d@example.org", i)); rec.Code != http.StatusOK {
			t.Fatalf("subscription %d: %d\n%s", i+1, rec.Code, rec.Body)
		}
	}
	rec := post("203.0.113.7", "victim@example.org")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Too many subscriptions") {
		t.Fatalf("the third request from one address: %d, Retry-After %q\n%s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	var n int
	if err := d.db.QueryRow(context.Background(), `SELECT count(*) FROM newsletter_subscribers WHERE email = 'victim@example.org'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the refused request left %d subscriber rows (%v)", n, err)
	}
	if rec := post("198.51.100.9", "victim@example.org"); rec.Code != http.StatusOK {
		t.Errorf("another address's request: %d", rec.Code)
	}
}
