package newsletters

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Purposes of the signed links a subscriber receives. A token signed for
// one purpose is refused for another.
const (
	// PurposeConfirm confirms a subscription (double opt-in); it expires.
	PurposeConfirm = "confirm"
	// PurposeUnsubscribe ends one subscription (the List-Unsubscribe link
	// and the footer of every list message); it does not expire, since an
	// old message must still let its reader leave.
	PurposeUnsubscribe = "unsubscribe"
	// PurposePreferences opens the subscriber's preferences page without
	// signing in; it does not expire either.
	PurposePreferences = "preferences"
)

// ConfirmLinkTTL is how long a confirmation link works.
const ConfirmLinkTTL = 72 * time.Hour

// ErrLinkExpired and ErrLinkInvalid are what Links.Parse returns for a
// token whose time is up, and for one that is malformed, tampered with or
// signed for another purpose. Pages show each with its own sentence.
var (
	ErrLinkExpired = errors.New("newsletters: the link has expired")
	ErrLinkInvalid = errors.New("newsletters: the link is not valid")
)

// Token is what a signed link carries: the subscriber, the list (uuid.Nil
// for the preferences page), and when it stops working (zero: never).
type Token struct {
	Purpose      string
	SubscriberID uuid.UUID
	ListID       uuid.UUID
	Expires      time.Time
}

// Links signs and checks the tokens of the links in list messages and
// builds their absolute URLs on the account service. Key is the secret
// (config.DeriveKey(secretKey, "newsletter-links")); Base is the account
// service's public base URL, without a trailing slash.
type Links struct {
	Key  []byte
	Base string
	// Mailto, when set, is the address ("unsubscribe@example.org") offered
	// in List-Unsubscribe besides the link (ListMessage).
	Mailto string
}

// token layout, before base64url: subscriber (16) | list (16) | expiry unix
// seconds (8, 0 for never) | HMAC-SHA256(purpose | those 40 bytes)[:16].
const tokenBody = 16 + 16 + 8

// Sign returns t as a URL-safe token.
func (l Links) Sign(t Token) string {
	b := make([]byte, tokenBody, tokenBody+16)
	copy(b[0:16], t.SubscriberID[:])
	copy(b[16:32], t.ListID[:])
	if !t.Expires.IsZero() {
		binary.BigEndian.PutUint64(b[32:40], uint64(t.Expires.Unix()))
	}
	return base64.RawURLEncoding.EncodeToString(append(b, l.mac(t.Purpose, b)...))
}

// Parse checks a token for purpose at now and returns what it carries.
// Errors: ErrLinkInvalid, ErrLinkExpired (checked only after the
// signature, so an expired link is one this site really made).
func (l Links) Parse(purpose, token string, now time.Time) (Token, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil || len(b) != tokenBody+16 {
		return Token{}, ErrLinkInvalid
	}
	if !hmac.Equal(b[tokenBody:], l.mac(purpose, b[:tokenBody])) {
		return Token{}, ErrLinkInvalid
	}
	t := Token{Purpose: purpose}
	copy(t.SubscriberID[:], b[0:16])
	copy(t.ListID[:], b[16:32])
	if exp := binary.BigEndian.Uint64(b[32:40]); exp != 0 {
		t.Expires = time.Unix(int64(exp), 0).UTC()
		if !now.Before(t.Expires) {
			return t, ErrLinkExpired
		}
	}
	return t, nil
}

func (l Links) mac(purpose string, body []byte) []byte {
	m := hmac.New(sha256.New, l.Key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:16]
}

// ConfirmURL is the double opt-in link for subscriberID on listID, valid
// for ConfirmLinkTTL from now: <Base>/newsletters/confirm?t=<token>.
func (l Links) ConfirmURL(subscriberID, listID uuid.UUID, now time.Time) string {
	return l.url("/newsletters/confirm", Token{Purpose: PurposeConfirm, SubscriberID: subscriberID, ListID: listID, Expires: now.Add(ConfirmLinkTTL)})
}

// UnsubscribeURL is the link that ends subscriberID's subscription to
// listID: <Base>/newsletters/unsubscribe?t=<token>. A GET shows a page
// with a button; a POST (RFC 8058 one-click) unsubscribes at once.
func (l Links) UnsubscribeURL(subscriberID, listID uuid.UUID) string {
	return l.url("/newsletters/unsubscribe", Token{Purpose: PurposeUnsubscribe, SubscriberID: subscriberID, ListID: listID})
}

// PreferencesURL is the subscriber's preferences page, reachable from
// every list message without signing in: <Base>/newsletters/preferences?t=<token>.
func (l Links) PreferencesURL(subscriberID uuid.UUID) string {
	return l.url("/newsletters/preferences", Token{Purpose: PurposePreferences, SubscriberID: subscriberID})
}

func (l Links) url(path string, t Token) string {
	return strings.TrimRight(l.Base, "/") + path + "?t=" + url.QueryEscape(l.Sign(t))
}
