package models

import "testing"

func TestValidatePostSlug(t *testing.T) {
	long := ""
	for len(long) < 120 {
		long += "a"
	}
	for _, tc := range []struct {
		slug string
		ok   bool
	}{
		{"welcome", true},
		{"meet-the-growers-2026", true},
		{long, true},
		{long + "a", false},
		{"", false},
		{"Welcome", false},
		{"-welcome", false},
		{"welcome-", false},
		{"two--hyphens", false},
		{"with space", false},
		{"under_score", false},
		{"café", false},
		{"../etc", false},
		{"search", false},
		{"tag", false},
		{"admin", false},
	} {
		err := ValidatePostSlug(tc.slug)
		if (err == nil) != tc.ok {
			t.Errorf("ValidatePostSlug(%q) = %v, want ok=%v", tc.slug, err, tc.ok)
		}
		if err != nil && Code(err) != EInvalid {
			t.Errorf("ValidatePostSlug(%q) code = %s, want invalid", tc.slug, Code(err))
		}
	}
}

func TestReadingMinutes(t *testing.T) {
	for words, want := range map[int]int{0: 1, 1: 1, 264: 1, 265: 1, 529: 1, 530: 2, 2650: 10} {
		if got := ReadingMinutes(words); got != want {
			t.Errorf("ReadingMinutes(%d) = %d, want %d", words, got, want)
		}
	}
}
