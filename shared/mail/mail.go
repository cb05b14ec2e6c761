// Package mail sends the platform's email: sign-in links first, later order
// confirmations and newsletters.
//
// A Sender delivers one Message. Three implementations exist: SMTPSender,
// for production, hands each message to an SMTP relay on a connection of
// its own; SMTPPool, for newsletters, keeps a few connections to the relay
// open and sends message after message on them; DirSink, for development,
// writes each message as an .eml file that a developer (or a dev page) can
// read back. All check the message the same way before doing anything, so
// a message that the DirSink accepts in development is one the relay gets
// in production. Each renders the message to bytes, signs them with DKIM
// when configured (see NewDKIM), and sends or writes exactly those bytes.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"rose-ash.com/platform/shared/models"
)

// Message is one email to one recipient.
//
// New fields (extra headers such as List-Unsubscribe, Reply-To) are added as
// optional fields whose zero value keeps today's behaviour, so literals that
// name their fields keep compiling.
type Message struct {
	// To is one address, "user@example.com" or "Name <user@example.com>".
	To string
	// Subject is a single line: it must not be empty and must not contain
	// CR or LF.
	Subject string
	// Text is the plain-text body. It is always sent and must not be blank.
	Text string
	// HTML, when not empty, is sent as an alternative to Text for mail
	// clients that display HTML.
	HTML string
	// List, when set, marks a message to a mailing list's subscriber with
	// the headers mail clients use to offer "unsubscribe".
	List *ListHeaders
}

// ListHeaders are the mailing-list headers of a message to a list's
// subscriber (RFC 2369, RFC 2919, RFC 8058).
type ListHeaders struct {
	// ID is the List-Id value: a phrase and the list's id in angle
	// brackets, `Rose Ash news <news.account.rose-ash.com>`.
	ID string
	// UnsubscribeURL is the https (http in development) link that ends this
	// subscription. With it the message carries
	// List-Unsubscribe-Post: List-Unsubscribe=One-Click, so a POST to it
	// must unsubscribe at once, without a session or a confirmation.
	UnsubscribeURL string
	// UnsubscribeMailto, when set, is offered too ("mailto:...").
	UnsubscribeMailto string
}

// Sender delivers messages.
type Sender interface {
	// Send delivers m, or returns an error without delivering it. An
	// invalid message (see ErrInvalidMessage) is refused before anything
	// is sent. Whether a failed delivery is worth retrying is reported by
	// IsTemporary.
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is in the chain of every error returned for a message
// that cannot be sent as it is (malformed To, empty or multi-line Subject,
// empty Text). Such errors are also models.Error values with code
// models.EInvalid and a message that is safe to show the user. Retrying them
// never helps.
var ErrInvalidMessage = errors.New("mail: invalid message")

func invalid(message string) error {
	return &models.Error{Code: models.EInvalid, Message: message, Err: ErrInvalidMessage}
}

// validate checks m before anything is written or sent.
func (m Message) validate() error {
	if strings.ContainsAny(m.To, "\r\n") {
		return invalid("The email address is not valid.")
	}
	if _, err := netmail.ParseAddress(m.To); err != nil {
		return invalid("The email address is not valid.")
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		return invalid("The email has no subject.")
	case strings.ContainsAny(m.Subject, "\r\n"):
		// A line break would let the subject start new headers.
		return invalid("The email subject must be a single line.")
	case strings.TrimSpace(m.Text) == "":
		return invalid("The email has no text.")
	}
	if l := m.List; l != nil {
		if strings.ContainsAny(l.ID+l.UnsubscribeURL+l.UnsubscribeMailto, "\r\n") ||
			strings.ContainsAny(l.UnsubscribeURL+l.UnsubscribeMailto, "<> ") {
			return invalid("The list headers are not valid.")
		}
		if l.UnsubscribeURL != "" && !strings.HasPrefix(l.UnsubscribeURL, "https://") && !strings.HasPrefix(l.UnsubscribeURL, "http://") {
			return invalid("The unsubscribe link must be an http(s) URL.")
		}
		if l.UnsubscribeMailto != "" && !strings.HasPrefix(l.UnsubscribeMailto, "mailto:") {
			return invalid("The unsubscribe address must be a mailto: URL.")
		}
	}
	return nil
}

// parseFrom checks a sender address ("noreply@example.com" or
// "Rose Ash <noreply@example.com>") and returns it parsed.
func parseFrom(from string) (*netmail.Address, error) {
	if strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("mail: from address %q: contains a line break", from)
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: from address %q: %w", from, err)
	}
	return addr, nil
}

// compose builds the RFC 5322 message for m, sent from from at now.
func compose(from *netmail.Address, m Message, now time.Time) (*gomail.Msg, error) {
	// The default User-Agent names the library and its version, which
	// recipients have no use for.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: setting recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	// go-mail's default Message-ID ends in the machine's host name, which
	// in a container is a meaningless id; the sender's domain is what mail
	// systems expect there.
	msg.SetMessageIDWithValue(randomHex(16) + "@" + domainOf(from.Address))
	if l := m.List; l != nil {
		if l.ID != "" {
			msg.SetGenHeader(gomail.Header("List-Id"), l.ID)
		}
		var uris []string
		if l.UnsubscribeURL != "" {
			uris = append(uris, l.UnsubscribeURL)
		}
		if l.UnsubscribeMailto != "" {
			uris = append(uris, l.UnsubscribeMailto)
		}
		if len(uris) > 0 {
			msg.SetListUnsubscribe(uris...)
		}
		if l.UnsubscribeURL != "" {
			msg.SetListUnsubscribePost()
		}
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// render composes m and returns the exact bytes to send in DATA (with a
// DKIM-Signature in front when d is not nil) and the envelope recipient.
// m must have been validated.
func render(from *netmail.Address, d *DKIM, m Message, now time.Time) (raw []byte, rcpt string, err error) {
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, "", invalid("The email address is not valid.")
	}
	msg, err := compose(from, m, now)
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	buf.Grow(1024 + len(m.Text) + len(m.HTML)*2)
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, "", fmt.Errorf("mail: rendering message: %w", err)
	}
	raw = buf.Bytes()
	if d != nil {
		if raw, err = d.sign(raw); err != nil {
			return nil, "", err
		}
	}
	return raw, to.Address, nil
}

func domainOf(address string) string {
	at := strings.LastIndexByte(address, '@')
	if at < 0 || at == len(address)-1 {
		return "localhost"
	}
	return address[at+1:]
}

// randomHex returns n random bytes as hex. crypto/rand.Read never fails
// (it panics if the system has no randomness), so there is no error.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
