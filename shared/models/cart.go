package models

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Money is an amount in the minor units of an ISO 4217 currency (pence for
// GBP, cents for EUR and USD), never a float.
type Money struct {
	Minor    int64
	Currency string
}

// String formats m for people: "£12.50", "€3.00", "$1.99" for GBP, EUR and
// USD, otherwise the amount then the code, "12.50 CHF". Thousands are
// separated by commas ("£1,234.50") and the number of decimals is the
// currency's own ("1,500 JPY", "1.250 KWD").
func (m Money) String() string {
	neg, whole, frac := m.parts()
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	var symbol string
	switch m.Currency {
	case "GBP":
		symbol = "£"
	case "EUR":
		symbol = "€"
	case "USD":
		symbol = "$"
	}
	b.WriteString(symbol)
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	if symbol == "" {
		b.WriteByte(' ')
		b.WriteString(m.Currency)
	}
	return b.String()
}

// parts splits m into its sign, its whole major units and its fraction
// with the currency's number of digits ("" for a currency without).
func (m Money) parts() (neg bool, whole, frac string) {
	digits := CurrencyDigits(m.Currency)
	neg = m.Minor < 0
	abs := uint64(m.Minor)
	if neg {
		abs = -abs // two's complement: correct even for math.MinInt64
	}
	var unit uint64 = 1
	for range digits {
		unit *= 10
	}
	whole = strconv.FormatUint(abs/unit, 10)
	if digits > 0 {
		f := strconv.FormatUint(abs%unit, 10)
		frac = strings.Repeat("0", digits-len(f)) + f
	}
	return neg, whole, frac
}

// Decimal writes m's amount as a plain decimal in the currency's major
// unit, with its own number of decimals and no symbol or separators:
// "7.25" for 725 GBP, "1500" for 1500 JPY, "1.250" for 1250 KWD, "-0.05".
// It is what machines read (schema.org offers, payment APIs) and what a
// price form shows.
func (m Money) Decimal() string {
	neg, s, frac := m.parts()
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}

// CurrencyDigits returns how many decimal digits the currency's minor unit
// has (ISO 4217): 2 unless listed.
func CurrencyDigits(code string) int {
	switch code {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// ValidateCurrency returns an EInvalid error unless code is three upper-case
// letters, the form of an ISO 4217 code.
func ValidateCurrency(code string) error {
	if !currencyRE.MatchString(code) {
		return Errorf(EInvalid, "%q is not a currency code such as GBP.", code)
	}
	return nil
}

// CartSummary is what the cart's mini view shows: how many items the cart
// holds (the sum of its lines' quantities) and its total in each currency
// it holds, ordered by currency code; normally there is one. A user with no
// cart, or an empty one, has the zero CartSummary.
type CartSummary struct {
	ItemCount int
	Totals    []Money
}

// IsEmpty reports whether the cart holds nothing.
func (s CartSummary) IsEmpty() bool { return s.ItemCount == 0 }

// CartLine is one product in a cart: what the basket page lists. The
// lines of a cart add up to its CartSummary.
type CartLine struct {
	ProductRef string
	Title      string
	UnitPrice  Money
	Quantity   int
}

// Total returns the line's price: the unit price times the quantity.
func (l CartLine) Total() Money {
	return Money{Minor: l.UnitPrice.Minor * int64(l.Quantity), Currency: l.UnitPrice.Currency}
}

// MaxCartQuantity is the most of one product a cart line may hold: what
// the add-to-cart and quantity forms allow.
const MaxCartQuantity = 99

// MaxUnitPriceMinor bounds a unit price (a thousand million pounds in
// pence), so that no cart's total can overflow.
const MaxUnitPriceMinor = 100_000_000_000

// CartItemInput is a product being put into a cart. ProductRef identifies
// the product (the market's product id); Title and UnitPrice are what the
// cart shows for it.
type CartItemInput struct {
	ProductRef string
	Title      string
	UnitPrice  Money
	Quantity   int
}

// ValidateCartItem returns an EInvalid error unless in has a product
// reference (at most 200 characters) and a title (at most 200), neither
// with control characters; a unit price from 0 to MaxUnitPriceMinor in a
// valid currency; and a quantity from 1 to MaxCartQuantity.
func ValidateCartItem(in CartItemInput) error {
	switch {
	case strings.TrimSpace(in.ProductRef) == "" || utf8.RuneCountInString(in.ProductRef) > 200 ||
		strings.IndexFunc(in.ProductRef, unicode.IsControl) >= 0:
		return Errorf(EInvalid, "That is not a product we know.")
	case strings.TrimSpace(in.Title) == "":
		return Errorf(EInvalid, "A cart item needs a title.")
	case utf8.RuneCountInString(in.Title) > 200:
		return Errorf(EInvalid, "A cart item's title is at most 200 characters.")
	case strings.IndexFunc(in.Title, unicode.IsControl) >= 0:
		return Errorf(EInvalid, "A cart item's title cannot contain control characters.")
	case in.UnitPrice.Minor < 0 || in.UnitPrice.Minor > MaxUnitPriceMinor:
		return Errorf(EInvalid, "That price is out of range.")
	case in.Quantity < 1 || in.Quantity > MaxCartQuantity:
		return Errorf(EInvalid, "The quantity must be from 1 to %d.", MaxCartQuantity)
	}
	return ValidateCurrency(in.UnitPrice.Currency)
}

// CartOwner says whose cart: a signed-in user's (UserID) or a guest
// browser's (GuestKey, the hex SHA-256 of the random key in its cookie:
// the key itself is never stored). Make one with UserCart or GuestCart;
// the zero CartOwner is nobody's, and has no cart.
type CartOwner struct {
	UserID   uuid.UUID
	GuestKey string
}

// UserCart returns the owner of the signed-in user's cart.
func UserCart(userID uuid.UUID) CartOwner { return CartOwner{UserID: userID} }

// GuestCart returns the owner of the cart of the guest browser whose
// cookie holds cookieKey: the key is hashed here, so a stolen database
// names no browser's cookie.
func GuestCart(cookieKey string) CartOwner {
	sum := sha256.Sum256([]byte(cookieKey))
	return CartOwner{GuestKey: hex.EncodeToString(sum[:])}
}

// IsGuest reports whether o is a guest browser's cart.
func (o CartOwner) IsGuest() bool { return o.UserID == uuid.Nil && o.GuestKey != "" }

// IsZero reports whether o names no cart.
func (o CartOwner) IsZero() bool { return o.UserID == uuid.Nil && o.GuestKey == "" }

// CartLineUpdate brings one line of a cart up to date with the catalogue:
// its current title and price, and the most it may hold now (the stock
// left, at most MaxCartQuantity). A MaxQuantity of 0 or less removes the
// line (sold out, or no longer for sale).
type CartLineUpdate struct {
	ProductRef  string
	Title       string
	UnitPrice   Money
	MaxQuantity int
}

// MergedLine is one product of a guest's cart merged into a user's at
// sign-in: how many the user's cart had (Had), how many the guest's added
// (Added), and how many the line holds now (Now: less than Had+Added when
// the stock or MaxCartQuantity capped it, 0 when it was dropped).
type MergedLine struct {
	ProductRef string
	Title      string
	Had        int
	Added      int
	Now        int
}
