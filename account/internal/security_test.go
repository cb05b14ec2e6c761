package internal

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// secFixture serves the account's dashboard, security and deletion
// routes behind the real sign-in client (sessions on the test Redis,
// grants checked in PostgreSQL every request).
type secFixture struct {
	srv  *httptest.Server
	db   *pgxpool.Pool
	site *web.Site
	sm   *scs.SessionManager
	ids  *identity.Store
	sink *mail.DirSink
}

func newSecFixture(t *testing.T) *secFixture {
	t.Helper()
	f := &secFixture{db: pgtest.MustPool(t)}
	f.ids = identity.New(f.db)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"CONFIG_FILE": filepath.Join("..", "..", config.DefaultFile),
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("k", 32),
			"AUTH_GRANT_CHECK_CACHE": "0s"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := web.NewAssets("/static/", fstest.MapFS{"site.css": {Data: []byte("body{}")}})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	f.site = &web.Site{Service: "account", Config: cfg, Logger: logger, Assets: assets, Metrics: web.NewMetrics(), SignInPath: "/auth/login"}
	keys := cache.Namespace(fmt.Sprintf("accountsec%d", time.Now().UnixNano()))
	f.sm = sessions.New(servicetest.MustRedis(t), keys, "account", false, time.Hour, logger, f.site.Error)
	if f.sink, err = mail.NewDirSink(t.TempDir(), "Rose Ash <noreply@rose-ash.test>"); err != nil {
		t.Fatal(err)
	}
	auth := oauth.NewClient(f.site, f.sm, f.ids, http.DefaultClient)
	c, o, b := carts.New(f.db), orders.New(f.db, products.New(f.db)), bookings.New(f.db)
	site, ids := f.site, f.ids
	r := site.Router()
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware)
		r.With(loadSecurity(site, auth, ids)).Get("/", showHome(site, c, o, b, f.db))
		r.With(site.RequireUser).Post("/security/sign-out-everywhere", signOutEverywhere(site, auth, ids))
		r.With(site.RequireUser).Post("/security/sessions/{id}/revoke", revokeSession(site, auth, ids))
		r.Get("/signed-out", showSignedOut(site))
		r.With(site.RequireUser).Get("/delete", showDeleteAccount(site, ids))
		r.With(site.RequireUser).Post("/delete", requestDeletion(site, ids, f.sink))
		r.With(site.RequireUser).Post("/delete/keep", keepAccount(site, ids))
		r.Get("/delete/undo", showUndoDeletion(site))
		r.Post("/delete/undo", undoDeletion(site, ids))
	})
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	return f
}

// member adds a user.
func (f *secFixture) member(t *testing.T, email, name string) models.User {
	t.Helper()
	u := models.User{Email: email, DisplayName: name}
	if err := f.db.QueryRow(context.Background(), `INSERT INTO users (email, display_name) VALUES ($1, $2) RETURNING id`,
		email, name).Scan(&u.ID); err != nil {
		t.Fatal(err)
	}
	return u
}

// browser signs u in on a new device with userAgent: a sign-on session,
// a grant to the account service, and this service's session cookie
// holding it. It returns the cookie, the sign-on session and the token.
func (f *secFixture) browser(t *testing.T, u models.User, userAgent string) (*http.Cookie, uuid.UUID, string) {
	t.Helper()
	tok := accessToken(t, f.db, u)
	sso, err := f.ids.SSOSessionOfToken(context.Background(), tok)
	if err != nil || sso == uuid.Nil {
		t.Fatalf("sso of token: %v", err)
	}
	if userAgent != "" {
		if err := f.ids.RecordSSOUserAgent(context.Background(), sso, userAgent); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	f.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.sm.Put(r.Context(), "user_id", u.ID.String())
		f.sm.Put(r.Context(), "access_token", tok)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return rec.Result().Cookies()[0], sso, tok
}

// do sends a request with cookie (nil: a visitor) and extra headers,
// without following redirects.
func (f *secFixture) do(t *testing.T, method, path string, cookie *http.Cookie, form url.Values, headers map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// live reports whether an access token still signs its user in.
func (f *secFixture) live(tok string) bool {
	_, err := f.ids.CheckAccessToken(context.Background(), tok)
	return err == nil
}

const firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
const safariIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

var crossSite = map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}

// TestSecuritySectionListsSignInsAndEndsOne: the dashboard lists the
// member's live sign-ins (device in words, this device marked, nobody
// else's); ending one of theirs signs that device out and leaves the
// others; someone else's is 404 and untouched; a cross-site post and a
// visitor's post change nothing.
func TestSecuritySectionListsSignInsAndEndsOne(t *testing.T) {
	f := newSecFixture(t)
	ann := f.member(t, "ann@example.org", "Ann")
	bob := f.member(t, "bob@example.org", "Bob")
	laptop, _, laptopTok := f.browser(t, ann, firefoxLinux)
	_, phoneSSO, phoneTok := f.browser(t, ann, safariIPhone)
	_, bobSSO, bobTok := f.browser(t, bob, firefoxLinux)

	res, body := f.do(t, "GET", "/", laptop, nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: %d", res.StatusCode)
	}
	for _, want := range []string{"Active sign-ins", "Firefox on Linux", "Safari on iPhone", "Sign out everywhere", "Delete my account"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if n := strings.Count(body, ">this device<"); n != 1 {
		t.Errorf("%d sign-ins marked this device, want 1", n)
	}
	if n := strings.Count(body, "/revoke\""); n != 2 {
		t.Errorf("%d sign-ins listed, want Ann's 2 (Bob's is not hers)", n)
	}
	if strings.Contains(body, bobSSO.String()) {
		t.Error("Bob's sign-in is on Ann's dashboard")
	}

	// Bob's sign-in is not Ann's: 404, and Bob stays signed in.
	if res, _ := f.do(t, "POST", "/security/sessions/"+bobSSO.String()+"/revoke", laptop, url.Values{}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("ending another member's sign-in: %d, want 404", res.StatusCode)
	}
	if !f.live(bobTok) {
		t.Fatal("Bob was signed out by Ann's request")
	}
	// Cross-site and visitors' posts change nothing.
	if res, _ := f.do(t, "POST", "/security/sessions/"+phoneSSO.String()+"/revoke", laptop, url.Values{}, crossSite); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", res.StatusCode)
	}
	if res, _ := f.do(t, "POST", "/security/sessions/"+phoneSSO.String()+"/revoke", nil, url.Values{}, nil); res.StatusCode != http.StatusSeeOther ||
		!strings.Contains(res.Header.Get("Location"), "/auth/login") {
		t.Errorf("visitor's post: %d to %q, want 303 to sign in", res.StatusCode, res.Header.Get("Location"))
	}
	if !f.live(phoneTok) {
		t.Fatal("the phone was signed out by a refused request")
	}

	// Ann ends her phone's sign-in: the phone is out, the laptop stays.
	res, _ = f.do(t, "POST", "/security/sessions/"+phoneSSO.String()+"/revoke", laptop, url.Values{}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ending the phone's sign-in: %d", res.StatusCode)
	}
	if f.live(phoneTok) || !f.live(laptopTok) || !f.live(bobTok) {
		t.Fatalf("after ending the phone: phone %v (want false), laptop %v, Bob %v", f.live(phoneTok), f.live(laptopTok), f.live(bobTok))
	}
	_, body = f.do(t, "GET", "/", laptop, nil, nil)
	if strings.Contains(body, "Safari on iPhone") || !strings.Contains(body, "Firefox on Linux") {
		t.Error("the dashboard still lists the phone, or lost the laptop")
	}
}

// TestSignOutEverywhere: the button signs the member out on every device
// and this service (the page says so), and nobody else.
func TestSignOutEverywhere(t *testing.T) {
	f := newSecFixture(t)
	ann := f.member(t, "ann@example.org", "Ann")
	bob := f.member(t, "bob@example.org", "Bob")
	laptop, _, laptopTok := f.browser(t, ann, firefoxLinux)
	phone, _, phoneTok := f.browser(t, ann, safariIPhone)
	_, _, bobTok := f.browser(t, bob, "")

	if res, _ := f.do(t, "POST", "/security/sign-out-everywhere", laptop, url.Values{}, crossSite); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign out everywhere: %d, want 403", res.StatusCode)
	}
	if res, _ := f.do(t, "POST", "/security/sign-out-everywhere", nil, url.Values{}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a visitor's sign out everywhere: %d, want 303 to sign in", res.StatusCode)
	}
	if !f.live(laptopTok) || !f.live(phoneTok) {
		t.Fatal("a refused request signed Ann out")
	}

	res, _ := f.do(t, "POST", "/security/sign-out-everywhere", laptop, url.Values{}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signed-out" {
		t.Fatalf("sign out everywhere: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body := f.do(t, "GET", "/signed-out", nil, nil, nil)
	if !strings.Contains(body, "signed out on every device") {
		t.Errorf("the page after signing out does not say so:\n%s", body)
	}
	if f.live(laptopTok) || f.live(phoneTok) {
		t.Fatal("Ann's tokens still work after signing out everywhere")
	}
	if !f.live(bobTok) {
		t.Fatal("Bob was signed out too")
	}
	for name, c := range map[string]*http.Cookie{"laptop": laptop, "phone": phone} {
		if _, body := f.do(t, "GET", "/", c, nil, nil); strings.Contains(body, "Hello, Ann") || !strings.Contains(body, "Sign in") {
			t.Errorf("the %s still shows Ann's dashboard", name)
		}
	}
}

var undoLinkRE = regexp.MustCompile(`https?://\S+/delete/undo\?t=\S+`)

// TestDeleteAccountRequestAndUndo: the confirmation asks for the email
// (422 otherwise); a request shows the banner and emails an undo link
// whose page asks before keeping the account; Keep my account does the
// same; a tampered link, a cross-site post and a visitor change nothing.
func TestDeleteAccountRequestAndUndo(t *testing.T) {
	ctx := context.Background()
	f := newSecFixture(t)
	ann := f.member(t, "ann@example.org", "Ann")
	laptop, _, laptopTok := f.browser(t, ann, firefoxLinux)
	pending := func() bool {
		_, p, err := f.ids.PendingDeletion(ctx, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	if res, _ := f.do(t, "GET", "/delete", nil, nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a visitor's /delete: %d, want 303 to sign in", res.StatusCode)
	}
	if res, body := f.do(t, "GET", "/delete", laptop, nil, nil); res.StatusCode != http.StatusOK || !strings.Contains(body, "Type your email address") {
		t.Fatalf("/delete: %d", res.StatusCode)
	}
	res, body := f.do(t, "POST", "/delete", laptop, url.Values{"email": {"someone@example.org"}}, nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "ann@example.org, to confirm") {
		t.Fatalf("a wrong email: %d", res.StatusCode)
	}
	if res, _ := f.do(t, "POST", "/delete", laptop, url.Values{"email": {"ann@example.org"}}, crossSite); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site deletion request: %d, want 403", res.StatusCode)
	}
	if pending() {
		t.Fatal("a refused request asked for the deletion")
	}

	res, _ = f.do(t, "POST", "/delete", laptop, url.Values{"email": {"  ANN@example.org "}}, nil)
	if res.StatusCode != http.StatusSeeOther || !pending() {
		t.Fatalf("deletion request: %d, pending %v", res.StatusCode, pending())
	}
	// The account works meanwhile, with a banner.
	if !f.live(laptopTok) {
		t.Fatal("asking for the deletion signed Ann out; the account should work during the grace period")
	}
	_, body = f.do(t, "GET", "/", laptop, nil, nil)
	if !strings.Contains(body, "Your account will be deleted on") || !strings.Contains(body, "Keep my account") {
		t.Fatal("no deletion banner on the dashboard")
	}
	msgs, err := f.sink.List(10)
	if err != nil || len(msgs) != 1 || !strings.EqualFold(msgs[0].To, "ann@example.org") {
		t.Fatalf("mail: %+v, %v", msgs, err)
	}
	m, err := f.sink.Read(msgs[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	link := undoLinkRE.FindString(m.Text)
	if link == "" {
		t.Fatalf("no undo link in %q", m.Text)
	}
	u, _ := url.Parse(link)

	// The link's page asks; a tampered token is refused.
	res, body = f.do(t, "GET", u.RequestURI(), nil, nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Keep my account") || !pending() {
		t.Fatalf("undo page: %d, pending %v", res.StatusCode, pending())
	}
	token := u.Query().Get("t")
	bad := token[:len(token)-2] + "AA"
	if res, _ := f.do(t, "POST", "/delete/undo", nil, url.Values{"t": {bad}}, nil); res.StatusCode != http.StatusBadRequest || !pending() {
		t.Fatalf("tampered undo: %d, pending %v", res.StatusCode, pending())
	}
	res, body = f.do(t, "POST", "/delete/undo", nil, url.Values{"t": {token}}, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Your account is kept") || pending() {
		t.Fatalf("undo: %d, pending %v", res.StatusCode, pending())
	}
	// Undoing again is harmless.
	if res, _ := f.do(t, "POST", "/delete/undo", nil, url.Values{"t": {token}}, nil); res.StatusCode != http.StatusOK || pending() {
		t.Fatalf("undo twice: %d", res.StatusCode)
	}

	// Asked again, then kept from the dashboard.
	f.do(t, "POST", "/delete", laptop, url.Values{"email": {"ann@example.org"}}, nil)
	if !pending() {
		t.Fatal("second request not recorded")
	}
	if res, _ := f.do(t, "POST", "/delete/keep", nil, url.Values{}, nil); res.StatusCode != http.StatusSeeOther || !pending() {
		t.Fatalf("a visitor's keep: %d, pending %v", res.StatusCode, pending())
	}
	res, _ = f.do(t, "POST", "/delete/keep", laptop, url.Values{}, nil)
	if res.StatusCode != http.StatusSeeOther || pending() {
		t.Fatalf("keep: %d, pending %v", res.StatusCode, pending())
	}
	_, body = f.do(t, "GET", "/", laptop, nil, nil)
	if strings.Contains(body, "Your account will be deleted on") {
		t.Fatal("the banner stays after keeping the account")
	}
}
