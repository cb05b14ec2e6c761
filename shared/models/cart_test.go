package models_test

import (
	"math"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/models"
)

func TestMoneyString(t *testing.T) {
	for _, tc := range []struct {
		m    models.Money
		want string
	}{
		{models.Money{Minor: 1250, Currency: "GBP"}, "£12.50"},
		{models.Money{Minor: 300, Currency: "EUR"}, "€3.00"},
		{models.Money{Minor: 199, Currency: "USD"}, "$1.99"},
		{models.Money{Minor: 1250, Currency: "CHF"}, "12.50 CHF"},
		{models.Money{Minor: 0, Currency: "GBP"}, "£0.00"},
		{models.Money{Minor: 5, Currency: "GBP"}, "£0.05"},
		{models.Money{Minor: -150, Currency: "GBP"}, "-£1.50"},
		{models.Money{Minor: 123456789, Currency: "GBP"}, "£1,234,567.89"},
		{models.Money{Minor: 100000, Currency: "EUR"}, "€1,000.00"},
		{models.Money{Minor: 1500, Currency: "JPY"}, "1,500 JPY"},
		{models.Money{Minor: 1250, Currency: "KWD"}, "1.250 KWD"},
		{models.Money{Minor: math.MinInt64, Currency: "USD"}, "-$92,233,720,368,547,758.08"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.m, got, tc.want)
		}
	}
}

func TestValidateCartItem(t *testing.T) {
	good := models.CartItemInput{ProductRef: "p-1", Title: "Sourdough loaf",
		UnitPrice: models.Money{Minor: 450, Currency: "GBP"}, Quantity: 1}
	for _, tc := range []struct {
		name string
		edit func(*models.CartItemInput)
		ok   bool
	}{
		{"good", func(*models.CartItemInput) {}, true},
		{"free", func(in *models.CartItemInput) { in.UnitPrice.Minor = 0 }, true},
		{"most", func(in *models.CartItemInput) { in.Quantity = models.MaxCartQuantity }, true},
		{"no product", func(in *models.CartItemInput) { in.ProductRef = " " }, false},
		{"long product", func(in *models.CartItemInput) { in.ProductRef = strings.Repeat("p", 201) }, false},
		{"no title", func(in *models.CartItemInput) { in.Title = "" }, false},
		{"long title", func(in *models.CartItemInput) { in.Title = strings.Repeat("t", 201) }, false},
		{"control title", func(in *models.CartItemInput) { in.Title = "a\x00b" }, false},
		{"negative price", func(in *models.CartItemInput) { in.UnitPrice.Minor = -1 }, false},
		{"huge price", func(in *models.CartItemInput) { in.UnitPrice.Minor = models.MaxUnitPriceMinor + 1 }, false},
		{"lower currency", func(in *models.CartItemInput) { in.UnitPrice.Currency = "gbp" }, false},
		{"no currency", func(in *models.CartItemInput) { in.UnitPrice.Currency = "" }, false},
		{"zero quantity", func(in *models.CartItemInput) { in.Quantity = 0 }, false},
		{"too many", func(in *models.CartItemInput) { in.Quantity = models.MaxCartQuantity + 1 }, false},
	} {
		in := good
		tc.edit(&in)
		err := models.ValidateCartItem(in)
		if (err == nil) != tc.ok || (err != nil && models.Code(err) != models.EInvalid) {
			t.Errorf("%s: ValidateCartItem = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// Prices for machines (JSON-LD, OpenGraph) are decimal strings with the
// currency's own number of decimals.
func TestMoneyDecimal(t *testing.T) {
	for _, tc := range []struct {
		m    models.Money
		want string
	}{
		{models.Money{Minor: 725, Currency: "GBP"}, "7.25"},
		{models.Money{Minor: 5, Currency: "GBP"}, "0.05"},
		{models.Money{Minor: 0, Currency: "EUR"}, "0.00"},
		{models.Money{Minor: 123456789, Currency: "USD"}, "1234567.89"},
		{models.Money{Minor: 1500, Currency: "JPY"}, "1500"},
		{models.Money{Minor: 1250, Currency: "KWD"}, "1.250"},
		{models.Money{Minor: 1999, Currency: "CHF"}, "19.99"},
		{models.Money{Minor: -5, Currency: "GBP"}, "-0.05"},
	} {
		if got := tc.m.Decimal(); got != tc.want {
			t.Errorf("%+v.Decimal() = %q, want %q", tc.m, got, tc.want)
		}
	}
}

// A guest's cart is named by the SHA-256 of their cookie's key, never the
// key; a user's by their id; the zero owner names none.
func TestCartOwners(t *testing.T) {
	g := models.GuestCart("abc")
	if g.GuestKey != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || !g.IsGuest() || g.IsZero() {
		t.Errorf("GuestCart(abc) = %+v", g)
	}
	if models.GuestCart("abd") == g {
		t.Error("two keys name one cart")
	}
	var none models.CartOwner
	if !none.IsZero() || none.IsGuest() {
		t.Errorf("the zero owner: IsZero %v, IsGuest %v", none.IsZero(), none.IsGuest())
	}
	u := models.UserCart([16]byte{1})
	if u.IsGuest() || u.IsZero() {
		t.Errorf("UserCart = %+v: IsGuest %v, IsZero %v", u, u.IsGuest(), u.IsZero())
	}
}
