package internal

import (
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/models"
)

// maxWholeDigits bounds the whole part of a typed price, far below what an
// int64 of minor units holds.
const maxWholeDigits = 12

// currencyDecimals returns how many decimals the currency's minor unit has
// (2 for GBP, 0 for JPY, 3 for KWD), as models.Money writes it, so the form
// and the shop agree.
func currencyDecimals(currency string) int {
	return models.CurrencyDigits(strings.ToUpper(strings.TrimSpace(currency)))
}

// splitDecimal splits a typed number into its whole and fractional digits
// ("7.25" is "7", "25"); ok is false unless s is digits with at most one
// point.
func splitDecimal(s string) (whole, frac string, ok bool) {
	whole, frac, _ = strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return "", "", false
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return "", "", false
		}
	}
	return whole, frac, true
}

// parseMinor reads a price typed in major units ("7.25", "12", "0.5") as
// minor units of currency (725, 1200, 50) without floats. The message of
// the error names what (e.g. "the price of variant row 2").
func parseMinor(s, currency, what string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, models.Errorf(models.EInvalid, "Give %s.", what)
	}
	if strings.HasPrefix(s, "-") {
		return 0, models.Errorf(models.EInvalid, "%s cannot be negative (you typed %q).", capitalise(what), s)
	}
	decimals := currencyDecimals(currency)
	whole, frac, ok := splitDecimal(s)
	if !ok {
		return 0, models.Errorf(models.EInvalid, "%s must be a number such as %s (you typed %q).", capitalise(what), example(decimals), s)
	}
	if len(frac) > decimals {
		if decimals == 0 {
			return 0, models.Errorf(models.EInvalid, "%s must be a whole number in %s (you typed %q).", capitalise(what), currency, s)
		}
		return 0, models.Errorf(models.EInvalid, "%s may have at most %d decimal places (you typed %q).", capitalise(what), decimals, s)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > maxWholeDigits {
		return 0, models.Errorf(models.EInvalid, "%s is too large (you typed %q).", capitalise(what), s)
	}
	digits := whole + frac + strings.Repeat("0", decimals-len(frac))
	if digits == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, models.Errorf(models.EInvalid, "%s is too large (you typed %q).", capitalise(what), s)
	}
	return n, nil
}

// formatMinor writes minor units of currency as the form shows them:
// 725 GBP is "7.25", 1200 is "12.00".
func formatMinor(n int64, currency string) string {
	return models.Money{Minor: n, Currency: strings.ToUpper(strings.TrimSpace(currency))}.Decimal()
}

func example(decimals int) string {
	switch decimals {
	case 0:
		return "725"
	case 3:
		return "7.250"
	}
	return "7.25"
}

// parsePercent reads a VAT rate typed as a percentage ("20", "5.5",
// "12.25") as basis points (2000, 550, 1225) without floats. Empty is 0.
// The range (0 to 100%) is the store's to check.
func parsePercent(s string) (int, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" {
		return 0, nil
	}
	if strings.HasPrefix(s, "-") {
		return 0, models.Errorf(models.EInvalid, "The VAT rate must be from 0%% to 100%% (you typed %q).", s)
	}
	whole, frac, ok := splitDecimal(s)
	if !ok {
		return 0, models.Errorf(models.EInvalid, "The VAT rate must be a percentage such as 20 or 5.5 (you typed %q).", s)
	}
	if len(frac) > 2 {
		return 0, models.Errorf(models.EInvalid, "The VAT rate may have at most 2 decimal places (you typed %q).", s)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 5 {
		return 0, models.Errorf(models.EInvalid, "The VAT rate must be from 0%% to 100%% (you typed %q).", s)
	}
	n, _ := strconv.Atoi("0" + whole + frac + strings.Repeat("0", 2-len(frac)))
	return n, nil
}

// formatPercent writes basis points as the form shows them: 2000 is "20",
// 550 "5.5".
func formatPercent(bp int) string {
	return strings.TrimSuffix(models.FormatBasisPoints(bp), "%")
}

// capitalise upper-cases the first letter of s (ASCII).
func capitalise(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
