package mail_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
	"rose-ash.com/platform/shared/models"
)

const from = "Rose Ash <noreply@rose-ash.test>"

// A magic link longer than a quoted-printable line, with '=' in it, so the
// tests notice if soft line breaks or "=3D" survive decoding.
const link = "https://federation.rose-ash.test/auth/magic?token=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8&next=%2Faccount%2Forders%3Fpage%3D2"

func signInMessage(to string) mail.Message {
	return mail.Message{
		To:      to,
		Subject: "Sign in to Rose Ash",
		Text:    "Hello,\n\nFollow this link to sign in:\n" + link + "\n\nIt works once, for 15 minutes.\n",
	}
}

func mustDirSink(t *testing.T) *mail.DirSink {
	t.Helper()
	sink, err := mail.NewDirSink(filepath.Join(t.TempDir(), "mail"), from)
	if err != nil {
		t.Fatalf("NewDirSink: %v", err)
	}
	return sink
}

func TestDirSinkListsMessagesNewestFirst(t *testing.T) {
	sink := mustDirSink(t)
	ctx := context.Background()
	first := signInMessage("ada@example.com")
	second := mail.Message{
		To:      "Grace Hopper <grace@example.com>",
		Subject: "Your order #1042 — confirmed, café",
		Text:    "Thank you for your order.\n",
		HTML:    "<p>Thank you for your <b>order</b>.</p>",
	}
	before := time.Now().Add(-time.Second)
	if err := sink.Send(ctx, first); err != nil {
		t.Fatalf("Send first: %v", err)
	}
	if err := sink.Send(ctx, second); err != nil {
		t.Fatalf("Send second: %v", err)
	}

	got, err := sink.List(0)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("List returned %d messages, want 2", len(got))
	}
	newest, oldest := got[0], got[1]
	if newest.To != "Grace Hopper <grace@example.com>" || oldest.To != "ada@example.com" {
		t.Fatalf("List order/To = %q, %q; want the grace message first", newest.To, oldest.To)
	}
	if newest.Subject != second.Subject || oldest.Subject != first.Subject {
		t.Errorf("subjects = %q, %q", newest.Subject, oldest.Subject)
	}
	if newest.From != from {
		t.Errorf("From = %q, want %q", newest.From, from)
	}
	if oldest.Text != first.Text {
		t.Errorf("text body = %q, want %q", oldest.Text, first.Text)
	}
	if !strings.Contains(oldest.Text, link) {
		t.Errorf("the sign-in link did not survive: %q", oldest.Text)
	}
	if newest.HTML != second.HTML || oldest.HTML != "" {
		t.Errorf("HTML = %q, %q", newest.HTML, oldest.HTML)
	}
	for _, m := range got {
		if m.Date.Before(before) || m.Date.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: Date %v is not about now", m.Name, m.Date)
		}
		if !strings.HasSuffix(m.Name, ".eml") || strings.ContainsAny(m.Name, `/\`) {
			t.Errorf("name %q is not a plain .eml file name", m.Name)
		}
	}
	if newest.Name <= oldest.Name {
		t.Errorf("names %q, %q do not sort by time", newest.Name, oldest.Name)
	}

	if limited, err := sink.List(1); err != nil || len(limited) != 1 || limited[0].Name != newest.Name {
		t.Errorf("List(1) = %v, %v; want just the newest", limited, err)
	}
	read, err := sink.Read(oldest.Name)
	if err != nil || read.Text != first.Text || read.Subject != first.Subject {
		t.Errorf("Read(%q) = %+v, %v", oldest.Name, read, err)
	}

	// The files are ordinary RFC 5322 messages: net/mail reads them, and the
	// one with HTML is multipart/alternative with both parts.
	f, err := os.Open(filepath.Join(sink.Dir(), newest.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(f)
	if err != nil {
		t.Fatalf("net/mail cannot read the .eml: %v", err)
	}
	if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "grace@example.com" {
		t.Errorf("To header = %v, %v", to, err)
	}
	if msg.Header.Get("Message-Id") == "" || !strings.HasSuffix(msg.Header.Get("Message-Id"), "@rose-ash.test>") {
		t.Errorf("Message-ID = %q, want one in the sender's domain", msg.Header.Get("Message-Id"))
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	var types []string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		types = append(types, ct)
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("alternative parts = %v, want text/plain then text/html", types)
	}
}

func TestDirSinkKeepsMessagesPrivate(t *testing.T) {
	sink := mustDirSink(t)
	if err := sink.Send(context.Background(), signInMessage("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(sink.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode = %o, want 700 (messages hold sign-in links)", perm)
	}
	list, err := sink.List(0)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	info, err = os.Stat(filepath.Join(sink.Dir(), list[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("message file mode = %o, want no access for others", perm)
	}
}

func TestDirSinkReadRefusesNamesOutsideIt(t *testing.T) {
	sink := mustDirSink(t)
	// A real .eml beside the sink's directory, which "../x.eml" would reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(sink.Dir()), "x.eml"),
		[]byte("To: a@b.c\r\nSubject: secret\r\n\r\nsecret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(sink.Dir(), "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sink.Dir(), "a", "b.eml"),
		[]byte("To: a@b.c\r\nSubject: nested\r\n\r\nnested\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x.eml", "a/b.eml", `a\b.eml`, "x.txt", "", ".eml", "..", "/etc/passwd.eml", "x.eml\x00"} {
		st, err := sink.Read(name)
		if err == nil {
			t.Errorf("Read(%q) = %+v, want an error", name, st)
			continue
		}
		if models.Code(err) != models.EInvalid || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Read(%q) error = %v (code %s), want an invalid-name error", name, err, models.Code(err))
		}
	}

	_, err := sink.Read("20991231T235959.000000000Z-0123456789abcdef.eml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(unknown) error = %v, want fs.ErrNotExist", err)
	}
	if models.Code(err) != models.ENotFound {
		t.Errorf("Read(unknown) code = %s, want %s", models.Code(err), models.ENotFound)
	}
}

func TestDirSinkConcurrentSendsNeverCollide(t *testing.T) {
	sink := mustDirSink(t)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			errs <- sink.Send(context.Background(), signInMessage("user"+strconv.Itoa(i)+"@example.com"))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	list, err := sink.List(0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	recipients := map[string]bool{}
	for _, m := range list {
		names[m.Name] = true
		recipients[m.To] = true
	}
	if len(list) != 10 || len(names) != 10 || len(recipients) != 10 {
		t.Errorf("got %d messages, %d names, %d recipients; want 10 of each", len(list), len(names), len(recipients))
	}
	entries, err := os.ReadDir(sink.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 10 {
		t.Errorf("directory holds %d entries, want the 10 messages and no temporary files", len(entries))
	}
}

func TestConstructorsRefuseMalformedFrom(t *testing.T) {
	for _, bad := range []string{"", "noreply", "Rose Ash", "noreply@rose-ash.test\r\nBcc: x@evil.test", "<@>"} {
		if _, err := mail.NewDirSink(t.TempDir(), bad); err == nil {
			t.Errorf("NewDirSink(from %q) succeeded", bad)
		}
		if _, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", From: bad}); err == nil {
			t.Errorf("NewSMTP(from %q) succeeded", bad)
		}
	}
}

func TestNewSMTPRefusesBadConfig(t *testing.T) {
	good := mail.SMTPConfig{Host: "mail.example.com", From: from}
	if _, err := mail.NewSMTP(good); err != nil {
		t.Fatalf("NewSMTP(%v) = %v", good, err)
	}
	for name, change := range map[string]func(*mail.SMTPConfig){
		"no host":              func(c *mail.SMTPConfig) { c.Host = "" },
		"unknown tls mode":     func(c *mail.SMTPConfig) { c.TLS = "ssl" },
		"port out of range":    func(c *mail.SMTPConfig) { c.Port = 70000 },
		"negative timeout":     func(c *mail.SMTPConfig) { c.Timeout = -time.Second },
		"password but no user": func(c *mail.SMTPConfig) { c.Password = "hunter2" },
	} {
		cfg := good
		change(&cfg)
		if _, err := mail.NewSMTP(cfg); err == nil {
			t.Errorf("%s: NewSMTP(%v) succeeded", name, cfg)
		}
	}
}

func TestSMTPConfigNeverPrintsPassword(t *testing.T) {
	cfg := mail.SMTPConfig{Host: "mail.example.com", Port: 587, Username: "mailer", Password: "correct-horse-battery", TLS: "starttls"}
	asJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), string(asJSON)} {
		if strings.Contains(s, cfg.Password) {
			t.Errorf("config prints its password: %s", s)
		}
	}
	if got := cfg.String(); got != "smtp://mailer@mail.example.com:587 (starttls)" {
		t.Errorf("String() = %q", got)
	}
}

func TestSendRefusesInvalidMessages(t *testing.T) {
	srv := mailtest.Start(t)
	smtpSender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	sink := mustDirSink(t)
	ok := signInMessage("ada@example.com")
	cases := map[string]func(*mail.Message){
		"malformed to":         func(m *mail.Message) { m.To = "not an address" },
		"empty to":             func(m *mail.Message) { m.To = "" },
		"two recipients":       func(m *mail.Message) { m.To = "a@example.com, b@example.com" },
		"header in to":         func(m *mail.Message) { m.To = "ada@example.com\r\nBcc: all@example.com" },
		"empty subject":        func(m *mail.Message) { m.Subject = "" },
		"blank subject":        func(m *mail.Message) { m.Subject = "   " },
		"subject with LF":      func(m *mail.Message) { m.Subject = "Hi\nBcc: all@example.com" },
		"subject with CR":      func(m *mail.Message) { m.Subject = "Hi\rBcc: all@example.com" },
		"empty text":           func(m *mail.Message) { m.Text = "" },
		"whitespace-only text": func(m *mail.Message) { m.Text = " \n\t" },
	}
	for name, change := range cases {
		m := ok
		change(&m)
		for senderName, sender := range map[string]mail.Sender{"dir": sink, "smtp": smtpSender} {
			err := sender.Send(context.Background(), m)
			if !errors.Is(err, mail.ErrInvalidMessage) {
				t.Errorf("%s via %s: Send error = %v, want ErrInvalidMessage", name, senderName, err)
			}
			if models.Code(err) != models.EInvalid || mail.IsTemporary(err) {
				t.Errorf("%s via %s: code %s, temporary %v; want invalid, permanent", name, senderName, models.Code(err), mail.IsTemporary(err))
			}
		}
	}
	if list, _ := sink.List(0); len(list) != 0 {
		t.Errorf("the sink wrote %d invalid messages", len(list))
	}
	if got := srv.Messages(); len(got) != 0 {
		t.Errorf("the relay received %d invalid messages", len(got))
	}
}

func TestSMTPDeliversWithCredentials(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("mailer", "s3cret-relay-pass"))
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	m := signInMessage("Ada@Example.com")
	m.HTML = `<p><a href="` + link + `">Sign in</a></p>`
	if err := sender.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(t, "ada@example.com", 5*time.Second)
	if got.From != "noreply@rose-ash.test" {
		t.Errorf("MAIL FROM = %q, want noreply@rose-ash.test", got.From)
	}
	if got.To != "Ada@Example.com" {
		t.Errorf("RCPT TO = %q", got.To)
	}
	if got.Message.From != from || got.Message.To != "Ada@Example.com" {
		t.Errorf("headers From %q To %q", got.Message.From, got.Message.To)
	}
	if got.Subject != m.Subject || got.Text != m.Text || got.HTML != m.HTML {
		t.Errorf("received subject %q text %q html %q; want what was sent", got.Subject, got.Text, got.HTML)
	}
	if got.Username != "mailer" {
		t.Errorf("authenticated as %q, want mailer", got.Username)
	}
	if strings.Contains(string(got.Raw), "go-mail") {
		t.Errorf("the message advertises the mail library:\n%s", got.Raw)
	}
}

func TestSMTPWrongPasswordIsPermanentAndHidden(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("mailer", "right-password"))
	cfg := srv.Config(from)
	cfg.Password = "wrong-password-123"
	sender, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(context.Background(), signInMessage("ada@example.com"))
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	if mail.IsTemporary(err) {
		t.Errorf("IsTemporary(%v) = true, want false: a wrong password does not fix itself", err)
	}
	if strings.Contains(err.Error(), cfg.Password) {
		t.Errorf("error shows the password: %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("a message was delivered without authentication")
	}
}

func TestSMTPRecipientRejections(t *testing.T) {
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	srv.Reject("gone@example.com", 550)
	srv.Reject("greylisted@example.com", 451)
	ctx := context.Background()

	err = sender.Send(ctx, signInMessage("gone@example.com"))
	if err == nil || mail.IsTemporary(err) {
		t.Errorf("550: Send error = %v, temporary %v; want a permanent error", err, mail.IsTemporary(err))
	}
	err = sender.Send(ctx, signInMessage("greylisted@example.com"))
	if err == nil || !mail.IsTemporary(err) {
		t.Errorf("451: Send error = %v, temporary %v; want a temporary error", err, mail.IsTemporary(err))
	}
	if got := srv.Messages(); len(got) != 0 {
		t.Fatalf("rejected recipients received %d messages", len(got))
	}

	// The relay accepts the greylisted address later, and others meanwhile.
	srv.Reject("greylisted@example.com", 0)
	if err := sender.Send(ctx, signInMessage("greylisted@example.com")); err != nil {
		t.Errorf("Send after the 451 was lifted: %v", err)
	}
	if err := sender.Send(ctx, signInMessage("ada@example.com")); err != nil {
		t.Errorf("Send to an accepted address: %v", err)
	}
	if got := srv.Messages(); len(got) != 2 {
		t.Errorf("received %d messages, want 2", len(got))
	}
}

func TestSMTPClosedPortFailsWithoutPassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const password = "do-not-leak-this-9f3a"
	sender, err := mail.NewSMTP(mail.SMTPConfig{
		Host: "127.0.0.1", Port: port, Username: "mailer", Password: password,
		From: from, TLS: "none", Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(context.Background(), signInMessage("ada@example.com"))
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("error %q does not say which relay failed", err)
	}
	if !mail.IsTemporary(err) {
		t.Errorf("IsTemporary(%v) = false; an unreachable relay is worth retrying", err)
	}
}

func TestSMTPStartTLSEncryptsBeforeAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("mailer", "pw-over-tls"))
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(context.Background(), signInMessage("ada@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(t, "ada@example.com", 5*time.Second)
	if !got.TLS || got.Username != "mailer" {
		t.Errorf("TLS %v, user %q; want an encrypted, authenticated delivery", got.TLS, got.Username)
	}
}

func TestSMTPStartTLSIsRequired(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("mailer", "never-in-clear")) // offers no STARTTLS
	cfg := srv.Config(from)
	cfg.TLS = "starttls"
	sender, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(context.Background(), signInMessage("ada@example.com"))
	if err == nil {
		t.Fatal("Send over a relay without STARTTLS succeeded")
	}
	if mail.IsTemporary(err) {
		t.Errorf("IsTemporary(%v) = true; a relay without TLS is a configuration fault", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("a message was delivered in clear text")
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithImplicitTLS())
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(context.Background(), signInMessage("ada@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.WaitFor(t, "ada@example.com", 5*time.Second); !got.TLS {
		t.Error("delivery was not encrypted")
	}
}

func TestSMTPRefusesUntrustedCertificate(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS())
	cfg := srv.Config(from)
	cfg.TLSConfig = nil // system roots, which do not include the test certificate
	sender, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(context.Background(), signInMessage("ada@example.com"))
	if err == nil {
		t.Fatal("Send trusted a self-signed certificate")
	}
	if mail.IsTemporary(err) {
		t.Errorf("IsTemporary(%v) = true; an untrusted certificate is a configuration fault", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("a message was delivered over an unverified connection")
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("mailer", "pw"))
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if err := sender.Send(context.Background(), signInMessage("user"+strconv.Itoa(i)+"@example.com")); err != nil {
				t.Errorf("Send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i := range 10 {
		srv.WaitFor(t, "user"+strconv.Itoa(i)+"@example.com", 5*time.Second)
	}
}

func TestSMTPSendHonoursDoneContext(t *testing.T) {
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = sender.Send(ctx, signInMessage("ada@example.com"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled", err)
	}
	if !mail.IsTemporary(err) {
		t.Errorf("IsTemporary(%v) = false; a send cut short by shutdown should be retried", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("a message was sent after its context was cancelled")
	}
}

func TestWaitForReturnsEachMessageOnceInOrder(t *testing.T) {
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, subject := range []string{"First link", "Second link"} {
		m := signInMessage("ada@example.com")
		m.Subject = subject
		if err := sender.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.WaitFor(t, "ADA@example.com", 5*time.Second); got.Subject != "First link" {
		t.Errorf("first WaitFor = %q", got.Subject)
	}
	if got := srv.WaitFor(t, "ada@example.com", 5*time.Second); got.Subject != "Second link" {
		t.Errorf("second WaitFor = %q", got.Subject)
	}
	// A message that arrives while WaitFor is waiting is returned too.
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = sender.Send(ctx, signInMessage("late@example.com"))
	}()
	if got := srv.WaitFor(t, "late@example.com", 5*time.Second); got.To != "late@example.com" {
		t.Errorf("late WaitFor = %+v", got)
	}
}

func TestIsTemporaryOfNil(t *testing.T) {
	if mail.IsTemporary(nil) {
		t.Error("IsTemporary(nil) = true")
	}
}

func TestListHeadersOfferOneClickUnsubscribe(t *testing.T) {
	dir := t.TempDir()
	sink, err := mail.NewDirSink(dir, "Rose Ash <noreply@rose-ash.localhost>")
	if err != nil {
		t.Fatal(err)
	}
	m := mail.Message{To: "reader@example.org", Subject: "News", Text: "Hello",
		List: &mail.ListHeaders{ID: "Rose Ash news <news.account.rose-ash.localhost>",
			UnsubscribeURL:    "https://account.rose-ash.localhost/newsletters/unsubscribe?t=abc",
			UnsubscribeMailto: "mailto:unsubscribe@rose-ash.localhost?subject=unsubscribe%20abc"}}
	if err := sink.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	var raw []byte
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".eml") {
			raw, _ = os.ReadFile(filepath.Join(dir, f.Name()))
		}
	}
	got, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("reading %s: %v", raw, err)
	}
	if v := got.Header.Get("List-Unsubscribe-Post"); v != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", v)
	}
	if v := got.Header.Get("List-Unsubscribe"); v != "<https://account.rose-ash.localhost/newsletters/unsubscribe?t=abc>, <mailto:unsubscribe@rose-ash.localhost?subject=unsubscribe%20abc>" {
		t.Errorf("List-Unsubscribe = %q", v)
	}
	if v := got.Header.Get("List-Id"); v != "Rose Ash news <news.account.rose-ash.localhost>" {
		t.Errorf("List-Id = %q", v)
	}
	for _, bad := range []mail.ListHeaders{{UnsubscribeURL: "javascript:alert(1)"}, {UnsubscribeURL: "https://x/\r\nBcc: a@b"}, {UnsubscribeMailto: "https://x"}, {UnsubscribeURL: "https://x/>, <https://evil"}} {
		m.List = &bad
		if err := sink.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("list headers %+v: %v, want invalid", bad, err)
		}
	}
}
