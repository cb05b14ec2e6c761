package sumup_test

import (
	"testing"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/sumup"
)

func TestParseAmountIsExact(t *testing.T) {
	for _, tc := range []struct {
		in, cur string
		want    int64
		bad     bool
	}{
		{"12.5", "GBP", 1250, false},
		{"12.50", "GBP", 1250, false},
		{"0.1", "EUR", 10, false},
		{"0.29", "EUR", 29, false}, // 0.29 as a float64 is 28.999... pence
		{"1500", "JPY", 1500, false},
		{"1.250", "KWD", 1250, false},
		{"1e1", "GBP", 1000, false},
		{"1.5E+2", "GBP", 15000, false},
		{"1250e-2", "GBP", 1250, false},
		{"12.000", "GBP", 1200, false},
		{"-0.05", "GBP", -5, false},
		{"12.345", "GBP", 0, true},
		{"1.5", "JPY", 0, true},
		{"", "GBP", 0, true},
		{"1.", "GBP", 0, true},
		{".5", "GBP", 0, true},
		{"abc", "GBP", 0, true},
		{"99999999999999999999", "GBP", 0, true},
	} {
		got, err := sumup.ParseAmount(tc.in, tc.cur)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseAmount(%q, %s) = %v, want an error", tc.in, tc.cur, got)
			}
			continue
		}
		if err != nil || got != (models.Money{Minor: tc.want, Currency: tc.cur}) {
			t.Errorf("ParseAmount(%q, %s) = %v, %v; want %d", tc.in, tc.cur, got, err, tc.want)
		}
	}
}

func TestFormatAmountRoundTrips(t *testing.T) {
	for _, m := range []models.Money{{Minor: 1250, Currency: "GBP"}, {Minor: 7, Currency: "EUR"}, {Minor: 1500, Currency: "JPY"}} {
		n := sumup.FormatAmount(m)
		back, err := sumup.ParseAmount(n.String(), m.Currency)
		if err != nil || back != m {
			t.Errorf("%v -> %s -> %v, %v", m, n, back, err)
		}
	}
}
