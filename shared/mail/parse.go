package mail

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Parsed is an email read back from its RFC 5322 form: what a person would
// see in a mail client.
type Parsed struct {
	From    string    // the From header, decoded ("Rose Ash <noreply@example.com>")
	To      string    // the To header, decoded; several addresses are joined with ", "
	Subject string    // decoded from RFC 2047 encoded words
	Date    time.Time // the Date header; zero when it is missing or malformed
	Text    string    // the text/plain body, transfer encoding removed, line ends as "\n"
	HTML    string    // the text/html alternative, if any, decoded the same way
}

// maxParsedBody caps how much of a body part ParseMessage reads, so a huge
// or hostile file cannot exhaust memory.
const maxParsedBody = 10 << 20

// ParseMessage reads one RFC 5322 message from r and returns its headers and
// its plain-text and HTML bodies (looking inside multipart/alternative and
// multipart/mixed, skipping attachments, undoing quoted-printable and base64).
// It returns an error when the message or its MIME structure is malformed.
// Bodies are assumed to be UTF-8 (or ASCII), which is what Sender produces.
func ParseMessage(r io.Reader) (Parsed, error) {
	msg, err := netmail.ReadMessage(r)
	if err != nil {
		return Parsed{}, fmt.Errorf("mail: reading message: %w", err)
	}
	var p Parsed
	var dec mime.WordDecoder
	if p.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Parsed{}, fmt.Errorf("mail: decoding subject: %w", err)
	}
	if p.From, err = addressHeader(msg.Header, "From"); err != nil {
		return Parsed{}, err
	}
	if p.To, err = addressHeader(msg.Header, "To"); err != nil {
		return Parsed{}, err
	}
	if d, err := msg.Header.Date(); err == nil {
		p.Date = d
	}
	if err := readBodies(&p, textproto.MIMEHeader(msg.Header), msg.Body, 0); err != nil {
		return Parsed{}, err
	}
	return p, nil
}

func addressHeader(h netmail.Header, name string) (string, error) {
	if h.Get(name) == "" {
		return "", nil
	}
	list, err := h.AddressList(name)
	if err != nil {
		return "", fmt.Errorf("mail: parsing %s header: %w", name, err)
	}
	out := make([]string, len(list))
	for i, a := range list {
		if a.Name == "" {
			out[i] = a.Address
		} else {
			out[i] = a.Name + " <" + a.Address + ">"
		}
	}
	return strings.Join(out, ", "), nil
}

// readBodies fills p.Text and p.HTML from the first text/plain and text/html
// parts found under a part with header h and body body.
func readBodies(p *Parsed, h textproto.MIMEHeader, body io.Reader, depth int) error {
	if depth > 10 {
		return errors.New("mail: MIME parts nested too deeply")
	}
	mediaType := "text/plain"
	var params map[string]string
	if ct := h.Get("Content-Type"); ct != "" {
		var err error
		if mediaType, params, err = mime.ParseMediaType(ct); err != nil {
			return fmt.Errorf("mail: parsing content type %q: %w", ct, err)
		}
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return nil
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextPart undoes quoted-printable itself (and drops the
			// header); base64 is left to decode below.
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("mail: reading %s part: %w", mediaType, err)
			}
			if err := readBodies(p, part.Header, part, depth+1); err != nil {
				return err
			}
		}
	}
	var target *string
	switch {
	case mediaType == "text/plain" && p.Text == "":
		target = &p.Text
	case mediaType == "text/html" && p.HTML == "":
		target = &p.HTML
	default:
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(io.LimitReader(body, maxParsedBody))
	if err != nil {
		return fmt.Errorf("mail: reading %s body: %w", mediaType, err)
	}
	*target = strings.ReplaceAll(string(b), "\r\n", "\n")
	return nil
}
