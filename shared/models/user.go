package models

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// User is a person with an account on the platform. ID is public and never
// reused; Username is empty until they choose one on first sign-in.
type User struct {
	ID          uuid.UUID
	Email       string
	Username    string
	DisplayName string
	IsAdmin     bool
	CreatedAt   time.Time
}

// Name returns what to call the user: their display name, else their
// username, else the part of their email before the @.
func (u User) Name() string {
	switch {
	case u.DisplayName != "":
		return u.DisplayName
	case u.Username != "":
		return u.Username
	}
	local, _, _ := strings.Cut(u.Email, "@")
	return local
}

// NeedsProfile reports whether the user has yet to choose a username.
func (u User) NeedsProfile() bool { return u.Username == "" }

// NormalizeEmail trims and validates an email address and lower-cases its
// domain. It returns an EInvalid error for anything that is not a single
// plain address.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EInvalid, "Enter your email address.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 {
		return "", Errorf(EInvalid, "%q is not an email address.", s)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(s, " \t\r\n") {
		return "", Errorf(EInvalid, "%q is not an email address.", s)
	}
	return local + "@" + strings.ToLower(domain), nil
}

var usernameRE = regexp.MustCompile(`^[a-z0-9_]{3,30}$`)

// ValidateUsername returns an EInvalid error unless s is 3 to 30 lower-case
// letters, digits or underscores.
func ValidateUsername(s string) error {
	if !usernameRE.MatchString(s) {
		return Errorf(EInvalid, "A username is 3 to 30 lower-case letters, digits or underscores.")
	}
	return nil
}

// ValidateDisplayName returns an EInvalid error for an empty name, one over
// 100 characters, or one with control characters.
func ValidateDisplayName(s string) error {
	if strings.TrimSpace(s) == "" {
		return Errorf(EInvalid, "Enter the name people will see.")
	}
	if utf8.RuneCountInString(s) > 100 {
		return Errorf(EInvalid, "A display name is at most 100 characters.")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return Errorf(EInvalid, "A display name cannot contain control characters.")
		}
	}
	return nil
}

// MaxBio is the longest author biography, in characters.
const MaxBio = 500

// NormalizeBio trims a biography and turns Windows line breaks into plain
// ones; it returns an EInvalid error for one over MaxBio characters or with
// control characters other than line breaks and tabs.
func NormalizeBio(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if utf8.RuneCountInString(s) > MaxBio {
		return s, Errorf(EInvalid, "A biography is at most %d characters (this one has %d).", MaxBio, utf8.RuneCountInString(s))
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == '\r' {
			return s, Errorf(EInvalid, "A biography cannot contain control characters.")
		}
	}
	return s, nil
}

// GhostAuthorEmailDomain is the domain of the placeholder addresses the
// Ghost sync gives the users it creates for Ghost authors (an email is
// required and unique): ghost-<ghost author id>@ghost-author.invalid.
// .invalid is reserved (RFC 2606), so no mail ever reaches it and nobody can
// sign in as such a user.
const GhostAuthorEmailDomain = "ghost-author.invalid"
