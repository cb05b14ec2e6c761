package sumup

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/models"
)

// FormatAmount writes m as SumUp's JSON amount: a number in the currency's
// major unit, built from the minor units as text (7.25 for 725 GBP), so no
// float ever holds money.
func FormatAmount(m models.Money) json.Number {
	return json.Number(m.Decimal())
}

// ParseAmount reads a JSON number in major units ("12.5", "12.50", "1e1")
// exactly into the minor units of currency. It returns an error when the
// number is malformed, has more decimals than the currency's minor unit
// (12.345 GBP), or does not fit in an int64.
func ParseAmount(number, currency string) (models.Money, error) {
	bad := func(why string) (models.Money, error) {
		return models.Money{}, fmt.Errorf("amount %q in %s: %s", number, currency, why)
	}
	s := number
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 40 || e < -40 {
			return bad("malformed or out-of-range exponent")
		}
		exp, s = e, s[:i]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) || (strings.Contains(s, ".") && frac == "") {
		return bad("not a decimal number")
	}
	digits := whole + frac
	// The amount is digits x 10^(exp - len(frac)) major units, so
	// digits x 10^shift minor units.
	shift := exp - len(frac) + models.CurrencyDigits(currency)
	if shift < 0 {
		cut := len(digits) + shift
		if cut < 0 {
			cut = 0
		}
		if strings.Trim(digits[cut:], "0") != "" {
			return bad(fmt.Sprintf("more than %d decimals", models.CurrencyDigits(currency)))
		}
		digits = digits[:cut]
	} else {
		digits += strings.Repeat("0", shift)
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		digits = "0"
	}
	if neg {
		digits = "-" + digits
	}
	minor, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return bad("too large")
	}
	return models.Money{Minor: minor, Currency: currency}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
