package web_test

import (
	"testing"

	"rose-ash.com/platform/shared/web"
)

func TestListQuery(t *testing.T) {
	for _, c := range []struct {
		filters map[string]string
		page    int
		want    string
	}{
		{map[string]string{"q": "", "status": ""}, 1, ""},
		{map[string]string{"status": "paid", "q": "a&b"}, 1, "?q=a%26b&status=paid"},
		{nil, 3, "?page=3"},
	} {
		if got := web.ListQuery(c.filters, c.page); got != c.want {
			t.Errorf("ListQuery(%v, %d) = %q, want %q", c.filters, c.page, got, c.want)
		}
	}
}
