package oauth

import (
	"net/url"
	"strings"
)

// SafeNext returns raw when it is a local path on this host (so a sign-in
// can return to it) and "/" otherwise. It refuses everything that a browser
// could take to another site: "//evil", "/\\evil", "https:evil",
// "javascript:...", absolute URLs, control characters.
func SafeNext(raw string) string {
	if raw == "" || len(raw) > 2000 || !strings.HasPrefix(raw, "/") ||
		strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/\\") {
		return "/"
	}
	for _, c := range raw {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return raw
}

// SafeNextOrOrigin is SafeNext that also accepts an absolute URL on one of
// the given origins (scheme://host[:port], compared exactly), for links that
// start on one service and finish on another.
func SafeNextOrOrigin(raw string, origins []string) string {
	if local := SafeNext(raw); local != "/" || raw == "/" {
		return local
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || strings.ContainsAny(raw, "\\\r\n\t") {
		return "/"
	}
	origin := u.Scheme + "://" + u.Host
	for _, o := range origins {
		if origin == strings.TrimSuffix(o, "/") && (u.Path == "" || strings.HasPrefix(u.Path, "/")) {
			return raw
		}
	}
	return "/"
}
