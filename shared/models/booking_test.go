package models

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestTicketCodesParseBack(t *testing.T) {
	secret := []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	code := TicketCode(secret)
	if len(code) != 26 || strings.ToUpper(code) != code {
		t.Fatalf("code %q", code)
	}
	for _, typed := range []string{code, strings.ToLower(code), code[:5] + "-" + code[5:13] + " " + code[13:] + "\n",
		"deadbeef0102030405060708090a0b0c"} {
		got, err := ParseTicketCode(typed)
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("%q: %x, %v", typed, got, err)
		}
	}
	for _, bad := range []string{"", "hello", code[:25], code + "A", "1" + code[1:25] + "!", strings.Repeat("z", 32)} {
		if _, err := ParseTicketCode(bad); Code(err) != EInvalid {
			t.Errorf("%q: %v, want invalid", bad, err)
		}
	}
}

func TestValidateBooker(t *testing.T) {
	for _, c := range []struct {
		name, email string
		guest       bool
		want        string
	}{
		{"Ann", "ann@example.org", true, ""},
		{"", "ann@example.org", false, ""},
		{"", "", false, ""},
		{"", "ann@example.org", true, "Enter your name."},
		{"Ann", "", true, "Enter your email address."},
		{"Ann", "ann@", true, "Enter an email address like"},
		{"Ann", "ann example@x.org", true, "Enter an email address like"},
		{"A\x01nn", "ann@example.org", true, "control characters"},
		{strings.Repeat("a", 201), "", false, "at most 200"},
	} {
		err := ValidateBooker(c.name, c.email, c.guest)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(Message(err), c.want)) {
			t.Errorf("%q %q guest=%v: %v, want %q", c.name, c.email, c.guest, err, c.want)
		}
	}
}

func TestSeatsLeftAndCancelDeadline(t *testing.T) {
	for left, want := range map[int]string{-1: "Sold out.", 0: "Sold out.", 1: "Only 1 place left.", 3: "Only 3 places left."} {
		if got := SeatsLeftMessage(left); got != want {
			t.Errorf("%d: %q", left, got)
		}
	}
	start := time.Date(2026, 6, 3, 18, 0, 0, 0, time.UTC)
	b := Booking{Status: BookingConfirmed, StartsAt: start, CancelCutoffMinutes: 60}
	if !b.Cancellable(start.Add(-61*time.Minute)) || b.Cancellable(start.Add(-time.Hour)) {
		t.Error("the cutoff is an hour before the start")
	}
	b.Status = BookingCancelled
	if b.Cancellable(start.Add(-2 * time.Hour)) {
		t.Error("a cancelled booking is cancellable")
	}
	if ZoneOf("Nowhere/Else") != time.UTC || ZoneOf("Europe/London").String() != "Europe/London" {
		t.Error("zones")
	}
}
