package ghostsync

import "testing"

func TestUsernameBase(t *testing.T) {
	for slug, want := range map[string]string{
		"ann-smith":                          "ann_smith",
		"ann":                                "ann",
		"jo":                                 "author_jo",
		"":                                   "author",
		"Émile-Zola":                         "mile_zola",
		"a-b":                                "a_b",
		"--x--":                              "author_x",
		"very-long-slug-that-goes-on-and-on": "very_long_slug_that_goes_on_an",
	} {
		got := usernameBase(slug)
		if got != want {
			t.Errorf("usernameBase(%q) = %q, want %q", slug, got, want)
		}
		if len(got) < 3 || len(got) > 30 {
			t.Errorf("usernameBase(%q) = %q is not a valid length", slug, got)
		}
	}
}
