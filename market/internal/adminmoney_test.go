package internal

import (
	"strings"
	"testing"
)

func TestParseMinor(t *testing.T) {
	for _, c := range []struct {
		in, currency string
		want         int64
	}{
		{"7.25", "GBP", 725}, {"12", "GBP", 1200}, {"0.5", "GBP", 50}, {".99", "EUR", 99}, {" 3.10 ", "GBP", 310},
		{"0", "GBP", 0}, {"007.05", "GBP", 705}, {"1500", "JPY", 1500}, {"1.250", "KWD", 1250},
		{"999999999999.99", "GBP", 99999999999999},
	} {
		got, err := parseMinor(c.in, c.currency, "the price of variant row 1")
		if err != nil || got != c.want {
			t.Errorf("parseMinor(%q, %s) = %d, %v; want %d", c.in, c.currency, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, currency, msg string }{
		{"7.255", "GBP", "at most 2 decimal places"},
		{"-1", "GBP", "The price of variant row 2 cannot be negative"},
		{"abc", "GBP", "must be a number such as 7.25"},
		{"7,25", "GBP", "must be a number"},
		{"1e3", "GBP", "must be a number"},
		{"", "GBP", "Give the price of variant row 2"},
		{".", "GBP", "must be a number"},
		{"7.5", "JPY", "whole number in JPY"},
		{"1234567890123", "GBP", "too large"},
	} {
		_, err := parseMinor(c.in, c.currency, "the price of variant row 2")
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("parseMinor(%q, %s) error %v, want %q", c.in, c.currency, err, c.msg)
		}
	}
}

func TestFormatMinorRoundTrips(t *testing.T) {
	for _, c := range []struct {
		n        int64
		currency string
		want     string
	}{{725, "GBP", "7.25"}, {1200, "GBP", "12.00"}, {5, "EUR", "0.05"}, {1500, "JPY", "1500"}, {1250, "KWD", "1.250"}} {
		got := formatMinor(c.n, c.currency)
		back, err := parseMinor(got, c.currency, "x")
		if got != c.want || err != nil || back != c.n {
			t.Errorf("formatMinor(%d, %s) = %q (back %d, %v), want %q", c.n, c.currency, got, back, err, c.want)
		}
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]int{"20": 2000, "5.5": 550, "12.25": 1225, "0": 0, "": 0, "100": 10000, "20%": 2000, "150": 15000} {
		got, err := parsePercent(in)
		if err != nil || got != want {
			t.Errorf("parsePercent(%q) = %d, %v; want %d", in, got, err, want)
		}
		if err == nil && want <= 10000 && in != "" && strings.TrimSuffix(in, "%") != formatPercent(got) {
			t.Errorf("formatPercent(%d) = %q, want %q", got, formatPercent(got), in)
		}
	}
	for in, msg := range map[string]string{"-5": "from 0% to 100%", "twenty": "a percentage such as 20", "5.555": "at most 2 decimal places",
		"1234567": "from 0% to 100%"} {
		if _, err := parsePercent(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parsePercent(%q) error %v, want %q", in, err, msg)
		}
	}
}
