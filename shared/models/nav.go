package models

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// NavItem is one link of the site navigation the blog owns. Top-level items
// have no ParentID; Children are the items under this one, in the order
// they are shown.
type NavItem struct {
	ID       uuid.UUID
	Label    string
	URL      string
	Position int
	ParentID uuid.NullUUID
	Children []NavItem
}

// External reports whether the item links off the platform (an absolute
// http(s) URL) rather than to a local path.
func (n NavItem) External() bool { return !strings.HasPrefix(n.URL, "/") }

// ValidateNavItem returns an EInvalid error unless n's label is 1 to 60
// characters without control characters and its URL is a local path
// ("/about") or an absolute http or https URL of at most 2000 bytes.
// Protocol-relative ("//host"), javascript: and any other scheme are
// refused, as are spaces and control characters anywhere in the URL.
func ValidateNavItem(n NavItem) error {
	if strings.TrimSpace(n.Label) == "" {
		return Errorf(EInvalid, "Enter the link's label.")
	}
	if utf8.RuneCountInString(n.Label) > 60 {
		return Errorf(EInvalid, "A link's label is at most 60 characters.")
	}
	if strings.IndexFunc(n.Label, unicode.IsControl) >= 0 {
		return Errorf(EInvalid, "A link's label cannot contain control characters.")
	}
	return validateNavURL(n.URL)
}

func validateNavURL(s string) error {
	bad := Errorf(EInvalid, "A link is a local path such as /about or a full http:// or https:// address.")
	if s == "" || len(s) > 2000 || strings.ContainsRune(s, '\\') || strings.IndexFunc(s, isNavURLSpaceOrControl) >= 0 {
		return bad
	}
	if strings.HasPrefix(s, "/") {
		if strings.HasPrefix(s, "//") {
			return bad // protocol-relative: another host
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		!strings.HasPrefix(s, u.Scheme+"://") { // lower-case scheme, as the database checks
		return bad
	}
	return nil
}

func isNavURLSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }
