package journeys

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"rose-ash.com/platform/shared/oauth"
)

// federation passes an independent, strict OAuth client library's flow
// (golang.org/x/oauth2) with our own checks around it: discovery, code with
// PKCE, refresh, revocation, and prompt=none.
func TestIndependentOAuthClientFlow(t *testing.T) {
	st := StartStack(t, "blog")
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", "library@example.org", "library")
	fed := st.URL["federation"]

	// Discovery (RFC 8414): the issuer is federation, endpoints are under it.
	var meta map[string]any
	if err := json.Unmarshal([]byte(b.Get(t, fed+"/.well-known/oauth-authorization-server").Body), &meta); err != nil {
		t.Fatal(err)
	}
	if meta["issuer"] != fed {
		t.Fatalf("issuer = %v, want %s", meta["issuer"], fed)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "revocation_endpoint", "userinfo_endpoint"} {
		if s, _ := meta[k].(string); !strings.HasPrefix(s, fed+"/") {
			t.Fatalf("%s = %v", k, meta[k])
		}
	}
	conf := oauth2.Config{
		ClientID: "blog", ClientSecret: oauth.ClientSecret(secretKey, "blog"),
		RedirectURL: st.URL["blog"] + "/auth/callback",
		Endpoint: oauth2.Endpoint{AuthURL: meta["authorization_endpoint"].(string),
			TokenURL: meta["token_endpoint"].(string), AuthStyle: oauth2.AuthStyleInHeader},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, b.http)

	// Code flow with PKCE S256.
	verifier := oauth2.GenerateVerifier()
	req, _ := http.NewRequest("GET", conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier)), nil)
	loc, err := url.Parse(b.Do(t, req).Header.Get("Location"))
	if err != nil || loc.Query().Get("state") != "state-123" || loc.Query().Get("iss") != fed {
		t.Fatalf("authorization response %v: state and iss (RFC 9207) must come back", loc)
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || time.Until(tok.Expiry) < time.Minute {
		t.Fatalf("token = %+v", tok)
	}
	// The library's client puts the token on requests.
	resp, err := conf.Client(ctx, tok).Get(meta["userinfo_endpoint"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 200 || info["email"] != "library@example.org" || info["preferred_username"] != "library" || info["sub"] == "" {
		t.Fatalf("userinfo: %d %v", resp.StatusCode, info)
	}

	// Refresh: the library refreshes an expired token; the old refresh token dies.
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, tok).Token()
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v (rotated: %v)", err, fresh != nil && fresh.RefreshToken != tok.RefreshToken)
	}

	// Revocation (RFC 7009) of the refresh token ends the grant.
	form := url.Values{"token": {fresh.RefreshToken}, "token_type_hint": {"refresh_token"}}
	rreq, _ := http.NewRequest("POST", meta["revocation_endpoint"].(string), strings.NewReader(form.Encode()))
	rreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rreq.SetBasicAuth("blog", conf.ClientSecret)
	if p := b.Do(t, rreq); p.Status != 200 {
		t.Fatalf("revoke: %d %s", p.Status, p.Body)
	}
	if s := userinfo(t, st, fresh.AccessToken); s != 401 {
		t.Fatalf("userinfo after revocation: %d", s)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
		t.Fatal("revoked refresh token still refreshes")
	}

	// prompt=none for a browser not signed in answers login_required.
	anon := NewBrowser(t)
	req, _ = http.NewRequest("GET", conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")), nil)
	loc, _ = url.Parse(anon.Do(t, req).Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none when signed out: %v", loc)
	}
}
