// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback for tests: it accepts what the platform sends, keeps every
// message in memory, and can refuse chosen recipients with a given reply
// code, the way a relay does. Tests of features that send mail (sign-in
// links, order confirmations) point a mail.SMTPSender at it and read the
// message back with WaitFor.
//
// For bulk sending (newsletters) it counts messages per recipient (CountTo,
// Recipients, WaitTotal), can keep only those counts (WithCountOnly) so
// that tens of thousands of messages take no memory, counts connections,
// and can go away and come back on the same port (DropConnections, Stop,
// Restart) the way a relay that restarts does.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"rose-ash.com/platform/shared/mail"
)

// Received is one message as delivered to one recipient: a message sent to
// two recipients is two Received values, as in two mailboxes.
type Received struct {
	From string // the envelope sender (MAIL FROM)
	To   string // the envelope recipient (RCPT TO)

	// Subject, Text and HTML are copied from Message for convenience.
	Subject string
	Text    string // plain-text body, decoded, line ends as "\n"
	HTML    string

	// Message is the whole parsed message, with its From and To headers.
	Message mail.Parsed
	// Raw is the message exactly as received in DATA.
	Raw []byte
	// Username is who authenticated (AUTH PLAIN), "" if nobody did.
	Username string
	// TLS tells whether the connection was encrypted when DATA was sent.
	TLS bool
}

// Option changes how Start runs the server.
type Option func(*Server)

// WithAuth makes the server offer AUTH PLAIN, accept only this username
// and password, and refuse MAIL FROM (530) until a client has
// authenticated.
func WithAuth(username, password string) Option {
	return func(s *Server) { s.username, s.password = username, password }
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed
// certificate for 127.0.0.1 and localhost; ClientTLSConfig trusts it.
func WithSTARTTLS() Option { return func(s *Server) { s.tlsMode = mail.TLSStartTLS } }

// WithImplicitTLS makes the server speak TLS from the first byte (SMTPS)
// with a self-signed certificate; ClientTLSConfig trusts it.
func WithImplicitTLS() Option { return func(s *Server) { s.tlsMode = mail.TLSImplicit } }

// WithCountOnly makes the server keep only how many messages each
// recipient got (CountTo, Recipients, Total), not the messages: for tests
// that send thousands. Messages then returns nothing and WaitFor never
// finds a message; messages are not parsed either.
func WithCountOnly() Option { return func(s *Server) { s.countOnly = true } }

// Server is a running test SMTP server. Its methods are safe for concurrent
// use.
type Server struct {
	tb        testing.TB
	addr      *net.TCPAddr
	username  string
	password  string
	tlsMode   string // mail.TLSNone, TLSStartTLS or TLSImplicit
	serverTLS *tls.Config
	clientTLS *tls.Config
	countOnly bool

	runMu sync.Mutex // serialises Stop, Restart and the test's cleanup
	run   *run       // nil while stopped

	mu       sync.Mutex
	received []Received
	taken    []bool                     // taken[i]: WaitFor already returned received[i]
	counts   map[string]int             // deliveries by lower-case recipient
	total    int                        // deliveries to anyone
	arrived  chan struct{}              // closed and replaced when a message arrives
	rejects  map[string]*smtp.SMTPError // by lower-case address
	lose     map[string]bool            // by lower-case address: LoseReply
	conns    map[*trackedConn]struct{}  // open connections
	accepted int                        // connections accepted so far
	logOff   bool                       // the test has ended: stop logging through tb
}

// run is one listening period of the server, from Start or Restart to
// Stop or the end of the test.
type run struct {
	srv  *smtp.Server
	l    net.Listener
	done chan struct{} // closed when Serve has returned
}

// Start runs a server on 127.0.0.1 on a free port until the test ends. By
// default it speaks plain SMTP without authentication (use mail TLS mode
// "none"); options add AUTH and TLS. It fails the test if it cannot listen.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{
		tb:      tb,
		tlsMode: mail.TLSNone,
		arrived: make(chan struct{}),
		rejects: map[string]*smtp.SMTPError{},
		lose:    map[string]bool{},
		counts:  map[string]int{},
		conns:   map[*trackedConn]struct{}{},
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.tlsMode != mail.TLSNone {
		serverTLS, clientTLS, err := selfSigned()
		if err != nil {
			tb.Fatalf("mailtest: making a certificate: %v", err)
		}
		s.serverTLS, s.clientTLS = serverTLS, clientTLS
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: listening: %v", err)
	}
	s.addr = l.Addr().(*net.TCPAddr)
	s.serve(l)
	tb.Cleanup(func() {
		s.mu.Lock()
		s.logOff = true
		s.mu.Unlock()
		s.Stop()
	})
	return s
}

// serve starts a run on l.
func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mailtest.localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ErrorLog = tbLogger{tb: s.tb, s: s}
	// Only the plain-text test server needs this; with TLS, AUTH is
	// offered after the handshake as a real relay does.
	srv.AllowInsecureAuth = s.tlsMode == mail.TLSNone

	l = &trackingListener{Listener: l, s: s}
	switch s.tlsMode {
	case mail.TLSImplicit:
		l = tls.NewListener(l, s.serverTLS)
	case mail.TLSStartTLS:
		srv.TLSConfig = s.serverTLS
	}
	r := &run{srv: srv, l: l, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			tbLogger{tb: s.tb, s: s}.Printf("mailtest: serving: %v", err)
		}
	}()
	s.runMu.Lock()
	s.run = r
	s.runMu.Unlock()
}

// Stop makes the server go away, as a relay that crashes or restarts: it
// closes every open connection (a client in the middle of a message sees
// it cut) and stops listening, so new connections are refused until
// Restart. It returns once the server has stopped. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	r := s.run
	if r == nil {
		return
	}
	s.run = nil
	r.srv.Close()
	// Close only closes listeners Serve has registered; if Serve has not
	// got that far, closing l ourselves is what ends it.
	r.l.Close()
	<-r.done
	// Connections accepted but not yet handed to go-smtp's bookkeeping.
	s.DropConnections()
}

// Restart listens again on the same port after Stop, with the same
// options, recipients refused and messages kept. It returns an error if
// the port cannot be bound again (another process took it meanwhile).
// Restarting a running server does nothing.
func (s *Server) Restart() error {
	s.runMu.Lock()
	running := s.run != nil
	s.runMu.Unlock()
	if running {
		return nil
	}
	l, err := net.Listen("tcp", s.addr.String())
	if err != nil {
		return fmt.Errorf("mailtest: listening again on %s: %w", s.addr, err)
	}
	s.serve(l)
	return nil
}

// DropConnections closes every open connection at once, as a relay does
// with idle or misbehaving clients, but keeps listening: a client that
// connects again is served. A message whose DATA was under way is lost.
func (s *Server) DropConnections() {
	s.mu.Lock()
	open := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// Connections returns how many connections the server has accepted since
// Start, across restarts.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// OpenConnections returns how many connections are open now.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr.String() }

// Host returns "127.0.0.1".
func (s *Server) Host() string { return s.addr.IP.String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// ClientTLSConfig returns a TLS config that trusts the server's self-signed
// certificate (a fresh copy each call), or nil when the server has no TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Config returns the mail.SMTPConfig that reaches this server, sending as
// from: host, port, TLS mode (and the config to trust the certificate), and
// the credentials given to WithAuth.
func (s *Server) Config(from string) mail.SMTPConfig {
	return mail.SMTPConfig{
		Host:      s.Host(),
		Port:      s.Port(),
		Username:  s.username,
		Password:  s.password,
		From:      from,
		TLS:       s.tlsMode,
		Timeout:   10 * time.Second,
		TLSConfig: s.ClientTLSConfig(),
	}
}

// Messages returns every message delivered so far, in arrival order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.received))
	copy(out, s.received)
	return out
}

// WaitFor returns the oldest message to address to (compared without
// regard to case) that WaitFor has not returned before, waiting up to
// timeout for one to arrive. So a test that signs in twice gets the first
// link, then the second. It fails the test (tb.Fatalf) on timeout, so call
// it from the test's goroutine.
func (s *Server) WaitFor(tb testing.TB, to string, timeout time.Duration) Received {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for i, r := range s.received {
			if !s.taken[i] && strings.EqualFold(r.To, to) {
				s.taken[i] = true
				s.mu.Unlock()
				return r
			}
		}
		arrived := s.arrived
		s.mu.Unlock()

		select {
		case <-arrived:
		case <-deadline.C:
			tb.Fatalf("mailtest: no message to %s arrived within %s (%d messages to others)",
				to, timeout, len(s.Messages()))
			return Received{}
		}
	}
}

// Reject makes the server refuse RCPT TO for addr (compared without regard
// to case) with the SMTP reply code, 400-599: 4xx is a temporary failure,
// 5xx a permanent one. Code 0 accepts addr again. It panics on any other
// code.
func (s *Server) Reject(addr string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(addr)
	switch {
	case code == 0:
		delete(s.rejects, key)
	case code >= 400 && code <= 599:
		s.rejects[key] = &smtp.SMTPError{
			Code:         code,
			EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
			Message:      fmt.Sprintf("Recipient %s refused by mailtest", addr),
		}
	default:
		panic(fmt.Sprintf("mailtest: Reject: code %d is not an SMTP failure code (400-599)", code))
	}
}

// CountTo returns how many messages addr (compared without regard to
// case) has received so far, in either mode.
func (s *Server) CountTo(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[strings.ToLower(addr)]
}

// Recipients returns how many messages each recipient has received so far,
// keyed by lower-case address (a fresh map each call).
func (s *Server) Recipients() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Total returns how many messages have been delivered so far, counting a
// message to two recipients twice.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// WaitTotal waits up to timeout until Total is at least n and returns it.
// It fails the test (tb.Fatalf) on timeout, so call it from the test's
// goroutine.
func (s *Server) WaitTotal(tb testing.TB, n int, timeout time.Duration) int {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		total, arrived := s.total, s.arrived
		s.mu.Unlock()
		if total >= n {
			return total
		}
		select {
		case <-arrived:
		case <-deadline.C:
			tb.Fatalf("mailtest: %d messages arrived within %s, want %d", s.Total(), timeout, n)
			return 0
		}
	}
}

// LoseReply makes the server, for a message to addr (compared without
// regard to case), take the whole message, keep it as delivered, and then
// close the connection instead of replying: a relay that crashes just
// after accepting. The sender cannot know whether the message went
// (mail.PossiblyDelivered), so a campaign must not count it as sent nor
// as certainly unsent. on false undoes it.
func (s *Server) LoseReply(addr string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.lose[strings.ToLower(addr)] = true
	} else {
		delete(s.lose, strings.ToLower(addr))
	}
}

// losesReply tells whether a message to any of to gets no reply.
func (s *Server) losesReply(to []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, addr := range to {
		if s.lose[strings.ToLower(addr)] {
			return true
		}
	}
	return false
}

func (s *Server) rejection(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.rejects[strings.ToLower(addr)]; ok {
		return e
	}
	return nil
}

// deliver records a message to each of to, kept as rs unless the server
// only counts.
func (s *Server) deliver(to []string, rs []Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, addr := range to {
		s.counts[strings.ToLower(addr)]++
	}
	s.total += len(to)
	if !s.countOnly {
		s.received = append(s.received, rs...)
		s.taken = append(s.taken, make([]bool, len(rs))...)
	}
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// trackingListener counts and tracks the connections it accepts, so that
// DropConnections can close them.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.conns[tc] = struct{}{}
	l.s.accepted++
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

// session is one SMTP connection. go-smtp calls its methods from the
// connection's goroutine only.
type session struct {
	s        *Server
	conn     *smtp.Conn
	username string
	from     string
	to       []string
}

// errAuthRequired is RFC 4954's reply to MAIL before AUTH (go-smtp's own
// ErrAuthRequired uses 502).
var errAuthRequired = &smtp.SMTPError{
	Code:         530,
	EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message:      "Authentication required",
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) ||
			username != ss.s.username || password != ss.s.password {
			return smtp.ErrAuthFailed
		}
		ss.username = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.username != "" && ss.username == "" {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.rejection(to); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if ss.s.losesReply(ss.to) {
		defer ss.conn.Conn().Close() // before go-smtp can write the reply
	}
	if ss.s.countOnly {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		ss.s.deliver(ss.to, nil)
		return nil
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	parsed, err := mail.ParseMessage(bytes.NewReader(raw))
	if err != nil {
		// A relay would pass a malformed message on; refusing it here
		// makes the sending test fail where the fault is.
		return &smtp.SMTPError{
			Code:         554,
			EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message:      "mailtest: message does not parse: " + err.Error(),
		}
	}
	_, isTLS := ss.conn.TLSConnectionState()
	rs := make([]Received, len(ss.to))
	for i, to := range ss.to {
		rs[i] = Received{
			From:     ss.from,
			To:       to,
			Subject:  parsed.Subject,
			Text:     parsed.Text,
			HTML:     parsed.HTML,
			Message:  parsed,
			Raw:      raw,
			Username: ss.username,
			TLS:      isTLS,
		}
	}
	ss.s.deliver(ss.to, rs)
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// tbLogger sends go-smtp's internal errors to the test log, and drops them
// once the test has ended (logging through tb then panics).
type tbLogger struct {
	tb testing.TB
	s  *Server
}

func (l tbLogger) Printf(format string, v ...any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.logOff {
		l.tb.Logf(format, v...)
	}
}

func (l tbLogger) Println(v ...any) {
	l.Printf("%s", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// selfSigned makes a short-lived certificate for 127.0.0.1 and localhost,
// and client and server TLS configs around it.
func selfSigned() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "mailtest"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client, nil
}
