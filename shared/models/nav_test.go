package models_test

import (
	"strings"
	"testing"

	"rose-ash.com/platform/shared/models"
)

func TestValidateNavItem(t *testing.T) {
	for _, tc := range []struct {
		label, url string
		ok         bool
	}{
		{"Home", "/", true},
		{"About", "/about", true},
		{"Page", "/news?tag=bread#top", true},
		{"Rose Ash", "https://rose-ash.com", true},
		{"Shop", "http://market.localhost:8002/stalls", true},
		{strings.Repeat("é", 60), "/", true},
		{"", "/", false},
		{"   ", "/", false},
		{strings.Repeat("a", 61), "/", false},
		{"Bad\nlabel", "/", false},
		{"Empty", "", false},
		{"Relative", "about", false},
		{"Protocol-relative", "//evil.example", false},
		{"Backslash", "/\\evil.example", false},
		{"Script", "javascript:alert(1)", false},
		{"Script, cased", "JavaScript:alert(1)", false},
		{"Script, spaced", " javascript:alert(1)", false},
		{"Data", "data:text/html,hi", false},
		{"Mail", "mailto:a@example.org", false},
		{"No host", "https://", false},
		{"Upper scheme", "HTTPS://rose-ash.com", false},
		{"Space", "/a b", false},
		{"Tab", "/a\tb", false},
		{"Too long", "/" + strings.Repeat("a", 2000), false},
	} {
		err := models.ValidateNavItem(models.NavItem{Label: tc.label, URL: tc.url})
		if (err == nil) != tc.ok {
			t.Errorf("ValidateNavItem(%q, %q) = %v, want ok=%v", tc.label, tc.url, err, tc.ok)
		}
		if err != nil && models.Code(err) != models.EInvalid {
			t.Errorf("ValidateNavItem(%q, %q) code = %s, want invalid", tc.label, tc.url, models.Code(err))
		}
	}
}

func TestNavItemExternal(t *testing.T) {
	if (models.NavItem{URL: "/about"}).External() || !(models.NavItem{URL: "https://rose-ash.com"}).External() {
		t.Fatal("External does not tell local paths from absolute URLs")
	}
}
