package oauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"rose-ash.com/platform/shared/config"
)

// EndSessionPath is federation's end-session endpoint: a service's sign-out
// sends the browser there, so that federation's own session (which may
// belong to someone else than the service's, or outlive it) ends too.
const EndSessionPath = "/auth/end-session"

// endSessionWindow bounds how long a signed end-session link works.
const endSessionWindow = 2 * time.Minute

// EndSessionURL returns the link a service's sign-out redirects to: federation's
// end-session endpoint for client, returning to next (an absolute URL on the
// client's host), signed with a key derived from the platform secret so that
// federation knows a Rose Ash service sent the browser.
func EndSessionURL(cfg *config.Config, client, next string, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	q := url.Values{"client": {client}, "next": {next}, "ts": {ts}, "sig": {endSessionSig(cfg.SecretKey, client, next, ts)}}
	return strings.TrimSuffix(cfg.Service("federation").PublicURL, "/") + EndSessionPath + "?" + q.Encode()
}

// VerifyEndSession checks an end-session request's query: it returns the
// client's next URL and true when the signature matches and was made within
// the last two minutes.
func VerifyEndSession(cfg *config.Config, q url.Values, now time.Time) (next string, ok bool) {
	client, next, ts := q.Get("client"), q.Get("next"), q.Get("ts")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || client == "" {
		return "", false
	}
	age := now.Sub(time.Unix(secs, 0))
	if age < -time.Minute || age > endSessionWindow {
		return "", false
	}
	if !hmac.Equal([]byte(q.Get("sig")), []byte(endSessionSig(cfg.SecretKey, client, next, ts))) {
		return "", false
	}
	return next, true
}

func endSessionSig(secretKey, client, next, ts string) string {
	m := hmac.New(sha256.New, config.DeriveKey(secretKey, "end-session"))
	m.Write([]byte(client + "\x00" + next + "\x00" + ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
