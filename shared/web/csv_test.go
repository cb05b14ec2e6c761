package web

import "testing"

func TestSpreadsheetSafeDisarmsFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://evil\")": "'=HYPERLINK(\"http://evil\")",
		"+44 20 7946 0000":            "'+44 20 7946 0000",
		"-1":                          "'-1",
		"@SUM(A1)":                    "'@SUM(A1)",
		"\tx":                         "'\tx",
		"\rx":                         "'\rx",
		"ann@example.org":             "ann@example.org",
		"":                            "",
		"Sourdough loaf":              "Sourdough loaf",
	} {
		if got := SpreadsheetSafe(in); got != want {
			t.Errorf("SpreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
