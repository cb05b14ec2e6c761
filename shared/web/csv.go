package web

import "strings"

// SpreadsheetSafe returns s as a CSV cell that a spreadsheet shows as
// text: a value starting with =, +, -, @, a tab or a carriage return is
// prefixed with an apostrophe, so that a name or an address a visitor
// typed ("=HYPERLINK(...)") is never run as a formula when an admin opens
// the export (CSV injection, OWASP). Other values are returned as they
// are.
func SpreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
