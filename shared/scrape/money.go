package scrape

import (
	"errors"
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/models"
)

// Exponent returns how many decimals currency's minor unit has: 0 for JPY,
// 3 for KWD, 2 for the rest (and for an unknown or empty code), as
// models.Money counts them.
func Exponent(currency string) int { return models.CurrencyDigits(currency) }

// currencySymbols maps the symbols shop pages print to ISO codes, for text
// read by microdata and selectors.
var currencySymbols = map[string]string{"£": "GBP", "€": "EUR", "$": "USD", "US$": "USD", "¥": "JPY", "₩": "KRW"}

// normalizeCurrency returns an ISO 4217 code for s ("gbp", "£"), or "" when s is empty or not one.
func normalizeCurrency(s string) string {
	s = strings.TrimSpace(s)
	if code, ok := currencySymbols[s]; ok {
		return code
	}
	if len(s) != 3 {
		return ""
	}
	up := strings.ToUpper(s)
	for i := 0; i < 3; i++ {
		if up[i] < 'A' || up[i] > 'Z' {
			return ""
		}
	}
	return up
}

// currencyInText finds a currency symbol or code in price text such as
// "£7.25" or "7,25 EUR"; "" when there is none.
func currencyInText(s string) string {
	for _, sym := range []string{"US$", "£", "€", "¥", "₩", "$"} {
		if strings.Contains(s, sym) {
			return currencySymbols[sym]
		}
	}
	letters := strings.FieldsFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' && r < 'a' || r > 'z' })
	for _, w := range letters {
		if c := normalizeCurrency(w); c != "" && len(w) == 3 && w == strings.ToUpper(w) {
			return c
		}
	}
	return ""
}

var errNoDigits = errors.New("no digits")

// ParseMinor reads a decimal price as a shop writes it ("7.25", "7,25",
// "1.234,50", "1,234.50", "1 234,50", "£7.25") into minor units of a
// currency with exp decimals. A lone comma followed by exactly three
// digits is a thousands separator ("1,234"); a lone point is always the
// decimal point, as schema.org prescribes. It returns an error for text
// with no digits, a negative price, more decimals than the currency has
// (other than trailing zeros), or a figure too large for int64.
func ParseMinor(s string, exp int) (int64, error) {
	t, err := firstNumber(s)
	if err != nil {
		return 0, err
	}
	lastDot, lastComma := strings.LastIndexByte(t, '.'), strings.LastIndexByte(t, ',')
	dec := -1 // index of the decimal separator
	switch {
	case lastDot >= 0 && lastComma >= 0:
		dec = max(lastDot, lastComma)
	case lastDot >= 0:
		if strings.Count(t, ".") == 1 {
			dec = lastDot
		}
	case lastComma >= 0:
		if strings.Count(t, ",") == 1 && len(t)-lastComma-1 != 3 {
			dec = lastComma
		}
	}
	intPart, frac := t, ""
	if dec >= 0 {
		intPart, frac = t[:dec], t[dec+1:]
		if strings.ContainsAny(frac, ".,") {
			return 0, errors.New("separators after the decimal point")
		}
	}
	intPart = strings.NewReplacer(".", "", ",", "").Replace(intPart)
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exp {
		return 0, errors.New("more decimals than the currency has")
	}
	digits := intPart + frac + strings.Repeat("0", exp-len(frac))
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > 15 {
		return 0, errors.New("too large a price")
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		n = n*10 + int64(digits[i]-'0')
	}
	return n, nil
}

// firstNumber returns the first figure in s with its separators ("1.234,50"
// from "£1.234,50 each"), digits grouped by spaces or apostrophes joined.
func firstNumber(s string) (string, error) {
	rs := []rune(s)
	start := -1
	for i, r := range rs {
		if r >= '0' && r <= '9' {
			start = i
			break
		}
	}
	if start < 0 {
		return "", errNoDigits
	}
	for j := start - 1; j >= 0; j-- {
		if r := rs[j]; r == '-' || r == '−' {
			return "", errors.New("a negative price")
		} else if r != ' ' && r != '\u00a0' && !strings.ContainsRune("£€$¥₩", r) {
			break
		}
	}
	var b strings.Builder
	for i := start; i < len(rs); i++ {
		r := rs[i]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '.' || r == ',':
			if next < '0' || next > '9' {
				return b.String(), nil
			}
			b.WriteRune(r)
		case r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\'' || r == '’':
			if next < '0' || next > '9' {
				return b.String(), nil
			}
		case r == 'e' || r == 'E':
			if next >= '0' && next <= '9' || next == '+' || next == '-' {
				return "", errors.New("a price in exponent notation")
			}
			return b.String(), nil
		default:
			return b.String(), nil
		}
	}
	return b.String(), nil
}

// FormatMinor writes minor units as a decimal figure with the currency's
// decimals: 725 GBP is "7.25", 1200 JPY is "1200".
func FormatMinor(minor int64, currency string) string {
	exp := Exponent(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp > 0 {
		for len(s) <= exp {
			s = "0" + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// normalizeAvailability maps schema.org availability (a URL or a bare
// word) and OpenGraph's words to InStock, OutOfStock, Backorder,
// Preorder, or "" when unknown.
func normalizeAvailability(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		s = s[i+1:]
	}
	s = strings.ToLower(s)
	s = strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s)
	switch s {
	case "instock", "instoreonly", "onlineonly", "limitedavailability", "available", "availablefororder", "yes", "true":
		return InStock
	case "outofstock", "soldout", "discontinued", "oos", "unavailable", "no", "false":
		return OutOfStock
	case "backorder", "backordered":
		return Backorder
	case "preorder", "presale", "pending":
		return Preorder
	}
	return ""
}

// availabilityText is how the CLI and messages say an availability.
func availabilityText(a string) string {
	switch a {
	case InStock:
		return "in stock"
	case OutOfStock:
		return "out of stock"
	case Backorder:
		return "on backorder"
	case Preorder:
		return "pre-order"
	}
	return ""
}
