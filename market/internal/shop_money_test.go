package internal

import (
	"testing"

	"rose-ash.com/platform/shared/models"
)

// Prices typed in the filters are read as minor units without floats.
func TestParseMajor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", -1, true}, {"5", 500, true}, {"5.5", 550, true}, {"5.50", 550, true}, {"5,05", 505, true},
		{"£7.25", 725, true}, {" 0 ", 0, true}, {"0.01", 1, true}, {"999999999.99", 99999999999, true},
		{"abc", 0, false}, {"-1", 0, false}, {"5.555", 0, false}, {"5.", 0, false}, {".5", 0, false},
		{"1e3", 0, false}, {"1,000.00", 0, false}, {"1234567890", 0, false}, {"5 50", 0, false},
	} {
		got, err := parseMajor(tc.in, "lowest")
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseMajor(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && models.Code(err) != models.EInvalid {
			t.Errorf("parseMajor(%q): error code %s, want invalid", tc.in, models.Code(err))
		}
	}
}
