package newsletters

import (
	netmail "net/mail"
	"strings"

	"rose-ash.com/platform/shared/models"
)

// disposableDomains are well-known throwaway-mailbox services: a newsletter
// sent there is read once if at all, and later bounces.
var disposableDomains = map[string]bool{
	"mailinator.com": true, "guerrillamail.com": true, "guerrillamail.net": true, "guerrillamail.org": true,
	"sharklasers.com": true, "grr.la": true, "10minutemail.com": true, "10minutemail.net": true,
	"yopmail.com": true, "yopmail.net": true, "temp-mail.org": true, "tempmail.com": true,
	"trashmail.com": true, "trashmail.net": true, "trashmail.de": true, "getnada.com": true,
	"dispostable.com": true, "maildrop.cc": true, "throwawaymail.com": true, "fakeinbox.com": true,
	"mintemail.com": true, "mohmal.com": true, "emailondeck.com": true, "spamgourmet.com": true,
}

// Disposable reports whether the address's domain (or a parent of it) is a
// known throwaway-mailbox service.
func Disposable(address string) bool {
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return false
	}
	d := strings.ToLower(address[at+1:])
	for d != "" {
		if disposableDomains[d] {
			return true
		}
		dot := strings.IndexByte(d, '.')
		if dot < 0 {
			break
		}
		d = d[dot+1:]
	}
	return false
}

// NormalizeAddress checks that s is one plain email address a newsletter
// can be sent to and returns it trimmed and lower-cased. Errors: EInvalid
// with the sentence to show beside the form's field.
func NormalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", models.Errorf(models.EInvalid, "Please enter your email address.")
	}
	if len(s) > 254 {
		return "", models.Errorf(models.EInvalid, "That email address is too long.")
	}
	one := models.Errorf(models.EInvalid, "Please enter one email address, like name@example.org.")
	if strings.ContainsAny(s, " \t\r\n,;<>\"") {
		return "", one
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", one
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.Contains(domain, "..") || strings.HasPrefix(domain, "[") {
		return "", one
	}
	s = strings.ToLower(s)
	if Disposable(s) {
		return "", models.Errorf(models.EInvalid, "Please use a permanent address: we do not send newsletters to disposable mailboxes.")
	}
	return s, nil
}
