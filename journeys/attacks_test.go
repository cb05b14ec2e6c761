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
	"golang.org/x/oauth2"

	"rose-ash.com/platform/shared/oauth"
)

const secretKey = "journeys-secret-key-0123456789abcdefghij"

// authorizeURL builds blog's authorization request with the given PKCE
// challenge parameters; redirect is the redirect_uri to claim.
func authorizeURL(st *Stack, redirect string, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {"blog"}, "redirect_uri": {redirect}, "state": {"s1"}}
	for k, v := range extra {
		q[k] = v
	}
	return st.URL["federation"] + "/oauth/authorize?" + q.Encode()
}

// code signs b in at federation (if needed) and returns a fresh
// authorization code for blog, issued for verifier.
func code(t *testing.T, st *Stack, b *Browser, verifier string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", authorizeURL(st, st.URL["blog"]+"/auth/callback", url.Values{
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}), nil)
	p := b.Do(t, req)
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code: %d Location=%q", p.Status, p.Header.Get("Location"))
	}
	if loc.Query().Get("state") != "s1" || loc.Query().Get("iss") != st.URL["federation"] {
		t.Fatalf("state/iss not returned: %s", loc)
	}
	return loc.Query().Get("code")
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

func tokenRequest(t *testing.T, st *Stack, form url.Values) (int, tokenResponse) {
	t.Helper()
	req, _ := http.NewRequest("POST", st.URL["federation"]+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("blog", oauth.ClientSecret(secretKey, "blog"))
	p := NewBrowser(t).Do(t, req)
	var tr tokenResponse
	_ = json.Unmarshal([]byte(p.Body), &tr)
	return p.Status, tr
}

func exchange(t *testing.T, st *Stack, code, verifier string) (int, tokenResponse) {
	return tokenRequest(t, st, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {st.URL["blog"] + "/auth/callback"}, "code_verifier": {verifier}})
}

func userinfo(t *testing.T, st *Stack, access string) int {
	req, _ := http.NewRequest("GET", st.URL["federation"]+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	return NewBrowser(t).Do(t, req).Status
}

func TestAuthorizationServerRefusesAttacks(t *testing.T) {
	st := StartStack(t, "blog", "cart")
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", "target@example.org", "target")
	verifier := oauth2.GenerateVerifier()
	pkce := url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	blogHost := strings.TrimPrefix(st.URL["blog"], "http://")

	t.Run("redirect_uri variants are refused without redirecting", func(t *testing.T) {
		for _, bad := range []string{
			"http://evil-" + blogHost + "/auth/callback",
			"http://" + blogHost + ".evil.example/auth/callback",
			"http://" + blogHost + "@evil.example/auth/callback",
			"http://evil.example/?x=http://" + blogHost + "/auth/callback",
			st.URL["blog"] + "/auth/callback/extra",
			st.URL["blog"] + "/auth/callback?x=1",
			"https://" + blogHost + "/auth/callback",
			st.URL["cart"] + "/auth/callback",
		} {
			req, _ := http.NewRequest("GET", authorizeURL(st, bad, pkce), nil)
			p := b.Do(t, req)
			if p.Status != http.StatusUnprocessableEntity || p.Header.Get("Location") != "" {
				t.Errorf("redirect_uri %s: %d Location=%q, want a refusal page", bad, p.Status, p.Header.Get("Location"))
			}
		}
	})

	t.Run("PKCE is required and only S256", func(t *testing.T) {
		for name, q := range map[string]url.Values{
			"missing":   {},
			"plain":     {"code_challenge": {verifier}, "code_challenge_method": {"plain"}},
			"no method": {"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}},
		} {
			req, _ := http.NewRequest("GET", authorizeURL(st, st.URL["blog"]+"/auth/callback", q), nil)
			loc, _ := url.Parse(b.Do(t, req).Header.Get("Location"))
			if loc == nil || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("code") != "" {
				t.Errorf("%s PKCE: redirected to %v, want error=invalid_request", name, loc)
			}
		}
		c := code(t, st, b, verifier)
		if status, tr := exchange(t, st, c, oauth2.GenerateVerifier()); status != 400 || tr.Error != "invalid_grant" {
			t.Errorf("wrong verifier: %d %s", status, tr.Error)
		}
		c = code(t, st, b, verifier)
		if status, tr := exchange(t, st, c, ""); status != 400 || tr.AccessToken != "" {
			t.Errorf("missing verifier: %d %+v", status, tr)
		}
		c = code(t, st, b, verifier)
		if status, tr := exchange(t, st, c, oauth2.S256ChallengeFromVerifier(verifier)); status != 400 || tr.Error != "invalid_grant" {
			t.Errorf("challenge sent as plain verifier: %d %s", status, tr.Error)
		}
	})

	t.Run("code replay fails and revokes the first exchange", func(t *testing.T) {
		c := code(t, st, b, verifier)
		status, first := exchange(t, st, c, verifier)
		if status != 200 || first.AccessToken == "" {
			t.Fatalf("first exchange: %d %+v", status, first)
		}
		if status, tr := exchange(t, st, c, verifier); status != 400 || tr.Error != "invalid_grant" {
			t.Fatalf("replay: %d %+v", status, tr)
		}
		if s := userinfo(t, st, first.AccessToken); s != 401 {
			t.Fatalf("first exchange's token still works after a replay: %d", s)
		}
	})

	t.Run("two parallel exchanges leave no live token", func(t *testing.T) {
		c := code(t, st, b, verifier)
		var wg sync.WaitGroup
		got := make([]tokenResponse, 2)
		for i := range got {
			wg.Go(func() { _, got[i] = exchange(t, st, c, verifier) })
		}
		wg.Wait()
		for _, tr := range got {
			if tr.AccessToken != "" && userinfo(t, st, tr.AccessToken) == 200 {
				t.Fatal("a token from a doubly-exchanged code is live")
			}
		}
	})

	t.Run("refresh token reuse revokes the chain", func(t *testing.T) {
		_, first := exchange(t, st, code(t, st, b, verifier), verifier)
		refresh := func(rt string) (int, tokenResponse) {
			return tokenRequest(t, st, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		}
		status, second := refresh(first.RefreshToken)
		if status != 200 || second.RefreshToken == first.RefreshToken {
			t.Fatalf("rotation: %d %+v", status, second)
		}
		// Within the grace window (a browser's parallel requests racing to
		// refresh) the same pair comes back, and no other is issued.
		if status, again := refresh(first.RefreshToken); status != 200 || again != second {
			t.Fatalf("reuse within the grace window: %d, same pair %v", status, again == second)
		}
		// After it, reuse is theft.
		conn := mustConn(t, st)
		if _, err := conn.Exec(context.Background(), `UPDATE oauth_tokens SET used_at = now() - interval '1 minute' WHERE used_at IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
		if status, tr := refresh(first.RefreshToken); status != 400 || tr.Error != "invalid_grant" {
			t.Fatalf("reuse: %d %+v", status, tr)
		}
		if userinfo(t, st, second.AccessToken) != 401 {
			t.Fatal("tokens issued after the reused one survive")
		}
	})

	t.Run("bogus codes and bad clients", func(t *testing.T) {
		if status, tr := exchange(t, st, "bogus", verifier); status != 400 || tr.Error != "invalid_grant" {
			t.Errorf("bogus code: %d %+v", status, tr)
		}
		req, _ := http.NewRequest("POST", st.URL["federation"]+"/oauth/token", strings.NewReader("grant_type=authorization_code&code=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("blog", "wrong-secret")
		if p := NewBrowser(t).Do(t, req); p.Status != 401 || !strings.Contains(p.Body, "invalid_client") {
			t.Errorf("wrong client secret: %d %s", p.Status, p.Body)
		}
	})
}

func TestCallbackRefusesMissingOrWrongState(t *testing.T) {
	st := StartStack(t, "blog")
	b := NewBrowser(t)
	b.Get(t, st.URL["blog"]+"/auth/login?next=/") // starts a flow: the session holds a state
	for _, q := range []string{"code=abc", "code=abc&state=wrong"} {
		p := b.Get(t, st.URL["blog"]+"/auth/callback?"+q)
		if p.Status != http.StatusUnprocessableEntity || SignedInAs(p) != "" {
			t.Errorf("callback ?%s: %d signed in as %q", q, p.Status, SignedInAs(p))
		}
	}
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	st := StartStack(t, "blog")
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", "victim@example.org", "victim")
	for _, site := range []string{"cross-site", "same-site"} { // same-site: a sibling subdomain
		req, _ := http.NewRequest("POST", st.URL["blog"]+"/auth/logout", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		if p := b.Do(t, req); p.Status != http.StatusForbidden {
			t.Errorf("%s POST to /auth/logout: %d, want 403", site, p.Status)
		}
	}
	req, _ := http.NewRequest("POST", st.URL["blog"]+"/auth/logout", nil)
	req.Header.Set("Origin", "http://evil.example")
	if p := b.Do(t, req); p.Status != http.StatusForbidden {
		t.Errorf("POST with a foreign Origin: %d, want 403", p.Status)
	}
	if p := b.Get(t, st.URL["blog"]+"/"); SignedInAs(p) != "Victim" {
		t.Error("a refused cross-site post signed the user out")
	}
}

func TestSessionCookieOfOneServiceMeansNothingToAnother(t *testing.T) {
	st := StartStack(t, "blog", "cart")
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", "owner@example.org", "owner")
	blogURL, _ := url.Parse(st.URL["blog"])
	req, _ := http.NewRequest("GET", st.URL["cart"]+"/", nil)
	for _, c := range b.jar.Cookies(blogURL) {
		req.AddCookie(c)
	}
	if p := NewBrowser(t).Do(t, req); SignedInAs(p) != "" {
		t.Fatalf("blog's session cookie signs in on cart as %q", SignedInAs(p))
	}
}

// After a database rebuild a stale cookie must not sign anyone in, even when
// a new account carries the old id.
func TestStaleSessionAfterDatabaseRebuild(t *testing.T) {
	st := StartStack(t, "blog")
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", "old@example.org", "olduser")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `
		WITH gone AS (DELETE FROM users WHERE email = 'old@example.org' RETURNING id)
		INSERT INTO users (id, email, username, display_name) SELECT id, 'someone.else@example.org', 'someone', 'Someone Else' FROM gone`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(GrantCheckCache)
	if p := b.Get(t, st.URL["blog"]+"/"); SignedInAs(p) != "" {
		t.Fatalf("stale session signs in as %q", SignedInAs(p))
	}
}

// While PostgreSQL or Redis is unreachable nobody is treated as signed in:
// protected pages answer 503 (not a sign-in page: signing in again would not
// help), public pages are a visitor's with a notice. The browser keeps its
// session, so once the check works again the user is signed in again,
// without signing in (issue 13, R1 and R2).
func TestGrantCheckFailsSafeDuringOutages(t *testing.T) {
	st := StartStack(t, "blog")
	for _, dep := range []string{"postgres", "redis"} {
		t.Run(dep, func(t *testing.T) {
			b := NewBrowser(t)
			st.SignIn(t, b, "blog", dep+"@example.org", dep+"_user")
			proxy := st.DB
			if dep == "redis" {
				proxy = st.Redis
			}
			time.Sleep(GrantCheckCache) // let the cached check lapse
			proxy.Cut()
			req, _ := http.NewRequest("GET", st.URL["blog"]+"/admin", nil)
			p := b.Do(t, req)
			if p.Status != http.StatusServiceUnavailable || p.Header.Get("Retry-After") == "" || SignedInAs(p) != "" {
				t.Errorf("during the %s outage /admin = %d (Retry-After %q), signed in as %q; want 503 with Retry-After",
					dep, p.Status, p.Header.Get("Retry-After"), SignedInAs(p))
			}
			req, _ = http.NewRequest("GET", st.URL["federation"]+"/", nil)
			if p := b.Do(t, req); SignedInAs(p) != "" || p.Status >= 500 && p.Status != http.StatusServiceUnavailable {
				t.Errorf("during the %s outage federation = %d, signed in as %q", dep, p.Status, SignedInAs(p))
			}
			if c := cookieNames(b, st.URL["blog"]); len(c) != 1 {
				t.Errorf("during the %s outage the blog's session cookie was dropped: %v", dep, c)
			}
			proxy.Restore()
			waitHealthy(t, st.URL["blog"])
			waitSignedInAs(t, b, st.URL["blog"]+"/", strings.ToUpper(dep[:1])+dep[1:]+"_user", "the blog after the "+dep+" outage")
			waitSignedInAs(t, b, st.URL["federation"]+"/", strings.ToUpper(dep[:1])+dep[1:]+"_user", "federation after the "+dep+" outage")
		})
	}
	// A grant revoked while it could not be checked stays out afterwards,
	// and its session is cleared.
	t.Run("revoked during the outage", func(t *testing.T) {
		b := NewBrowser(t)
		st.SignIn(t, b, "blog", "revoked@example.org", "revoked")
		time.Sleep(GrantCheckCache)
		st.DB.Cut()
		if p := b.Get(t, st.URL["blog"]+"/"); SignedInAs(p) != "" {
			t.Errorf("during the outage: signed in as %q", SignedInAs(p))
		}
		conn := mustConn(t, st)
		if _, err := conn.Exec(context.Background(), `UPDATE sso_sessions SET revoked_at = now() FROM users u
			WHERE u.id = sso_sessions.user_id AND u.email = 'revoked@example.org'`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(context.Background(), `UPDATE oauth_grants SET revoked_at = now() FROM users u
			WHERE u.id = oauth_grants.user_id AND u.email = 'revoked@example.org'`); err != nil {
			t.Fatal(err)
		}
		st.DB.Restore()
		waitHealthy(t, st.URL["blog"])
		if p := b.Get(t, st.URL["blog"]+"/"); SignedInAs(p) != "" {
			t.Fatalf("after the outage a grant revoked during it signs in as %q", SignedInAs(p))
		}
		if c := cookieNames(b, st.URL["blog"]); len(c) != 0 {
			t.Errorf("the session of a revoked grant was kept: cookies %v", c)
		}
	})
}

func TestSignInRequestsAreRateLimited(t *testing.T) {
	st := StartStack(t)
	b := NewBrowser(t)
	var last Page
	for i := 0; i < 6; i++ {
		last = b.Post(t, st.URL["federation"]+"/auth/signin", url.Values{"email": {"flood@example.org"}})
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("6th request in a window: %d Retry-After=%q, want 429 with Retry-After", last.Status, last.Header.Get("Retry-After"))
	}
	if n := len(st.Mail.Messages()); n != 5 {
		t.Fatalf("%d mails sent, want 5", n)
	}
}

func TestAdminRoutesNeedAnAdmin(t *testing.T) {
	st := StartStack(t, "blog")
	anon := NewBrowser(t)
	req, _ := http.NewRequest("GET", st.URL["blog"]+"/admin", nil)
	if p := anon.Do(t, req); p.Status != http.StatusSeeOther || !strings.Contains(p.Header.Get("Location"), "/auth/login") {
		t.Errorf("anonymous /admin: %d %s", p.Status, p.Header.Get("Location"))
	}
	member := NewBrowser(t)
	st.SignIn(t, member, "blog", "member@example.org", "member")
	if p := member.Get(t, st.URL["blog"]+"/admin"); p.Status != http.StatusForbidden || strings.Contains(p.Body, `class="account-admin"`) {
		t.Errorf("member /admin: %d", p.Status)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, `UPDATE users SET is_admin = true WHERE email = 'member@example.org'`)
	time.Sleep(GrantCheckCache)
	p := member.Get(t, st.URL["blog"]+"/admin")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `class="account-admin"`) {
		t.Errorf("admin /admin: %d, admin link shown=%v", p.Status, strings.Contains(p.Body, `class="account-admin"`))
	}
	if p := member.Get(t, st.URL["federation"]+"/admin"); p.Status != http.StatusOK || !strings.Contains(p.Body, "member@example.org") {
		t.Errorf("federation /admin for an admin: %d", p.Status)
	}
}
