package internal

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/oauth"
)

// TestSignInRecordsTheDeviceAndItsLastUse: the account page's "Active
// sign-ins" names a device by the browser's User-Agent at sign-in, and a
// single sign-on to a service bumps its last use (at most once a minute).
func TestSignInRecordsTheDeviceAndItsLastUse(t *testing.T) {
	e := startHub(t)
	b := e.browser()
	u := e.signIn(b, "ann")
	var ua string
	var seen time.Time
	if err := e.db.QueryRow(t.Context(), `SELECT user_agent, last_seen_at FROM sso_sessions WHERE user_id = $1 AND revoked_at IS NULL`, u.ID).
		Scan(&ua, &seen); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ua, "Go-http-client/") {
		t.Fatalf("user agent recorded at sign-in: %q", ua)
	}
	e.exec(`UPDATE sso_sessions SET last_seen_at = now() - interval '10 minutes' WHERE user_id = $1`, u.ID)

	// A service asks federation to sign the browser in (SSO): the code
	// goes back to the service, and the sign-in was used now.
	sum := sha256.Sum256([]byte(strings.Repeat("v", 43)))
	q := url.Values{"client_id": {"account"}, "redirect_uri": {oauth.RedirectURI(e.site.Config, "account")},
		"response_type": {"code"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "state": {"s1"}}
	noFollow := *b.c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(e.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "code=") {
		t.Fatalf("authorize: %d to %q", resp.StatusCode, loc)
	}
	if n := e.count(`SELECT count(*) FROM sso_sessions WHERE user_id = $1 AND last_seen_at > now() - interval '1 minute'`, u.ID); n != 1 {
		t.Fatalf("the sign-in's last use was not bumped by the SSO")
	}
}
