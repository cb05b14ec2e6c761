package web

import (
	"net/url"
	"strconv"
)

// ListQuery writes a list page's filters (those not empty) and its page
// (when above 1) as a query string: "?market=x&page=2", or "" when there
// is nothing to say.
func ListQuery(filters map[string]string, page int) string {
	v := url.Values{}
	for k, s := range filters {
		if s != "" {
			v.Set(k, s)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}
