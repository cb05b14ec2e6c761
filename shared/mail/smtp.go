package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes for SMTPConfig.TLS.
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS before
	// anything else; a server that does not offer STARTTLS is refused.
	// Default port 587.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte ("SMTPS"). Default port 465.
	TLSImplicit = "tls"
	// TLSNone never encrypts: only for a relay on the same host or private
	// network, and tests. A password is still never sent in clear text
	// except to a loopback host: go-mail refuses PLAIN and LOGIN over an
	// unencrypted connection to anything else. Default port 25.
	TLSNone = "none"
)

// DefaultSMTPTimeout is used when SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 15 * time.Second

// SMTPConfig says how to reach the SMTP relay.
type SMTPConfig struct {
	// Host is the relay's host name (checked against its certificate) or
	// IP address.
	Host string
	// Port defaults by TLS mode: 587 for starttls, 465 for tls, 25 for none.
	Port int
	// Username and Password authenticate (AUTH PLAIN or LOGIN, else the
	// strongest mechanism the server offers) when Username is set. The
	// password never appears in errors, String or JSON.
	Username string
	Password string `json:"-"`
	// From is the sender, "noreply@example.com" or
	// "Rose Ash <noreply@example.com>".
	From string
	// TLS is TLSStartTLS (the default when empty), TLSImplicit or TLSNone.
	TLS string
	// Timeout bounds connecting and each stage of a delivery;
	// DefaultSMTPTimeout when zero. A sooner ctx deadline wins.
	Timeout time.Duration
	// TLSConfig, when set, replaces the default TLS settings (system roots,
	// server name = Host), e.g. to trust a private CA. It is cloned.
	TLSConfig *tls.Config `json:"-"`
	// DKIM, when set, signs every message (see NewDKIM); nil sends them
	// unsigned.
	DKIM *DKIM `json:"-"`
}

// String describes the relay without the password, e.g.
// "smtp://user@mail.example.com:587 (starttls)", so a config can be logged.
func (c SMTPConfig) String() string {
	user := ""
	if c.Username != "" {
		user = c.Username + "@"
	}
	return fmt.Sprintf("smtp://%s%s (%s)", user, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.TLS)
}

// GoString is String, so that %#v does not print the password either.
func (c SMTPConfig) GoString() string { return c.String() }

// SMTPSender is the production Sender for occasional messages (sign-in
// links, order confirmations): each Send connects to the relay, delivers
// one message and disconnects. For many messages in a row use SMTPPool. It
// is safe for concurrent use.
type SMTPSender struct {
	cfg  SMTPConfig
	from *netmail.Address
}

// NewSMTP checks cfg, fills in its defaults and returns a sender. It does
// not connect. It returns an error for a missing Host, a port out of range,
// an unknown TLS mode, a negative Timeout, a malformed From, or a Password
// without a Username.
func NewSMTP(cfg SMTPConfig) (*SMTPSender, error) {
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Host) == "" {
		return nil, errors.New("mail: smtp host: is empty")
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("mail: smtp tls mode %q: must be %q, %q or %q",
			cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: smtp port %d: out of range", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mail: smtp timeout %s: is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("mail: smtp password is set but username is empty")
	}
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
	}
	return &SMTPSender{cfg: cfg, from: from}, nil
}

// Send delivers m through the relay on a connection of its own, signed
// when cfg.DKIM is set. It returns an error wrapping ErrInvalidMessage for
// an invalid message (nothing is sent), ctx's error if ctx is done before
// or while sending, and otherwise the connection or SMTP error, described
// without the password. IsTemporary tells whether a retry may succeed.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("mail: checking message: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: sending via %s: %w", s.cfg, err)
	}
	raw, rcpt, err := render(s.from, s.cfg.DKIM, m, time.Now())
	if err != nil {
		return err
	}
	c, err := s.dial(ctx)
	if err != nil {
		return s.sendError(err)
	}
	_, err = c.deliver(ctx, s.from.Address, rcpt, raw)
	c.close()
	if err != nil {
		return s.sendError(err)
	}
	return nil
}

// tlsConfig returns the TLS settings for the relay.
func (s *SMTPSender) tlsConfig() *tls.Config {
	if s.cfg.TLSConfig == nil {
		return &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	c := s.cfg.TLSConfig.Clone()
	if c.ServerName == "" {
		c.ServerName = s.cfg.Host
	}
	return c
}

// dial opens a connection to the relay: TCP (TLS first in implicit mode),
// EHLO, STARTTLS when required, AUTH when configured. go-mail does the
// conversation; the dial function keeps hold of the TCP connection so that
// it can be closed when the conversation fails half-way (go-mail leaves it
// open) and its deadline moved for each message.
func (s *SMTPSender) dial(ctx context.Context) (*smtpConn, error) {
	var tcp net.Conn
	tlsConfig := s.tlsConfig()
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tcp = c
		if s.cfg.TLS != TLSImplicit {
			return c, nil
		}
		tc := tls.Client(c, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return tc, nil
	}
	client, err := s.client(ctx, tlsConfig, dialer)
	if err != nil {
		return nil, err
	}
	c, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if tcp != nil {
			tcp.Close()
		}
		return nil, fmt.Errorf("dial failed: %w", err)
	}
	now := time.Now()
	return &smtpConn{c: c, tcp: tcp, timeout: s.cfg.Timeout, opened: now, used: now}, nil
}

// client returns a go-mail client for one connection. A go-mail Client
// keeps per-connection state (the chosen AUTH mechanism among it), so each
// connection gets its own rather than sharing one across goroutines.
func (s *SMTPSender) client(ctx context.Context, tlsConfig *tls.Config, dial gomail.DialContextFunc) (*gomail.Client, error) {
	timeout := s.cfg.Timeout
	if deadline, ok := ctx.Deadline(); ok {
		// go-mail applies ctx only to the dial; the timeout bounds the rest.
		timeout = min(timeout, max(time.Until(deadline), time.Millisecond))
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithDialContextFunc(dial),
		// Without this go-mail sends EHLO with the container's host name.
		gomail.WithHELO(domainOf(s.from.Address)),
	}
	switch s.cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		// The dial function speaks TLS; this keeps go-mail from trying
		// STARTTLS inside it.
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password),
			// PLAIN and LOGIN are what relays offer; go-mail falls back to
			// discovering the strongest mechanism when neither is there.
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

func (s *SMTPSender) sendError(err error) error {
	err = fmt.Errorf("mail: sending via %s: %w", s.cfg, err)
	if s.cfg.Password != "" && strings.Contains(err.Error(), s.cfg.Password) {
		// A misbehaving relay could echo credentials in its reply.
		return redactedError{err: err, secret: s.cfg.Password}
	}
	return err
}

// redactedError hides a secret in an error's text while keeping the chain
// for errors.Is/As (and so IsTemporary).
type redactedError struct {
	err    error
	secret string
}

func (e redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.secret, "[redacted]")
}

func (e redactedError) Unwrap() error { return e.err }

// IsTemporary reports whether sending again later may succeed after err,
// which came from a Sender: true for an SMTP 4xx reply (greylisting, a full
// mailbox, a relay under load), a network failure (connection refused,
// reset or dropped by the server, timeout), or ctx ending or the sender
// being closed (a deadline, or shutdown: the message was not sent and
// still should be); false for nil, an SMTP 5xx reply (unknown
// recipient, rejected message, failed authentication), an invalid message,
// and configuration faults such as a certificate that does not verify or a
// server that does not offer STARTTLS. Callers retry temporary failures
// with backoff and give up on the rest.
func IsTemporary(err error) bool {
	if err == nil || errors.Is(err, ErrInvalidMessage) {
		return false
	}
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) {
		return sendErr.IsTemp()
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code >= 400 && reply.Code < 500
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, ErrClosed) || errors.As(err, new(connLostError)) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
