package journeys

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/servicetest"
)

// askForLink asks federation for a sign-in link for email and returns it
// from the mail.
func askForLink(t *testing.T, st *Stack, b *Browser, email, next string) string {
	t.Helper()
	sent := b.Post(t, st.URL["federation"]+"/auth/signin", url.Values{"email": {email}, "next": {next}})
	if sent.Status != http.StatusOK || !strings.Contains(sent.Body, "Check your email") {
		t.Fatalf("asking for a link: %d\n%s", sent.Status, sent.Body)
	}
	link := magicLinkRE.FindString(st.Mail.WaitFor(t, email, 10*time.Second).Text)
	if link == "" {
		t.Fatalf("no sign-in link in the mail to %s", email)
	}
	return link
}

func mustConn(t *testing.T, st *Stack) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// A sign-in link opened by GET (a mail scanner, or a link an attacker got
// a victim to open) signs nobody in and does not use the link up; only the
// confirmation form's same-origin POST does (login CSRF, issue 13 item 3).
func TestMagicLinkSignsInOnlyWhenConfirmed(t *testing.T) {
	st := StartStack(t, "blog")
	b := NewBrowser(t)
	link := askForLink(t, st, b, "careful@example.org", st.URL["blog"]+"/auth/login?next=/")

	scanner := NewBrowser(t)
	for range 2 { // a mail scanner opens it, then the person does
		for _, who := range []*Browser{scanner, b} {
			p := who.Get(t, link)
			if p.Status != http.StatusOK || !strings.Contains(p.Body, "Sign in as careful@example.org") ||
				!strings.Contains(p.Body, `method="post"`) {
				t.Fatalf("the link's page: %d\n%s", p.Status, p.Body)
			}
			if p.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("the link's page leaks its token in Referer: Referrer-Policy=%q", p.Header.Get("Referrer-Policy"))
			}
		}
	}
	if p := b.Get(t, st.URL["federation"]+"/"); SignedInAs(p) != "" || !strings.Contains(p.Body, "You are not signed in") {
		t.Fatalf("opening the link signed the browser in at federation as %q", SignedInAs(p))
	}
	if p := b.Get(t, st.URL["blog"]+"/"); strings.Contains(p.Body, "/auth/logout") {
		t.Fatal("opening the link signed the browser in on the blog")
	}

	token := htmlUnescape(between(b.Get(t, link).Body, `name="token" value="`, `"`))
	form := strings.NewReader(url.Values{"token": {token}}.Encode())
	req, _ := http.NewRequest("POST", st.URL["federation"]+"/auth/magic", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	if p := b.Do(t, req); p.Status != http.StatusForbidden {
		t.Fatalf("a cross-site POST of the token: %d, want 403", p.Status)
	}

	p := b.Post(t, st.URL["federation"]+"/auth/magic", url.Values{"token": {token}})
	if !strings.Contains(p.URL, "/auth/welcome") {
		t.Fatalf("confirming the link led to %s (%d), want the welcome page", p.URL, p.Status)
	}
	if again := NewBrowser(t).Post(t, st.URL["federation"]+"/auth/magic", url.Values{"token": {token}}); again.Status != http.StatusBadRequest ||
		!strings.Contains(again.Body, "already been used") {
		t.Fatalf("a used link posted again: %d", again.Status)
	}
}

// Opening B's link in a browser signed in as A ends A's sign-in everywhere
// before B's starts; signing out on any service then ends whatever sign-in
// the browser holds at federation, and so on every service (item 1).
func TestAnotherUsersLinkEndsTheOldSignIn(t *testing.T) {
	st := StartStack(t, "blog", "cart")
	st.SignIn(t, NewBrowser(t), "blog", "bee@example.org", "bee") // B has an account
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", "ay@example.org", "ay")
	if p := b.Get(t, st.URL["federation"]+"/"); !strings.EqualFold(SignedInAs(p), "Ay") {
		t.Fatalf("federation shows %q, want Ay", SignedInAs(p))
	}
	conn := mustConn(t, st)
	ctx := context.Background()

	link := askForLink(t, st, NewBrowser(t), "bee@example.org", "/")
	confirm := b.Get(t, link)
	if !strings.Contains(strings.ToLower(confirm.Body), "signs ay out") {
		t.Errorf("the confirmation does not say that Ay will be signed out:\n%s", confirm.Body)
	}
	st.ConfirmSignInLink(t, b, link)
	if p := b.Get(t, st.URL["federation"]+"/"); !strings.EqualFold(SignedInAs(p), "Bee") {
		t.Fatalf("federation shows %q after Bee's link, want Bee", SignedInAs(p))
	}
	var live int
	conn.QueryRow(ctx, `SELECT count(*) FROM sso_sessions s JOIN users u ON u.id = s.user_id
		WHERE u.email = 'ay@example.org' AND s.revoked_at IS NULL`).Scan(&live)
	if live != 0 {
		t.Fatalf("Ay has %d live single-sign-on sessions after Bee's link was used in the same browser", live)
	}
	waitSignedInAs(t, b, st.URL["blog"]+"/", "", "the blog after Bee's link")

	if p := b.Get(t, st.URL["cart"]+"/auth/login?next=/"); SignedInAs(p) != "Bee" {
		t.Fatalf("cart signs in as %q, want Bee", SignedInAs(p))
	}
	// The blog's own session is gone; its sign-out still ends federation's.
	if p := b.Post(t, st.URL["blog"]+"/auth/logout", nil); !strings.HasPrefix(p.URL, st.URL["blog"]+"/") {
		t.Fatalf("signing out on the blog ends at %s, want the blog", p.URL)
	}
	if p := b.Get(t, st.URL["federation"]+"/"); SignedInAs(p) != "" {
		t.Fatalf("federation still signed in as %q after signing out on the blog", SignedInAs(p))
	}
	waitSignedInAs(t, b, st.URL["cart"]+"/", "", "cart after signing out on the blog")
}

// An end-session link that no Rose Ash service signed signs nobody out.
func TestUnsignedEndSessionAsksFirst(t *testing.T) {
	st := StartStack(t)
	b := NewBrowser(t)
	st.signInAtFederation(t, b, "kept@example.org", "kept", "/")
	for _, q := range []string{"", "?client=blog&next=%2F&ts=1&sig=x"} {
		p := b.Get(t, st.URL["federation"]+"/auth/end-session"+q)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/auth/logout"`) {
			t.Errorf("end-session%s: %d without the sign-out form", q, p.Status)
		}
	}
	if p := b.Get(t, st.URL["federation"]+"/"); !strings.EqualFold(SignedInAs(p), "Kept") {
		t.Fatalf("an unsigned end-session link signed the browser out (%q)", SignedInAs(p))
	}
}

func waitSignedInAs(t *testing.T, b *Browser, u, want, what string) {
	t.Helper()
	deadline := time.Now().Add(GrantCheckCache + 2*time.Second)
	for {
		p := b.Get(t, u)
		if got := SignedInAs(p); got == want || want != "" && strings.EqualFold(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: signed in as %q, want %q", what, SignedInAs(p), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// blogSession returns the values of the blog session b holds, read from Redis.
func blogSession(t *testing.T, st *Stack, b *Browser) map[string]string {
	t.Helper()
	u, _ := url.Parse(st.URL["blog"])
	var token string
	for _, c := range b.jar.Cookies(u) {
		token = c.Value
	}
	raw, err := servicetest.MustRedis(t).Get(context.Background(), st.prefix+":session:blog:"+token).Bytes()
	if err != nil {
		t.Fatalf("the blog session in Redis: %v", err)
	}
	var s struct {
		V map[string]string `json:"v"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s.V
}

// Parallel requests at access-token expiry refresh once and all stay
// signed in; the old refresh token presented a minute later revokes the
// chain (item 2).
func TestParallelRequestsAtTokenExpiryStaySignedIn(t *testing.T) {
	st := StartStack(t, "blog")
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", "busy@example.org", "busy")
	conn := mustConn(t, st)
	ctx := context.Background()
	const rounds, parallel = 3, 20
	var oldRefresh string
	for round := range rounds {
		oldRefresh = blogSession(t, st, b)["refresh_token"]
		if _, err := conn.Exec(ctx, `UPDATE oauth_tokens SET expires_at = now() - interval '1 second' WHERE kind = 'access'`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(GrantCheckCache + 100*time.Millisecond)
		names := make([]string, parallel)
		var wg sync.WaitGroup
		for i := range names {
			wg.Go(func() { names[i] = SignedInAs(b.Get(t, st.URL["blog"]+"/")) })
		}
		wg.Wait()
		for i, name := range names {
			if name != "Busy" {
				t.Fatalf("round %d: request %d of %d at expiry was signed in as %q", round, i, parallel, name)
			}
		}
	}
	var refreshTokens int
	conn.QueryRow(ctx, `SELECT count(*) FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
		WHERE g.client_id = 'blog' AND t.kind = 'refresh'`).Scan(&refreshTokens)
	if refreshTokens != 1+rounds {
		t.Errorf("%d refresh tokens after %d rounds of %d parallel requests, want %d (one refresh a round)",
			refreshTokens, rounds, parallel, 1+rounds)
	}
	if p := b.Get(t, st.URL["blog"]+"/"); SignedInAs(p) != "Busy" {
		t.Fatalf("after the rounds: signed in as %q", SignedInAs(p))
	}

	// A minute later the last round's old refresh token comes back: theft.
	conn.Exec(ctx, `UPDATE oauth_tokens SET used_at = now() - interval '1 minute' WHERE used_at IS NOT NULL`)
	if status, tr := tokenRequest(t, st, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oldRefresh}}); status != http.StatusBadRequest || tr.Error != "invalid_grant" {
		t.Fatalf("the old refresh token a minute later: %d %q, want 400 invalid_grant", status, tr.Error)
	}
	waitSignedInAs(t, b, st.URL["blog"]+"/", "", "the blog after its old refresh token was replayed")
}
