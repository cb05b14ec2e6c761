package activitypub

import (
	"strings"
	"time"
)

// Reading ActivityStreams values, which peers give in several shapes: a
// value or a list of them, an id or the object itself.

// parseTime reads a timestamp; a missing, malformed or future one (over an
// hour ahead) is now.
func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.After(time.Now().Add(time.Hour)) {
				break
			}
			return t
		}
	}
	return time.Now()
}

// asStrings is the ids of a value given as one or a list.
func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s := idOf(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// contains reports whether xs holds any of want.
func contains(xs []string, want ...string) bool {
	for _, x := range xs {
		for _, w := range want {
			if x == w {
				return true
			}
		}
	}
	return false
}

// containsSuffix reports whether any of xs ends with suffix.
func containsSuffix(xs []string, suffix string) bool {
	for _, x := range xs {
		if strings.HasSuffix(x, suffix) {
			return true
		}
	}
	return false
}

// firstOf is the first of a value given as one or a list (nil for none).
func firstOf(v any) any {
	l := asList(v)
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

// str is v as a string, or "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// asList treats a single value as a list of one.
func asList(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	default:
		return []any{t}
	}
}

// firstURL reads a URL given as a string, a Link/Image object or a list.
func firstURL(v any) string {
	for _, x := range asList(v) {
		switch t := x.(type) {
		case string:
			return t
		case map[string]any:
			if s := str(t["href"]); s != "" {
				return s
			}
			if u := firstURL(t["url"]); u != "" {
				return u
			}
		}
	}
	return ""
}

// idOf is the id of a value given as a URI or as an object.
func idOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		return str(t["id"])
	}
	return ""
}
